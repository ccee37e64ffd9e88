"""The code-cell worker's OS isolation, proven with escapes that skip the Python policy on purpose.

RestrictedPython is not a sandbox, so each OS layer of the worker (cell_worker.py)
must stop an escape on its own. The test hook (IsolationConfig.test_hook plus
FREECAD_SPATIAL_CELL_TEST_HOOK=1, both) runs plain Python in the worker and can
leave layers out, so each layer is shown stopping an escape while the others are
off: writing or reading host files, sockets to a loopback server started here,
processes, signals, the host's environment and descriptors, memory, CPU. Then:
the fallback when a mechanism is missing (simulated; cells refuse plainly or
degrade and say so), hostile frames from the worker (the host never raises),
numpy state not leaking between cells, and the addon importing without
Linux-only modules. Real processes, real sockets, real files throughout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from key_leak import TEST_API_KEY

from freecad_spatial.spatial_tools.agent.cell_kernel import (
    TEST_HOOK_ENV,
    CellKernel,
    IsolationConfig,
    _worker_env,
    cells_unavailable_reason,
    isolation_gaps,
    load_isolation,
    nesting_within,
)
from freecad_spatial.spatial_tools.agent.cell_worker import REQUIRED_LAYERS, WORKER_ENV_KEYS
from freecad_spatial.spatial_tools.agent.code_cell import load_config

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the isolation layers are Linux's")

SECRET = "isolation-secret-7c2e91"
ROOT = os.geteuid() == 0


def host(name: str, arguments: dict) -> dict:
    """The host side of tool calls (the tools themselves are tested elsewhere)."""
    return {"ok": True, "result": {"tool": name, "arguments": arguments}}


def config(**budget):
    return load_config().with_budget(**{"time_s": 10.0, "cpu_s": 10, **budget})


def hooked(skip=(), missing=(), require=(), **budget) -> CellKernel:
    """A kernel with the test hook (the harness's variable must be set too: see the ``hook`` fixture)."""
    isolation = IsolationConfig(require=frozenset(require), test_hook=True, test_skip=frozenset(skip),
                                test_missing=frozenset(missing), test_imports=("socket",))
    return CellKernel(host, config=config(**budget), tool_names=["mass_properties"], isolation=isolation)


@pytest.fixture
def hook(monkeypatch):
    monkeypatch.setenv(TEST_HOOK_ENV, "1")


def outcomes(result: dict) -> dict[str, str]:
    assert result["error"] is None, result
    return dict(line.split("=", 1) for line in result["stdout"].splitlines() if "=" in line)


# --- the host's files, servers and secrets that a cell must not reach -------------------------


@pytest.fixture
def world(tmp_path):
    """A root-only folder with a secret and a file to protect, and loopback TCP/UDP servers."""
    folder = tmp_path / "host"
    folder.mkdir(mode=0o700)
    secret = folder / "secret.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    victim = folder / "victim.txt"
    victim.write_text("keep me")
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    world = {"folder": folder, "secret": secret, "victim": victim, "outside": folder / "pwned",
             "tcp": tcp, "udp": udp}
    yield world
    tcp.close()
    udp.close()


def assert_unharmed(world: dict) -> None:
    """Nothing was written, the host file is whole, and neither server heard from the worker."""
    assert not world["outside"].exists()
    assert world["victim"].read_text() == "keep me"
    with pytest.raises(BlockingIOError):
        world["tcp"].accept()
    with pytest.raises(BlockingIOError):
        world["udp"].recv(16)


def escape_code(world: dict, names: list[str]) -> str:
    """Plain Python trying each named escape; prints name=ERRNO (or name=allowed)."""
    paths = {k: str(world[k]) for k in ("folder", "secret", "victim", "outside")}
    actions = {
        "write_outside": f"open({paths['outside']!r}, 'w').close()",
        "open_host_file_for_writing": f"os.close(os.open({paths['victim']!r}, os.O_WRONLY))",
        "truncate_host_file": f"os.truncate({paths['victim']!r}, 0)",
        "read_secret": f"print('read:' + open({paths['secret']!r}).read())",
        "list_host_folder": f"print(os.listdir({paths['folder']!r}))",
        "read_host_environment": "print(open(f'/proc/{os.getppid()}/environ', 'rb').read())",
        "read_passwd": "open('/etc/passwd').read()",
        "create_in_scratch": "open('note', 'x').close()",  # the working directory is the scratch one
        "tcp_connect": f"tcp({world['tcp'].getsockname()[1]})",
        "udp_send": f"udp({world['udp'].getsockname()[1]})",
        "signal_host": "os.kill(os.getppid(), 0)",
        "fork": "fork()",
        "exec": "os.execv('/bin/true', ['true'])",
    }
    lines = [
        "import errno, os, socket",
        "def tcp(port):",
        "    with socket.socket() as s:",
        "        s.settimeout(2)",
        "        s.connect(('127.0.0.1', port))",
        "def udp(port):",
        "    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:",
        "        s.sendto(b'x', ('127.0.0.1', port))",
        "def fork():",
        "    pid = os.fork()",
        "    if pid == 0:",
        "        os._exit(0)",
        "    os.waitpid(pid, 0)",
        "def attempt(name, action):",
        "    try:",
        "        action()",
        "    except OSError as exc:",
        "        outcome = errno.errorcode.get(exc.errno, str(exc.errno))",
        "    else:",
        "        outcome = 'allowed'",
        "    print(name + '=' + outcome)",
    ]
    lines += [f"attempt({name!r}, lambda: {actions[name]})" for name in names]
    return "\n".join(lines)


FILES = ["write_outside", "open_host_file_for_writing", "truncate_host_file", "read_secret", "list_host_folder",
         "read_host_environment", "read_passwd"]
EVERYTHING = FILES + ["create_in_scratch", "tcp_connect", "udp_send", "signal_host", "fork", "exec"]


def landlock_abi(kernel: CellKernel) -> int:
    match = re.search(r"Landlock ABI (\d+)", kernel.isolation["layers"].get("landlock", ""))
    return int(match.group(1)) if match else 0


# --- the test hook's gate -----------------------------------------------------------------


def test_raw_code_needs_the_config_flag_and_the_harness_variable(monkeypatch):
    monkeypatch.delenv(TEST_HOOK_ENV, raising=False)
    with hooked() as k:  # the flag without the variable
        result = k.run_raw("print('raw')")
        assert result["error"]["kind"] == "worker" and "only under the test hook" in result["error"]["message"]
        assert k.run("1 + 1")["value"] == "2"
    monkeypatch.setenv(TEST_HOOK_ENV, "1")
    with CellKernel(host, config=config(), tool_names=[], isolation=IsolationConfig()) as k:  # the variable alone
        assert k.run_raw("print('raw')")["error"]["kind"] == "worker"
    with hooked() as k:
        assert k.run_raw("print('raw')")["stdout"] == "raw\n"


def test_a_worker_started_without_the_hook_refuses_raw_requests(monkeypatch):
    """Even a host that asked anyway (a bug, say) gets a refusal: the worker decided at start-up."""
    monkeypatch.delenv(TEST_HOOK_ENV, raising=False)
    with CellKernel(host, config=config(), tool_names=[]) as k:
        k.start()
        result = {"stdout": "", "value": None, "error": None, "submitted": None, "tool_calls": []}
        k._exchange(k._state.process, "print('raw')", result, time.monotonic(), raw=True)
        assert result["error"]["kind"] == "policy" and "raw code is not accepted" in result["error"]["message"]
        assert result["stdout"] == ""


def test_the_config_file_can_set_only_the_flag_and_required_layers():
    assert load_isolation() == IsolationConfig()  # shipped off
    with pytest.raises(ValueError, match="unknown keys"):
        IsolationConfig.from_dict({"test_skip": ["seccomp"]})
    with pytest.raises(ValueError, match="unknown keys"):
        IsolationConfig.from_dict({"test_missing": ["seccomp"]})
    with pytest.raises(ValueError, match="unknown layers"):
        IsolationConfig.from_dict({"require": ["chroot"]})
    with pytest.raises(ValueError, match="true or false"):
        IsolationConfig.from_dict({"test_hook": "yes"})
    assert IsolationConfig.from_dict({"require": ["landlock"], "test_hook": False}).require == {"landlock"}


def test_skips_without_the_harness_variable_change_nothing(monkeypatch):
    monkeypatch.delenv(TEST_HOOK_ENV, raising=False)
    with hooked(skip=("seccomp", "landlock"), missing=("network_namespace",)) as k:
        k.start()
        assert k.isolation["skipped"] == [] and "seccomp" in k.isolation["layers"]
        assert "network_namespace" not in k.isolation["unavailable"]


# --- each layer on its own ----------------------------------------------------------------------


def test_every_layer_together_stops_every_escape(hook, world, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_API_KEY)
    with hooked() as k:
        result = k.run_raw(escape_code(world, EVERYTHING))
        report = k.isolation
    assert outcomes(result) == dict.fromkeys(EVERYTHING, "EPERM")
    assert SECRET not in result["stdout"] and TEST_API_KEY not in json.dumps(result)
    assert set(report["layers"]) >= set(REQUIRED_LAYERS) | {"landlock", "network_namespace", "unprivileged"}, report
    assert report["network"][:1] == ["network_namespace"] and "seccomp" in report["network"]
    assert report["filesystem"][:2] == ["landlock", "seccomp"]
    assert "network: network_namespace" in result["isolation"]
    assert_unharmed(world)


def test_seccomp_alone_stops_every_escape(hook, world):
    with hooked(skip=("landlock", "unprivileged", "nofile", "network_namespace")) as k:
        result = k.run_raw(escape_code(world, EVERYTHING))
        assert k.isolation["skipped"] == ["landlock", "network_namespace", "nofile", "unprivileged"]
    assert outcomes(result) == dict.fromkeys(EVERYTHING, "EPERM")
    assert_unharmed(world)


def test_landlock_alone_hides_the_file_system_and_tcp(hook, world):
    """As root (no privilege drop), with no seccomp and no descriptor cap: only Landlock is in the way."""
    with hooked(skip=("seccomp", "nofile", "unprivileged", "network_namespace")) as k:
        k.start()
        abi = landlock_abi(k)
        if not abi:
            pytest.skip(f"no Landlock here: {k.isolation['unavailable'].get('landlock')}")
        names = FILES + ["create_in_scratch", "exec"] + (["tcp_connect"] if abi >= 4 else []) + (
            ["signal_host"] if abi >= 6 else [])
        result = k.run_raw(escape_code(world, names))
        scratch = os.readlink(f"/proc/{k.worker_pid}/cwd")
        assert os.listdir(scratch) == ["note"]  # its own scratch directory stays writable
    expected = dict.fromkeys(names, "EACCES")
    expected["create_in_scratch"] = "allowed"
    if abi < 3:
        expected["truncate_host_file"] = "allowed"
    if abi >= 6:
        expected["signal_host"] = "EPERM"
    assert outcomes(result) == expected
    assert SECRET not in result["stdout"]
    assert_unharmed(world)


def test_the_network_namespace_alone_reaches_nothing(hook, world):
    with hooked(skip=("seccomp", "nofile", "landlock")) as k:
        k.start()
        if "network_namespace" not in k.isolation["layers"]:
            pytest.skip(f"no network namespace here: {k.isolation['unavailable'].get('network_namespace')}")
        result = k.run_raw(escape_code(world, ["tcp_connect", "udp_send"]))
    assert outcomes(result) == {"tcp_connect": "ENETUNREACH", "udp_send": "ENETUNREACH"}
    assert_unharmed(world)


@pytest.mark.skipif(not ROOT, reason="the privilege drop happens only when the host runs as root")
def test_dropping_root_alone_closes_the_hosts_files_and_processes(hook, world):
    with hooked(skip=("seccomp", "nofile", "landlock")) as k:
        result = k.run_raw(escape_code(world, FILES[:-1] + ["create_in_scratch", "signal_host", "fork"]))
        status = open(f"/proc/{k.worker_pid}/status").read()
    assert re.search(r"^Uid:\t65534\t65534\t65534\t65534$", status, re.M)
    assert re.search(r"^CapEff:\t0+$", status, re.M)
    expected = dict.fromkeys(FILES[:-1], "EACCES")
    expected.update(create_in_scratch="allowed", signal_host="EPERM", fork="EAGAIN")  # RLIMIT_NPROC 0 holds for nobody
    assert outcomes(result) == expected
    assert_unharmed(world)


def test_the_descriptor_limit_alone_opens_nothing(hook, world):
    with hooked(skip=("seccomp", "landlock", "unprivileged")) as k:
        result = k.run_raw(escape_code(world, ["read_secret", "write_outside", "read_passwd", "tcp_connect"]))
    assert set(outcomes(result).values()) == {"EMFILE"}
    assert_unharmed(world)


def test_the_file_size_limit_alone_stops_the_first_written_byte(hook, world):
    """Root, no seccomp, no Landlock, no descriptor cap: the file opens, but not one byte goes in
    (Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing the worker)."""
    victim = str(world["victim"])
    with hooked(skip=("seccomp", "landlock", "unprivileged", "nofile")) as k:
        result = k.run_raw(f"f = open({victim!r}, 'a')\nf.write('pwned')\nf.flush()\nprint('wrote')")
    assert result["error"]["message"] == "OSError: [Errno 27] File too large"
    assert world["victim"].read_text() == "keep me" and "wrote" not in result["stdout"]


def test_memory_and_cpu_limits_hold_for_raw_code(hook):
    with hooked(memory_mb=128) as k:
        result = k.run_raw("try:\n    b = bytearray(512 << 20)\nexcept MemoryError:\n    print('MemoryError')")
        assert result["stdout"] == "MemoryError\n"
    with hooked(cpu_s=1, time_s=20.0) as k:
        result = k.run_raw("while True:\n    pass")
        assert result["error"]["kind"] == "timeout" and "CPU budget of 1 s" in result["error"]["message"]


def test_the_hosts_environment_and_descriptors_stay_behind(hook, world, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_API_KEY)
    leaked = os.open(world["secret"], os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        mine = os.fstat(leaked)
        with hooked() as k:
            result = k.run_raw(
                "import fcntl, os, stat\n"
                "print('env=' + ','.join(sorted(os.environ)))\n"
                "for fd in range(256):\n"
                "    try:\n"
                "        st = os.fstat(fd)\n"
                "    except OSError:\n"
                "        continue\n"
                "    read_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY\n"
                "    own_library = stat.S_ISREG(st.st_mode) and read_only and not os.get_inheritable(fd)\n"
                "    kind = 'pipe' if stat.S_ISFIFO(st.st_mode) else 'null' if stat.S_ISCHR(st.st_mode) else "
                "'library' if own_library else 'other'\n"
                "    print('fd', fd, st.st_dev, st.st_ino, kind)\n")
            layers = k.isolation["layers"]
    finally:
        os.close(leaked)
    assert result["error"] is None, result
    assert outcomes(result)["env"] == ",".join(sorted(WORKER_ENV_KEYS)) == ",".join(sorted(_worker_env("/x")))
    descriptors = [line.split()[1:] for line in result["stdout"].splitlines() if line.startswith("fd ")]
    kinds = [kind for *_, kind in descriptors]  # pipes, /dev/null, and what libffi keeps open (Python 3.14)
    assert kinds.count("pipe") == 2 and set(kinds) <= {"pipe", "null", "library"}
    assert [str(mine.st_dev), str(mine.st_ino)] not in [d[1:3] for d in descriptors]
    assert TEST_API_KEY not in json.dumps(result) and "environment" in layers and "descriptors" in layers


DESCRIPTOR_PROBE = """
import os, sys
from freecad_spatial.spatial_tools.agent.cell_worker import Isolation, apply_limits, close_inherited
from freecad_spatial.spatial_tools.agent.code_cell import load_config
leaked = int(sys.argv[1])
os.fstat(leaked)
close_inherited()
try:
    os.fstat(leaked)
    print("closed=no")
except OSError:
    print("closed=yes")
inherited = os.open(sys.argv[2], os.O_RDONLY)  # as if from the host: inheritable
os.set_inheritable(inherited, True)
writable = os.open(sys.argv[2], os.O_RDWR)  # the worker's own, but writable
isolation = Isolation(skip=frozenset({"seccomp", "landlock", "unprivileged"}))
apply_limits(load_config(), isolation, os.getcwd(), os.geteuid(), (1, 2))  # stdout, stderr: the "pipes"
print("descriptors=" + isolation.unavailable.get("descriptors", "in force"))
"""


def test_the_worker_closes_and_refuses_descriptors_it_did_not_expect(world, tmp_path):
    """The worker's own layer, apart from the host's close_fds: inherited descriptors go, strays stop it."""
    leaked = os.open(world["secret"], os.O_RDONLY)
    try:
        probe = subprocess.run([sys.executable, "-c", DESCRIPTOR_PROBE, str(leaked), str(world["victim"])],
                               pass_fds=[leaked], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=60, cwd=tmp_path)
    finally:
        os.close(leaked)
    assert probe.returncode == 0, probe.stderr
    found = dict(line.split("=", 1) for line in probe.stdout.splitlines())
    assert found["closed"] == "yes"
    assert re.fullmatch(r"descriptors \[\d+, \d+\] are open beside the host's pipes", found["descriptors"])


# --- fallback: mechanisms missing (simulated) ----------------------------------------------------


@pytest.mark.parametrize("layer", ["seccomp", "rlimits"])
def test_without_a_required_layer_no_cell_runs_and_the_kernel_says_why(hook, layer):
    with hooked(missing=(layer,)) as k:
        result = k.run("print('ran')")
        assert k.worker_pid is None
    assert not result["ok"] and result["stdout"] == "" and result["error"]["kind"] == "worker"
    message = result["error"]["message"]
    assert message.startswith("Code cells are not available here") and f"lacks {layer}" in message
    assert "simulated by the test hook" in message and "works as usual" in message


def test_a_layer_required_by_the_config_is_enforced_by_the_host(hook):
    with hooked(missing=("landlock",), require=("landlock",)) as k:
        result = k.run("1")
    assert result["error"]["kind"] == "worker" and "lacks landlock" in result["error"]["message"]


@pytest.mark.parametrize(("missing", "network", "filesystem"), [
    (("landlock",), ["network_namespace", "seccomp"], ["seccomp", "unprivileged", "rlimits"]),
    (("network_namespace",), ["landlock_network", "seccomp"], ["landlock", "seccomp", "unprivileged", "rlimits"]),
    (("network_namespace", "landlock", "unprivileged"), ["seccomp"], ["seccomp", "rlimits"]),
])
def test_without_an_optional_layer_cells_run_and_the_report_says_so(hook, world, missing, network, filesystem):
    if not ROOT and "unprivileged" in missing:
        pytest.skip("only root has a privilege drop to miss")
    with hooked(missing=missing) as k:
        assert k.run("6 * 7")["value"] == "42"
        report = k.isolation
        result = k.run_raw(escape_code(world, ["tcp_connect", "read_secret", "write_outside"]))
    assert set(missing) <= set(report["unavailable"]) and not set(missing) & set(report["layers"])
    assert report["unavailable"][missing[0]] == "not available (simulated by the test hook)"
    assert report["network"] == network and report["filesystem"] == filesystem
    assert f"unavailable: {missing[0]}" in result["isolation"]
    assert set(outcomes(result).values()) == {"EPERM"}  # seccomp still stops them
    assert_unharmed(world)


@pytest.mark.parametrize(("platform", "name"), [("darwin", "macOS"), ("win32", "Windows"), ("freebsd14", "freebsd14")])
def test_outside_linux_cells_say_plainly_that_they_are_off(monkeypatch, platform, name):
    assert cells_unavailable_reason() is None
    monkeypatch.setattr(sys, "platform", platform)
    with CellKernel(host, config=config(), tool_names=[]) as k:
        result = k.run("print('ran')")
        assert k.worker_pid is None
    assert result["error"]["kind"] == "worker" and result["stdout"] == ""
    assert result["error"]["message"].startswith(f"Code cells are not available on {name}:")
    assert "Everything else in FreeCAD Spatial works as usual" in result["error"]["message"]


NOT_LINUX = """
import importlib, importlib.abc, json, os, pkgutil, sys, traceback
BLOCK = set(sys.argv[1].split(","))
if BLOCK != {""}:
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCK:
                raise ModuleNotFoundError(f"No module named {name!r} (not on this system)", name=name)
    sys.meta_path.insert(0, Block())
    for name in [m for m in sys.modules if m.split(".")[0] in BLOCK]:
        del sys.modules[name]  # loaded by Python's own start-up (shutil takes pwd, grp): gone now
import freecad_spatial
from freecad_spatial.spatial_tools import freecad_env
freecad_env.load()
ROOT = os.path.dirname(freecad_spatial.__file__) + os.sep
failed = {}
for info in pkgutil.walk_packages(freecad_spatial.__path__, "freecad_spatial.", onerror=lambda name: None):
    if info.name.split(".")[1] in ("tests", "bench", "addon", "commands", "panels"):
        continue  # tests and FreeCAD's GUI side
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        # Where the failing import was written: a third-party package that takes a POSIX-only module only
        # when sys.platform is not "win32" (the mcp SDK's stdio takes fcntl) would take its Windows branch
        # there; this simulation cannot change that, so only our own code's imports count.
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if not f.filename.startswith("<frozen") and "find_spec" != f.name]
        origin = frames[-1].filename if frames else ""
        ours = origin.startswith(ROOT) and "site-packages" not in origin  # (a venv may live in the checkout)
        if ours or not isinstance(exc, ModuleNotFoundError):
            failed[info.name] = f"{type(exc).__name__}: {exc}"
from freecad_spatial.spatial_tools.registry import load_builtin_tools
tools = load_builtin_tools().names()
sys.platform = "win32"  # now the kernel is asked on "Windows"
from freecad_spatial.spatial_tools.agent.cell_kernel import CellKernel
result = CellKernel(lambda n, a: {}, tool_names=[]).run("1")
print(json.dumps({"failed": failed, "tools": len(tools), "cell": result["error"]["message"],
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCK)}))
"""
LINUX_ONLY = ["resource", "fcntl", "termios", "pty", "tty", "grp", "pwd", "syslog", "crypt", "spwd"]


def test_the_addon_imports_without_linux_only_modules(tmp_path):
    """As on Windows: every non-GUI module and every tool loads with resource, fcntl... unimportable."""
    def probe(block: list[str]) -> dict:
        done = subprocess.run([sys.executable, "-c", NOT_LINUX, ",".join(block)], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1])

    blocked, normal = probe(LINUX_ONLY), probe([])
    assert blocked["failed"] == normal["failed"]  # nothing fails for want of a Linux-only module
    assert blocked["tools"] == normal["tools"] > 10 and blocked["loaded"] == []
    assert blocked["cell"].startswith("Code cells are not available on Windows")


NOBODY_HOST = """
import json, os
from freecad_spatial.spatial_tools.agent.cell_kernel import CellKernel
from freecad_spatial.spatial_tools.agent.code_cell import load_config
with CellKernel(lambda n, a: {}, config=load_config().with_budget(time_s=10.0), tool_names=[]) as k:
    result = k.run("6 * 7")
    print(json.dumps({"value": result["value"], "error": result["error"], "isolation": k.isolation}))
"""


@pytest.mark.skipif(not ROOT, reason="starts the host as another user")
def test_a_host_that_is_not_root_gets_every_layer_it_can():
    """Real, not simulated: an unprivileged host needs a user namespace for its network namespace."""
    home = Path(tempfile.mkdtemp(prefix="cell-nobody-", dir="/tmp"))  # the run's temp folder is root's alone
    os.chown(home, 65534, 65534)

    def become_nobody() -> None:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    try:
        done = subprocess.run([sys.executable, "-c", NOBODY_HOST], capture_output=True, text=True, timeout=120,
                              cwd=home, env={"PATH": os.defpath, "HOME": str(home), "TMPDIR": str(home),
                                             "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
                              preexec_fn=become_nobody)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["value"] == "42", found
    layers, unavailable = found["isolation"]["layers"], found["isolation"]["unavailable"]
    assert layers["unprivileged"] == "runs as uid 65534, not root"
    if "network_namespace" in layers:
        assert "inside a user namespace" in layers["network_namespace"]
    else:  # user namespaces forbidden here: seccomp carries the network alone, and says so
        assert "CLONE_NEWUSER" in unavailable["network_namespace"] and "seccomp" in found["isolation"]["network"]
    assert "seccomp" in layers and ("landlock" in layers or "landlock" in unavailable)


# --- hostile frames from the worker --------------------------------------------------------------

SEND = """
import os, struct, time
def send(data):
    os.write(channel.write_fd, struct.pack(">I", len(data)) + data)
def result(fields, number=None):  # a result frame for this request (seq: the request's number)
    send(b'{"op":"result","seq":%d,' % (seq if number is None else number) + fields + b'}')
"""
LIMIT = load_config().max_message_bytes

# name -> raw code sending it; each must end in a clean "worker" error, never an exception in the host.
PROTOCOL_BREAKS = {
    "deep_list": "send(b'[' * 200000 + b']' * 200000)",
    "deep_dict": "send(b'{\"a\":' * 100000 + b'1' + b'}' * 100000)",
    "deep_under_the_parser_limit": "send(b'[' * 900 + b']' * 900)",
    "deep_submit_answer": "send(b'{\"op\":\"submit\",\"answer\":' + b'[' * 60 + b']' * 60 + b'}')",
    "size_header_huge": "os.write(channel.write_fd, struct.pack('>I', 0xFFFFFFFF))",
    "over_the_size_limit": f"send(b'{{\"op\":\"result\",\"stdout\":\"' + b'x' * {LIMIT} + b'\"}}')",
    "invalid_utf8": "result(b'\"stdout\":\"\\xff\\xfe\",\"value\":null,\"error\":null')",
    "not_json": "send(b'\\x00\\x01 not json')",
    "empty": "send(b'')",
    "top_level_list": "send(b'[1, 2]')",
    "top_level_number": "send(b'5')",
    "top_level_string": "send(b'\"result\"')",
    "top_level_null": "send(b'null')",
    "nan": "send(b'{\"op\":\"submit\",\"answer\":NaN}')",
    "infinity": "send(b'{\"op\":\"submit\",\"answer\":-Infinity}')",
    "float_overflow": "send(b'{\"op\":\"submit\",\"answer\":1e400}')",
    "huge_integer": "send(b'{\"op\":\"submit\",\"answer\":' + b'9' * 5000 + b'}')",
    "op_list": "send(b'{\"op\":[\"tool\"]}')",
    "op_object": "send(b'{\"op\":{\"tool\":1}}')",
    "op_number": "send(b'{\"op\":5}')",
    "op_missing": "send(b'{\"stdout\":\"\"}')",
    "op_init": "send(b'{\"op\":\"init\"}')",
    "op_ready": "send(b'{\"op\":\"ready\",\"isolation\":{}}')",
    "op_huge_name": "send(b'{\"op\":\"' + b'x' * 100000 + b'\"}')",
    "result_for_another_cell": "result(b'\"stdout\":\"\",\"value\":null,\"error\":null', seq + 1)",
    "result_without_a_number": "send(b'{\"op\":\"result\",\"stdout\":\"\",\"value\":null,\"error\":null}')",
    "result_stdout_number": "result(b'\"stdout\":5,\"value\":null,\"error\":null')",
    "result_value_list": "result(b'\"stdout\":\"\",\"value\":[1],\"error\":null')",
    "result_error_string": "result(b'\"stdout\":\"\",\"value\":null,\"error\":\"boom\"')",
    "result_error_kind_list": "result(b'\"stdout\":\"\",\"value\":null,\"error\":{\"kind\":[\"runtime\"],\"message\":\"x\"}')",
    "result_error_kind_object": "result(b'\"stdout\":\"\",\"value\":null,\"error\":{\"kind\":{},\"message\":\"x\"}')",
    "result_error_host_kind": "result(b'\"stdout\":\"\",\"value\":null,\"error\":{\"kind\":\"timeout\",\"message\":\"x\"}')",
    "result_error_line_string": "result(b'\"stdout\":\"\",\"value\":null,\"error\":{\"kind\":\"runtime\",\"message\":\"x\",\"line\":\"3\"}')",
    "result_error_line_huge": "result(b'\"stdout\":\"\",\"value\":null,\"error\":{\"kind\":\"runtime\",\"message\":\"x\",\"line\":' + b'9' * 40 + b'}')",
    "result_error_line_bool": "result(b'\"stdout\":\"\",\"value\":null,\"error\":{\"kind\":\"runtime\",\"message\":\"x\",\"line\":true}')",
}

# name -> (raw code, what the host makes of it): handled as data, not as a broken protocol.
HANDLED = {
    "brackets_inside_strings": (
        "result(b'\"stdout\":\"' + b'[' * 100000 + b'\",\"value\":null,\"error\":null')", "ok"),
    "lone_surrogate": ("result(b'\"stdout\":\"a\\\\ud800b\",\"value\":null,\"error\":null')", "ok"),
    "tool_name_list": ("send(b'{\"op\":\"tool\",\"name\":[\"x\"],\"args\":{}}')\nprint(channel.read())", "bad_arguments"),
    "tool_args_list": ("send(b'{\"op\":\"tool\",\"name\":\"mass_properties\",\"args\":[1]}')\nprint(channel.read())",
                       "bad_arguments"),
    "tool_unknown": ("send(b'{\"op\":\"tool\",\"name\":\"no_such_tool\",\"args\":{}}')\nprint(channel.read())",
                     "unknown_tool"),
    "tool_surrogate_arguments": (
        "send(b'{\"op\":\"tool\",\"name\":\"mass_properties\",\"args\":{\"object\":\"\\\\udfff\"}}')\nprint(channel.read())",
        "'ok': True"),
    "submit_flood": ("for i in range(1000):\n    send(('{\"op\":\"submit\",\"answer\":%d}' % i).encode())", "ok"),
    "truncated_then_exit": ("os.write(channel.write_fd, struct.pack('>I', 100) + b'{')\nos._exit(0)", "runtime"),
    "header_then_silence": ("os.write(channel.write_fd, struct.pack('>I', 100) + b'{\"op\"')\ntime.sleep(60)", "timeout"),
}


@pytest.fixture(scope="module")
def hostile_kernel():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_HOOK_ENV, "1")
        with hooked(time_s=3.0, output_chars=1000) as k:
            k.start()
            yield k


def recovers(kernel: CellKernel) -> bool:
    """The next cell runs. After a forged result the worker's real one may still be on its way: then
    that next cell ends in a clean protocol error (never in the old cell's result), the one after runs."""
    after = kernel.run("6 * 7")
    if after["value"] == "42":
        return True
    assert after["error"]["kind"] == "worker" and "a result for another cell" in after["error"]["message"], after
    return kernel.run("6 * 7")["value"] == "42"


def _clean(result: dict) -> None:
    """A result the host can use as it is: plain JSON, valid UTF-8, finite numbers, the usual keys."""
    json.dumps(result, allow_nan=False).encode("utf-8")
    assert isinstance(result["ok"], bool) and set(result) >= {"stdout", "value", "error", "submitted", "tool_calls"}


@pytest.mark.parametrize("code", list(PROTOCOL_BREAKS.values()), ids=list(PROTOCOL_BREAKS))
def test_a_frame_that_breaks_the_protocol_is_a_clean_error(hostile_kernel, code):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_HOOK_ENV, "1")
        started = time.monotonic()
        result = hostile_kernel.run_raw(SEND + code)
        _clean(result)
        assert result["error"]["kind"] == "worker" and "broke the protocol" in result["error"]["message"], result
        assert len(result["error"]["message"]) < 400 and time.monotonic() - started < 3
        assert result["namespace_reset"] and hostile_kernel.worker_pid is None  # the worker was stopped
        assert hostile_kernel.run("6 * 7")["value"] == "42"


@pytest.mark.parametrize("name", list(HANDLED))
def test_a_frame_the_host_can_handle_is_handled(hostile_kernel, name):
    code, outcome = HANDLED[name]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_HOOK_ENV, "1")
        result = hostile_kernel.run_raw(SEND + code)
        _clean(result)
        if outcome in ("runtime", "timeout"):
            assert result["error"]["kind"] == outcome and result["namespace_reset"], result
        elif outcome == "ok":
            assert result["ok"], result
        else:
            assert result["ok"] and outcome in result["stdout"], result
        assert recovers(hostile_kernel)
    if name == "submit_flood":
        assert result["submitted"] == {"answer": 0, "findings": None}  # the first one counts
    if name == "brackets_inside_strings":
        assert result["stdout"] == "[" * 1200  # output_chars + 200: the host cuts what the worker did not
    if name == "lone_surrogate":
        assert result["stdout"] == "a?b"
    if name == "tool_surrogate_arguments":
        assert result["tool_calls"][0]["args"] == {"object": "?"}


FAKE_WORKER = """#!{python}
import os, struct, sys
frame = {frame!r}
os.write(1, frame[3:] if frame.startswith(b"RAW") else frame)
sys.stdin.buffer.read()
"""


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@pytest.mark.parametrize("frame", [
    _framed(b"[" * 100000 + b"]" * 100000),
    _framed(b"\xff not json"),
    _framed(json.dumps({"op": "ready", "pid": 1}).encode()),  # no isolation report
    _framed(json.dumps({"op": "ready", "isolation": {"layers": ["seccomp"]}}).encode()),
    _framed(json.dumps({"op": "ready", "isolation": {"layers": {"seccomp": 1}, "unavailable": "x"}}).encode()),
    _framed(json.dumps({"op": "failed", "message": {"nested": ["x"] * 10}}).encode()),
    _framed(json.dumps({"op": ["ready"]}).encode()),
    b"RAW" + (0xFFFFFFFF).to_bytes(4, "big"),
], ids=["deep", "not_json", "no_report", "layers_list", "layers_wrong_types", "message_object", "op_list", "huge"])
def test_a_worker_that_starts_wrong_is_refused_cleanly(tmp_path, frame):
    fake = tmp_path / "python3"
    fake.write_text(FAKE_WORKER.format(python=sys.executable, frame=frame))
    fake.chmod(0o755)
    with CellKernel(host, config=config(python=str(fake), start_timeout_s=5.0), tool_names=[]) as k:
        result = k.run("print('ran')")
    _clean(result)
    assert result["error"]["kind"] == "worker" and result["stdout"] == "" and len(result["error"]["message"]) < 1000


def test_the_nesting_check_counts_brackets_outside_strings_only():
    assert nesting_within(b'{"a": [[1, {"b": "]]]]"}]]}', 4)
    assert not nesting_within(b'{"a": [[1, {"b": "]]]]"}]]}', 3)
    assert nesting_within(b'{"s": "' + b"[" * 10000 + b'\\" [[["}', 1)
    assert not nesting_within(b"[" * 10**6 + b"]" * 10**6, 48)
    assert not nesting_within(b"[[[", 48)  # unbalanced: refused, the parser would refuse it too
    assert isolation_gaps({"layers": {"seccomp": "x"}}, ["seccomp", "rlimits"]) == {"rlimits": "not reported by the worker"}
    assert isolation_gaps("junk", ["seccomp"]) == {"seccomp": "not reported by the worker"}


# --- numpy's global state does not leak between cells -------------------------------------------


@pytest.fixture(scope="module")
def kernel():
    with CellKernel(host, config=config(), tool_names=[]) as k:
        yield k


def test_print_options_start_fresh_in_every_cell(kernel):
    import numpy as np

    first = kernel.run("np.set_printoptions(precision=2, legacy=False, threshold=3)\nprint(np.arange(10) / 3)\nnp.float64(1.5)")
    assert first["ok"] and "0.33 " in first["stdout"] and "..." in first["stdout"]
    second = kernel.run("print(np.arange(5) / 3)\nnp.float64(1.5)")
    assert second["stdout"] == "[0.         0.33333333 0.66666667 1.         1.33333333]\n"
    assert second["value"] == "1.5"  # numpy 2's legacy="1.25" is the state every cell starts from
    if int(np.__version__.split(".")[0]) >= 2:
        assert first["value"] == "np.float64(1.5)"


def test_floating_point_error_handling_starts_fresh_in_every_cell(kernel):
    first = kernel.run("def shout(kind, flag):\n    print('leaked', kind)\n"
                       "np.seterr(all='call')\nnp.seterrcall(shout)\nnp.float64(1.0) / np.float64(0.0)")
    assert first["ok"] and "leaked divide by zero" in first["stdout"]
    second = kernel.run("x = np.float64(1.0) / np.float64(0.0)\nprint(np.geterr()['divide'], np.geterrcall())")
    assert "leaked" not in second["stdout"] and "warn None" in second["stdout"]
    assert "RuntimeWarning: divide by zero" in second["stdout"]


def test_the_decimal_context_starts_fresh_in_every_cell(kernel):
    assert kernel.run("import decimal\ndecimal.setcontext(decimal.Context(prec=3))\nstr(decimal.Decimal(1) / 3)")["value"] == "'0.333'"
    assert kernel.run("str(decimal.Decimal(1) / 3)")["value"] == "'0.3333333333333333333333333333'"
