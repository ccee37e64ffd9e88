"""``check --scheduler``: the per-file check on a real Dask ``LocalCluster`` (processes, loopback, 2 workers).

The cluster's report must be the local run's (findings, errors, order, exit
status); a worker killed mid-run must still give a complete report.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from freecad_spatial.spatial_tools.check.batch import CheckOptions, run_batch  # noqa: E402
from freecad_spatial.spatial_tools.check.dask_runner import ClusterError, connect, run_on_cluster  # noqa: E402

EXE = Path(sys.executable).with_name("freecad-spatial")
MFCAD = Path(__file__).parent / "data" / "corpora" / "mfcad" / "step"
PARTS = sorted(MFCAD.glob("*.step"))


def check(*args):
    proc = subprocess.run([str(EXE), "check", *map(str, args)], capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def files_of(report_text):
    return [{k: v for k, v in f.items() if k != "seconds"} for f in json.loads(report_text)["files"]]


def local_cluster():
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="1.5GiB",
        worker_class="distributed.Nanny",
    )


@pytest.fixture(scope="module")
def cluster():
    with local_cluster() as cluster:
        yield cluster


@pytest.fixture
def own_cluster():
    """A cluster for one test whose workers are ended on purpose (a nanny may even close after the last death
    under load, seen once on FreeCAD 1.1): what it does to its workers reaches no other test."""
    with local_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """8 MFCAD parts, a truncated STEP and a missing file: findings and errors both have to agree."""
    root = tmp_path_factory.mktemp("corpus")
    paths = [str(p) for p in PARTS[:8]]
    broken = root / "truncated.step"
    broken.write_bytes(PARTS[0].read_bytes()[:2000])
    return paths + [str(broken), str(root / "missing.step")]


def test_cluster_report_equals_the_local_report(cluster, corpus):
    local = check(*corpus, "--process", "cnc-3axis")
    remote = check(*corpus, "--process", "cnc-3axis", "--scheduler", cluster.scheduler_address)
    assert remote.returncode == local.returncode == 2  # the broken files make both exit 2
    assert files_of(remote.stdout) == files_of(local.stdout)
    assert sum(len(f["findings"]) for f in files_of(remote.stdout)) > 0
    assert remote.stderr == local.stderr  # the same one-line reasons


def test_a_worker_killed_mid_run_still_gives_a_complete_report(cluster):
    """The first result kills the other worker (SIGKILL) while it checks: Dask runs its task again elsewhere."""
    paths = [str(p) for p in PARTS[8:20]]
    options = CheckOptions(process="cnc-3axis")
    local = run_batch(paths, options, jobs=1, progress=False)
    client = connect(cluster.scheduler_address)
    try:
        pids = client.run(os.getpid)
        killed = []

        def kill_one(index, result):
            if not killed:
                busy = [w for w, keys in client.processing().items() if keys]
                victim = busy[-1] if busy else next(iter(pids))
                os.kill(pids[victim], signal.SIGKILL)
                killed.append(pids[victim])

        remote = run_on_cluster(paths, options, client, on_result=kill_one)
        client.wait_for_workers(2, timeout=120)  # the nanny restarted it
    finally:
        client.close()
    assert killed
    assert [r.status for r in remote] == [r.status for r in local] == ["ok"] * len(paths)
    assert [[f.to_dict() for f in r.findings] for r in remote] == [[f.to_dict() for f in r.findings] for r in local]
    assert [r.path for r in remote] == paths


def test_an_unreachable_scheduler_is_a_usage_error():
    with pytest.raises(ClusterError, match="cannot reach the scheduler"):
        connect("tcp://127.0.0.1:9", timeout=2)
    proc = check(PARTS[0], "--process", "cnc-3axis", "--scheduler", "tcp://127.0.0.1:9")
    assert proc.returncode == 2 and proc.stdout == "" and "cannot reach the scheduler" in proc.stderr


def test_annotate_cannot_go_to_a_cluster(tmp_path):
    proc = check(PARTS[0], "--process", "cnc-3axis", "--scheduler", "tcp://127.0.0.1:9", "--annotate", tmp_path / "a.FCStd")
    assert proc.returncode == 2 and "--annotate" in proc.stderr


def test_a_file_past_its_timeout_on_the_cluster_is_an_error_and_the_rest_is_checked(own_cluster):
    """A NIST model (seconds of work) under --timeout 4: its worker ends at the deadline each try, Dask gives up on
    the task (KilledWorker) and the report says why; the small parts are still checked as a local run checks them."""
    nist = Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "step" / "nist_ctc_02_asme1_ap242-e2.stp"
    paths = [str(PARTS[20]), str(nist), str(PARTS[21])]
    options = CheckOptions(process="cnc-3axis", timeout=4)
    local = run_batch([paths[0], paths[2]], options, jobs=1, progress=False)
    client = connect(own_cluster.scheduler_address)
    try:
        remote = run_on_cluster(paths, options, client)
    finally:
        client.close()
    assert [r.path for r in remote] == paths
    assert remote[1].status == "error" and remote[1].transient
    assert remote[1].error == "the checker process died or outlived --timeout 4 s on every try (KilledWorker)"
    assert [r.status for r in (remote[0], remote[2])] == [r.status for r in local] == ["ok", "ok"]
    assert [[f.to_dict() for f in r.findings] for r in (remote[0], remote[2])] == [[f.to_dict() for f in r.findings] for r in local]

