"""Code cells (architecture.md, "Code as action"): what a cell can do, through the real tools.

The kernel runs each cell in a locked-down worker process; tool calls come back
to this process and run through the real registry on a real FreeCAD document.
The refusals and escapes are in test_code_cell_escapes.py.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import REGISTRY, FreeCAD, Part, add_shape
from key_leak import TEST_API_KEY

from freecad_spatial.spatial_tools.agent.cell_kernel import CellKernel
from freecad_spatial.spatial_tools.agent.cell_worker import (
    DENIED_SYSCALLS,
    SECCOMP_ARCHES,
    seccomp_program,
)
from freecad_spatial.spatial_tools.agent.code_cell import CellConfig, compile_cell, load_config
from freecad_spatial.spatial_tools.context import ToolContext

BOX = (10.0, 20.0, 30.0)
CYLINDER = (2.0, 5.0)  # radius, height


@pytest.fixture(scope="module")
def document():
    document = FreeCAD.newDocument("CodeCells")
    add_shape(document, "Box", Part.makeBox(*BOX))
    add_shape(document, "Cyl", Part.makeCylinder(*CYLINDER), FreeCAD.Placement(FreeCAD.Vector(50, 0, 0), FreeCAD.Rotation()))
    yield document
    FreeCAD.closeDocument(document.Name)


@pytest.fixture(scope="module")
def host(document):
    """The host side of the bridge: every tool call runs through the real registry."""
    calls = []

    def call_tool(name: str, arguments: dict) -> dict:
        calls.append(name)
        return REGISTRY.call(name, arguments, ToolContext(document=document))

    call_tool.calls = calls
    return call_tool


@pytest.fixture(scope="module")
def config() -> CellConfig:
    return load_config().with_budget(time_s=5.0, cpu_s=5)


@pytest.fixture(scope="module")
def kernel(host, config):
    with CellKernel(host, selection=[{"ref": "Box.Face1", "picked_point": [0, 5, 5]}], config=config) as k:
        yield k


def run(kernel: CellKernel, code: str, **kw) -> dict:
    result = kernel.run(code, **kw)
    json.dumps(result)  # every result is plain JSON
    assert set(result) >= {"ok", "stdout", "value", "error", "submitted", "tool_calls"}
    return result


def ok(kernel: CellKernel, code: str, **kw) -> dict:
    result = run(kernel, code, **kw)
    assert result["ok"], result["error"]
    return result


# --- plain Python and numpy -----------------------------------------------------------


def test_last_expression_is_the_value_like_a_notebook(kernel):
    assert ok(kernel, "1 + 2")["value"] == "3"
    assert ok(kernel, "x = 5")["value"] is None
    result = ok(kernel, "print('a', 2 * 3)\n'done'")
    assert result["stdout"] == "a 6\n" and result["value"] == "'done'"


def test_numpy_math_and_the_allowed_modules(kernel):
    assert ok(kernel, "float(np.linalg.norm(np.array([3.0, 4.0])))")["value"] == "5.0"
    assert ok(kernel, "math.degrees(math.atan2(1, 1))")["value"] == "45.0"
    code = (
        "import statistics, itertools, json\n"
        "from collections import Counter\n"
        "pairs = list(itertools.combinations([1, 2, 3], 2))\n"
        "json.dumps({'mean': statistics.mean([1, 2, 3, 6]), 'pairs': len(pairs), 'c': Counter('aab')['a']})"
    )
    assert json.loads(eval(ok(kernel, code)["value"])) == {"mean": 3, "pairs": 3, "c": 2}
    assert ok(kernel, "'{:.3f} mm, {name}'.format(math.pi, name='gap')")["value"] == "'3.142 mm, gap'"


def test_namespace_persists_across_cells(kernel):
    ok(kernel, "total = 40\ndef bump(v):\n    return v + 2\nclass Part:\n    def __init__(self, v):\n        self.v = v")
    assert ok(kernel, "bump(total)")["value"] == "42"
    assert ok(kernel, "p = Part(7)\np.v += 1\np.v")["value"] == "8"


def test_warnings_reach_the_output(kernel):
    result = ok(kernel, "np.float64(1.0) / 0")
    assert result["value"] == "inf" and "RuntimeWarning" in result["stdout"]


def test_everyday_python_and_numpy_pass_the_raw_memory_checks(kernel):
    """Every call, operator, item, loop and parameter is checked now: ordinary cells must not notice."""
    code = (
        "import functools\n"
        "@functools.lru_cache(maxsize=None)\n"
        "def fib(n):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "def gen():\n"
        "    yield from [1, 2]\n"
        "class P:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "    def __eq__(self, other):\n"
        "        return isinstance(other, P) and other.v == self.v\n"
        "a = np.arange(6.0)\n"
        "a[1] = 5\n"
        "a.real = a * 2\n"
        "a[2] += 1\n"
        "it = np.nditer(a.reshape(2, 3), flags=['multi_index'])\n"
        "last = [it.multi_index for _ in it][-1]\n"
        "with np.errstate(divide='ignore'):\n"
        "    inf = np.float64(1) / 0\n"
        "args, options = (3,), {'axis': 0}\n"
        "g = gen()\n"
        "(fib(30), [*range(3), *gen()], next(g) + g.send(None), P(1) == P(1), last, a.flat[2], inf,\n"
        " np.frombuffer(b'\\x01\\x02', np.uint8).tolist(), int(a.view(np.int64)[0]), np.stack([a] * 2, **options).shape,\n"
        " np.repeat(a[:1], *args).tolist(), '%5.2f|%d|%s' % (3.14159, 7, 'x'), f'{fib(10):>{5}}', '{:.1f}'.format(2.25),\n"
        " hash((1, 'a')) == hash((1, 'a')), isinstance('x', str), np.array(['a', 'bc'], dtype=str).tolist(),\n"
        " sorted({'b': 1, 'a': 2}.items()), 'fib' in dir())"
    )
    value = ok(kernel, code)["value"]
    assert value == ("(832040, [0, 1, 2, 1, 2], 3, True, (1, 2), 5.0, inf, [1, 2], 0, (2, 6), [0.0, 0.0, 0.0], "
                     "' 3.14|7|x', '   55', '2.2', True, True, ['a', 'bc'], [('a', 2), ('b', 1)], True)")
    # Stand-ins work imported by name and as view types; fresh memory comes zeroed.
    code = ("from numpy import empty, ndarray\n"
            "(empty(3).tolist(), np.empty_like(np.ones(2)).tolist(), ndarray((2,), np.int64).tolist(),\n"
            " type(np.arange(4.0).view(np.recarray)) is np.recarray, isinstance(np.zeros(1), ndarray))")
    assert ok(kernel, code)["value"] == "([0.0, 0.0, 0.0], [0.0, 0.0], [0, 0], True, True)"


def test_warnings_from_library_calls_reach_every_cell(kernel):
    """A warning raised inside a call is located in the policy's call hook: each cell still shows it."""
    for _ in range(2):
        result = ok(kernel, "np.log(np.zeros(1))")
        assert "RuntimeWarning" in result["stdout"] and "divide by zero" in result["stdout"]


def test_values_are_checked_inside_containers_up_to_a_depth(kernel):
    """Raw memory is refused however deep in a returned container it sits; data nested past the
    bound is refused rather than passed unchecked."""
    assert ok(kernel, "import json\nlen(json.loads('[' * 60 + ']' * 60))")["value"] == "1"
    deep = run(kernel, "import json\njson.loads('[' * 80 + ']' * 80)")
    assert deep["error"]["kind"] == "policy" and "too deep to check" in deep["error"]["message"]
    hidden = run(kernel, "[[[{'k': (1, np.ScalarType)}]]]")
    assert hidden["error"]["kind"] == "policy" and "holds class 'memoryview'" in hidden["error"]["message"]
    big = run(kernel, "x = np.array([10 ** 30, 1])")  # integers past int64 make an object array
    assert big["error"]["kind"] == "policy" and "numpy array of Python objects" in big["error"]["message"]


# --- the tool bridge on a real document ---------------------------------------------------


def test_tools_run_in_the_host_on_the_live_document(kernel, host):
    before = len(host.calls)
    result = ok(kernel, "r = tools.mass_properties(object='Box', density=2.7)\nsubmit(r['volume'], [])")
    assert result["submitted"]["answer"] == pytest.approx(math.prod(BOX))
    assert host.calls[before:] == ["mass_properties"]
    (call,) = result["tool_calls"]
    assert call["name"] == "mass_properties" and call["args"] == {"object": "Box", "density": 2.7}
    assert call["ok"] is True and call["ms"] >= 0


def test_a_loop_over_the_document(kernel):
    code = "volumes = {name: tools.mass_properties(object=name)['volume'] for name in doc.objects}\nvolumes"
    result = ok(kernel, code)
    volumes = eval(result["value"])
    radius, height = CYLINDER
    assert volumes == {"Box": pytest.approx(math.prod(BOX)), "Cyl": pytest.approx(math.pi * radius**2 * height)}
    assert [c["name"] for c in result["tool_calls"]] == ["query_feature_tree", "mass_properties", "mass_properties"]


def test_doc_is_a_read_only_view(kernel):
    assert ok(kernel, "sorted(doc.objects), 'Box' in doc, len(doc)")["value"] == "(['Box', 'Cyl'], True, 2)"
    assert ok(kernel, "doc['Box']['shape']['volume']")["value"] == str(int(math.prod(BOX)))
    ok(kernel, "summary = doc['Box']\nsummary['shape']['volume'] = 0")  # a copy: the document is untouched
    assert ok(kernel, "doc['Box']['shape']['volume']")["value"] == str(int(math.prod(BOX)))
    missing = run(kernel, "doc['Nope']")
    assert missing["error"]["kind"] == "runtime" and "no object named 'Nope'" in missing["error"]["message"]
    refused = run(kernel, "doc['Box'] = {}")
    assert refused["error"]["kind"] == "policy" and "cannot change" in refused["error"]["message"]


def test_a_failed_tool_raises_ToolFailed_with_its_envelope(kernel):
    caught = ok(kernel, "try:\n    tools.mass_properties(object='Nope')\nexcept ToolFailed as e:\n    print(e.code, e.tool)")
    assert caught["stdout"] == "bad_reference mass_properties\n"
    assert caught["tool_calls"][0]["ok"] is False
    uncaught = run(kernel, "v = 1\ntools.measure_distance(a='Box.Face99', b='Cyl')")
    assert uncaught["error"]["kind"] == "runtime" and uncaught["error"]["line"] == 2
    assert "ToolFailed" in uncaught["error"]["message"] and "Face99" in uncaught["error"]["message"]
    positional = run(kernel, "tools.mass_properties('Box')")
    assert "keyword arguments" in positional["error"]["message"]


def test_selection_is_given_and_updated_per_cell(kernel):
    assert ok(kernel, "selection[0]['ref']")["value"] == "'Box.Face1'"
    assert ok(kernel, "[s['ref'] for s in selection]", selection=[{"ref": "Cyl.Face1"}])["value"] == "['Cyl.Face1']"
    assert ok(kernel, "selection.append(1)\nlen(selection)")["value"] == "2"
    assert ok(kernel, "len(selection)")["value"] == "1"  # each cell gets a fresh copy


# --- submit ---------------------------------------------------------------------------------


def test_submit_ends_the_cell_and_a_bare_except_cannot_catch_it(kernel):
    result = ok(kernel, "try:\n    submit('done', [{'rule': 'x.y'}])\nexcept:\n    pass\nprint('not reached')")
    assert result["submitted"] == {"answer": "done", "findings": [{"rule": "x.y"}]}
    assert "not reached" not in result["stdout"]


def test_the_first_submit_stands_even_when_the_cell_goes_on(kernel):
    code = (
        "try:\n"
        "    try:\n"
        "        submit('first')\n"
        "    finally:\n"
        "        raise ValueError('swallowing attempt')\n"
        "except ValueError:\n"
        "    pass\n"
        "print('went on')\n"
        "submit('second')"
    )
    result = ok(kernel, code)
    assert result["stdout"] == "went on\n" and result["submitted"]["answer"] == "first"


def test_submit_converts_numpy_answers_to_json(kernel):
    result = ok(kernel, "submit({'v': np.float64(2.5), 'a': np.arange(3)}, [])")
    assert result["submitted"] == {"answer": {"v": 2.5, "a": [0, 1, 2]}, "findings": []}


# --- errors the model can act on -------------------------------------------------------------


def test_errors_name_the_line_and_quote_it(kernel):
    runtime = run(kernel, "a = 1\nb = a / 0")
    assert runtime["error"] == {"kind": "runtime", "line": 2,
                                "message": "line 2: `b = a / 0` — ZeroDivisionError: division by zero"}
    policy = run(kernel, "x = 1\ny = x.__class__")
    assert policy["error"]["kind"] == "policy" and policy["error"]["line"] == 2 and "`y = x.__class__`" in policy["error"]["message"]
    syntax = run(kernel, "for i in range(3)\n    pass")
    assert syntax["error"]["kind"] == "syntax" and syntax["error"]["line"] == 1


def test_a_refused_cell_needs_no_worker(host, config):
    with CellKernel(host, config=config) as k:
        result = k.run("import os")
        assert result["error"]["kind"] == "policy" and "import of 'os' is not allowed" in result["error"]["message"]
        assert k.worker_pid is None


def test_output_is_truncated_with_a_note(host, config):
    with CellKernel(host, config=config.with_budget(output_chars=1000, output_stop_chars=10**6)) as k:
        result = k.run("for i in range(2000):\n    print('line', i)\n'end'")
    assert result["ok"] and result["value"] == "'end'"
    total = sum(len(f"line {i}\n") for i in range(2000))
    assert result["stdout"].startswith("line 0\nline 1\n")
    assert result["stdout"].endswith(f"[output truncated: {total - 1000} more characters not shown]")


# --- the kernel's life ---------------------------------------------------------------------


def test_reset_forgets_every_variable(host, config):
    with CellKernel(host, config=config) as k:
        ok(k, "kept = 1")
        first = k.worker_pid
        k.reset()
        assert run(k, "kept")["error"]["message"].endswith("NameError: name 'kept' is not defined")
        assert k.worker_pid != first


def test_a_timeout_restarts_the_kernel_with_a_fresh_namespace(host, config):
    with CellKernel(host, config=config.with_budget(time_s=1.0)) as k:
        ok(k, "kept = 1")
        first = k.worker_pid
        started = time.monotonic()
        result = run(k, "while True:\n    pass")
        assert time.monotonic() - started < 3
        assert result["error"]["kind"] == "timeout" and result["namespace_reset"] is True
        assert "stopped after 1.0 s" in result["error"]["message"] and "restarted" in result["error"]["message"]
        assert run(k, "kept")["error"]["kind"] == "runtime"
        assert k.worker_pid not in (None, first)


def test_a_cell_that_waits_without_using_cpu_is_stopped_by_the_wall_clock(host, config):
    """No CPU limit can catch a cell that sleeps; the host's wall clock does (the worker is frozen here)."""
    with CellKernel(host, config=config.with_budget(time_s=1.0, cpu_s=60)) as k:
        k.start()
        pid = k.worker_pid
        threading.Timer(0.2, os.kill, (pid, signal.SIGSTOP)).start()
        started = time.monotonic()
        result = run(k, "n = 0\nwhile True:\n    n += 1")
        elapsed = time.monotonic() - started
        assert result["error"]["kind"] == "timeout" and "time budget of 1 s" in result["error"]["message"]
        assert elapsed < 4 and not os.path.exists(f"/proc/{pid}/status")  # killed and reaped
        assert ok(k, "6 * 7")["value"] == "42"  # a fresh worker takes over


def test_a_huge_value_is_cut_to_its_budget(host, config):
    with CellKernel(host, config=config.with_budget(value_chars=500)) as k:
        result = ok(k, "'x' * 10 ** 7")
    assert len(result["value"]) < 600 and result["value"].endswith("more characters]")


def test_the_cpu_limit_backs_up_the_wall_clock(host, config):
    with CellKernel(host, config=config.with_budget(time_s=8.0, cpu_s=1)) as k:
        result = run(k, "while True:\n    pass")
    assert result["error"]["kind"] == "timeout" and "CPU budget of 1 s" in result["error"]["message"]
    assert result["elapsed_s"] < 5


def test_runs_from_a_worker_thread_and_can_be_interrupted(host, config):
    with CellKernel(host, config=config.with_budget(time_s=30.0, cpu_s=30)) as k:
        results = {}
        thread = threading.Thread(target=lambda: results.update(a=k.run("tools.mass_properties(object='Box')['volume']")))
        thread.start()
        thread.join(30)
        assert results["a"]["value"] == str(float(math.prod(BOX)))
        thread = threading.Thread(target=lambda: results.update(b=k.run("while True:\n    pass")))
        thread.start()
        time.sleep(0.5)
        k.interrupt()
        thread.join(10)
        assert results["b"]["error"]["kind"] == "interrupted" and results["b"]["namespace_reset"]
        assert ok(k, "6 * 7")["value"] == "42"


@pytest.mark.parametrize("broken", ["missing", "exits"])
def test_no_worker_no_cell(host, config, tmp_path, broken):
    """A kernel that cannot start its sandbox refuses; it never runs the cell some other way."""
    python = tmp_path / "python3"
    if broken == "exits":
        python.write_text("#!/bin/sh\nexit 3\n")
        python.chmod(0o755)
    with CellKernel(host, config=config.with_budget(python=str(python))) as k:
        result = k.run("print('ran')")
    assert result["error"]["kind"] == "worker" and result["stdout"] == "" and not result["ok"]
    expected = "is not an executable" if broken == "missing" else "exited with status 3"
    assert expected in result["error"]["message"]


def test_a_failing_host_becomes_a_tool_error(config):
    def broken(name, arguments):
        raise RuntimeError("GUI thread is gone")

    with CellKernel(broken, config=config, tool_names=["mass_properties"]) as k:
        result = k.run("try:\n    tools.mass_properties(object='Box')\nexcept ToolFailed as e:\n    print(e.code, e.message)")
    assert result["stdout"].startswith("host_error mass_properties: the host could not run the tool")


def test_only_the_given_tools_can_be_called(host, config):
    with CellKernel(host, config=config, tool_names=["mass_properties"]) as k:
        assert ok(k, "dir(tools)")["value"] == "['mass_properties']"
        hidden = run(k, "tools.measure_distance")
        assert hidden["error"]["kind"] == "runtime" and "no tool named 'measure_distance'" in hidden["error"]["message"]
        # The host checks again (the worker is not trusted): doc reads need query_feature_tree.
        refused = run(k, "doc.objects")
        assert "unknown_tool" in refused["error"]["message"] and refused["tool_calls"] == []


def test_tool_calls_per_cell_are_capped(host, config):
    with CellKernel(host, config=config.with_budget(max_tool_calls=3)) as k:
        result = k.run("n = 0\nwhile True:\n    try:\n        tools.mass_properties(object='Box')\n"
                       "    except ToolFailed as e:\n        print(e.code)\n        break")
    assert result["stdout"] == "budget_exceeded\n" and len(result["tool_calls"]) == 3


# --- the worker process itself ----------------------------------------------------------------


def _proc(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/{name}", "rb") as fh:
        return fh.read().decode()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads the worker's limits from /proc")
def test_the_worker_runs_locked_down_with_a_clean_environment(host, config, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_API_KEY)
    with CellKernel(host, config=config) as k:
        k.start()
        pid = k.worker_pid
        environment = _proc(pid, "environ").split("\0")
        assert not any(TEST_API_KEY in item for item in environment)
        assert not any(item.startswith("ANTHROPIC") for item in environment)
        limits = {line[:26].strip(): line[26:].split() for line in _proc(pid, "limits").splitlines()[1:]}
        assert limits["Max file size"][:2] == ["0", "0"]
        assert limits["Max core file size"][:2] == ["0", "0"]
        assert limits["Max processes"][:2] == ["0", "0"]
        assert int(limits["Max open files"][0]) <= 8
        assert int(limits["Max address space"][0]) < 4 * 1024**3
        if os.uname().machine in SECCOMP_ARCHES:
            assert "Seccomp:\t2" in _proc(pid, "status")  # a filter is installed
        workdir = os.readlink(f"/proc/{pid}/cwd")
        assert os.listdir(workdir) == []
        assert os.getpgid(pid) == pid != os.getpgid(0)  # its own process group, killed as one
    assert not os.path.exists(workdir)


SECCOMP_PROBE = """
import ctypes, errno, os, socket, sys
from freecad_spatial.spatial_tools.agent.cell_worker import install_seccomp
assert install_seccomp(ctypes)
outcomes = {}
for name, action in [
    ("open", lambda: os.open(os.devnull, os.O_RDONLY)),
    ("socket", lambda: socket.socket()),
    ("kill", lambda: os.kill(os.getppid(), 0)),
    ("fork", lambda: os.fork()),
    ("exec", lambda: os.execv("/bin/true", ["true"])),
    ("unlink", lambda: os.unlink(sys.argv[1])),
    ("mkdir", lambda: os.mkdir(sys.argv[1] + ".d")),
]:
    try:
        action()
        outcomes[name] = "allowed"
    except OSError as exc:
        outcomes[name] = errno.errorcode.get(exc.errno, str(exc.errno))
outcomes["getpid"] = "allowed" if os.getpid() > 0 else "broken"
print(outcomes)
"""


@pytest.mark.skipif(os.uname().machine not in SECCOMP_ARCHES or sys.platform != "linux", reason="Linux x86_64/aarch64")
def test_the_seccomp_filter_denies_what_a_cell_never_needs(tmp_path):
    """The filter alone, in a throwaway process: even code that got past every other layer is stuck."""
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    probe = subprocess.run([sys.executable, "-c", SECCOMP_PROBE, str(victim)], capture_output=True, text=True,
                           timeout=60)
    assert probe.returncode == 0, probe.stderr
    outcomes = eval(probe.stdout)
    assert outcomes == {"open": "EPERM", "socket": "EPERM", "kill": "EPERM", "fork": "EPERM", "exec": "EPERM",
                        "unlink": "EPERM", "mkdir": "EPERM", "getpid": "allowed"}
    assert victim.read_text() == "keep me" and not (tmp_path / "victim.d").exists()


def test_the_seccomp_program_jumps_land_on_deny():
    for machine in SECCOMP_ARCHES:
        program = seccomp_program(machine)
        allow, deny = len(program) - 2, len(program) - 1
        assert program[allow] == (0x06, 0, 0, 0x7FFF0000) and program[deny] == (0x06, 0, 0, 0x00050001)
        checks = [(i, p) for i, p in enumerate(program[4:allow], start=4)]
        assert checks and all(i + 1 + p[1] == deny and p[2] == 0 for i, p in checks)
        numbers = {p[3] for _, p in checks}
        column = SECCOMP_ARCHES[machine][1]
        assert {n[column] for n in DENIED_SYSCALLS.values() if n[column] is not None} <= numbers


def test_config_mistakes_are_refused():
    raw = load_config().to_dict()
    CellConfig.from_dict(raw)
    with pytest.raises(ValueError, match="time_s"):
        CellConfig.from_dict({**raw, "budget": {**raw["budget"], "time_s": 0}})
    with pytest.raises(ValueError, match="unknown sections"):
        CellConfig.from_dict({**raw, "extras": {}})
    with pytest.raises(ValueError, match="not an allowed module"):
        CellConfig.from_dict({**raw, "preload": {"os": "os"}})
    with pytest.raises(ValueError, match="non-empty allow"):
        CellConfig.from_dict({**raw, "modules": {**raw["modules"], "os": {"allow": []}}})


def test_compile_splits_off_the_last_expression():
    config = load_config()
    assert compile_cell("a = 1\na", config).last is not None
    assert compile_cell("a = 1", config).last is None
    assert compile_cell("", config).last is None
