"""The worker process of a code-cell kernel: runs checked cells under OS limits.

The host (cell_kernel.py) starts this as a separate Python process with a clean
environment and an empty working directory. Before the first cell it loads
every allowed module, then locks itself down: no new file descriptors (so no
open(), no sockets, no pipes), no file writes (RLIMIT_FSIZE 0), no child
processes, a memory ceiling and a CPU ceiling. It talks to the host only in
length-prefixed JSON frames on two private descriptors — never pickle, so a
compromised worker cannot run code in the host. Tool calls, doc reads and
submit() travel over the same frames; the worker never imports FreeCAD.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .code_cell import (
    CELL_FILENAME,
    CellConfig,
    CellPolicyError,
    CellRefused,
    CellRuntime,
    compile_cell,
    describe_problem,
)

HEADER = struct.Struct(">I")
RESERVE_BYTES = 4 << 20  # given back when memory runs out, so the worker can still report


def encode_frame(message: dict) -> bytes:
    # ASCII: a lone surrogate printed by a cell must not break the frame.
    data = json.dumps(message, ensure_ascii=True, allow_nan=False).encode("ascii")
    return HEADER.pack(len(data)) + data


class Channel:
    """Frames over the two descriptors the host gave us (blocking: the host answers promptly)."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd

    def _read_exactly(self, count: int) -> bytes | None:
        chunks, left = [], count
        while left:
            chunk = os.read(self.read_fd, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def read(self) -> dict | None:
        header = self._read_exactly(HEADER.size)
        if header is None:
            return None
        body = self._read_exactly(HEADER.unpack(header)[0])
        return None if body is None else json.loads(body)

    def write(self, message: dict) -> None:
        data = memoryview(encode_frame(message))
        while data:
            data = data[os.write(self.write_fd, data):]


# --- control signals: BaseException, and cells can catch Exception only ------------------


class Submitted(BaseException):
    """submit() was called: the answer is already with the host; the cell ends."""


class OutputStopped(BaseException):
    """The cell printed past the output stop budget."""


class ToolFailed(Exception):
    """A tool returned an error envelope: ``e.code``, ``e.message``, ``e.tool``."""

    def __init__(self, tool: str, error: dict):
        self.tool = tool
        self.code = str(error.get("code", "tool_error"))
        self.message = str(error.get("message", ""))
        self.envelope = {"ok": False, "error": {"code": self.code, "message": self.message}}
        super().__init__(f"{tool} failed ({self.code}): {self.message}")


# --- output -------------------------------------------------------------------------


class CellOutput:
    """Printed text of one cell: the first ``keep`` characters, a count of the rest, a stop."""

    def __init__(self, keep: int, stop: int):
        self.keep, self.stop = keep, stop
        self.parts: list[str] = []
        self.kept = 0
        self.total = 0

    def write(self, text: Any) -> int:
        text = text if isinstance(text, str) else str(text)
        self.total += len(text)
        if self.kept < self.keep:
            piece = text[: self.keep - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        if self.total > self.stop:
            raise OutputStopped()
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def stopped(self) -> bool:
        return self.total > self.stop

    def text(self) -> str:
        shown = "".join(self.parts)
        if self.total > self.kept:
            shown += f"\n[output truncated: {self.total - self.kept} more characters not shown]"
        return shown


class Printer:
    """What ``print`` becomes in a cell (RestrictedPython's ``_print_`` protocol)."""

    def __init__(self, output: CellOutput):
        self.output = output
        self.local: list[str] = []
        self.local_chars = 0

    def write(self, text: str) -> None:
        if self.local_chars < self.output.keep:
            self.local.append(text)
            self.local_chars += len(text)
        self.output.write(text)

    def _call_print(self, *objects: Any, sep: str | None = " ", end: str | None = "\n",
                    file: Any = None, flush: bool = False) -> None:
        if file is not None:
            raise CellPolicyError("print(file=...) is not available: cells cannot write files")
        print(*objects, sep=sep, end=end, file=self)

    def __call__(self) -> str:  # the `printed` variable
        return "".join(self.local)


class _Route:
    """sys.stdout/sys.stderr of the worker: library prints land in the current cell's output."""

    def __init__(self, worker: Worker):
        self._worker = worker

    def write(self, text: str) -> int:
        output = self._worker.output
        return output.write(text) if output is not None else len(text)

    def flush(self) -> None:
        pass


# --- JSON data from cell objects ------------------------------------------------------


def jsonable(value: Any, strict: bool = False, depth: int = 0) -> Any:
    """Plain JSON data from what a cell hands over (numpy scalars and arrays included).

    ``strict`` raises TypeError for other objects (tool arguments); otherwise
    they become their repr (answers).
    """
    if depth > 32:
        raise ValueError("data nested more than 32 levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) < 1 << 63:
            return value
        if value.bit_length() < 1000:
            return float(value)
        if strict:
            raise ValueError(f"an integer of {value.bit_length()} bits is too large for JSON")
        return f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    tolist = getattr(type(value), "tolist", None)  # numpy arrays and scalars
    if tolist is not None and type(value).__module__ == "numpy":
        return jsonable(value.tolist(), strict, depth + 1)
    if isinstance(value, dict):
        return {str(k): jsonable(v, strict, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, strict, depth + 1) for v in value]
    if strict:
        raise TypeError(f"a {type(value).__name__} is not JSON data (use numbers, strings, lists, dicts)")
    return repr(value)


# --- the objects a cell sees -------------------------------------------------------------


class ToolBox:
    """``tools.<name>(**arguments)`` -> the tool's result dict; failures raise ToolFailed."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Callable[..., dict]:
        if name.startswith("_"):
            raise AttributeError(name)
        names = _WORKER.tool_names
        if names and name not in names:
            raise AttributeError(f"there is no tool named '{name}' (tools: {', '.join(names)})")
        return _tool_function(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("tools cannot be changed")

    def __dir__(self) -> list[str]:
        return list(_WORKER.tool_names)

    def __repr__(self) -> str:
        return f"<tools: {', '.join(_WORKER.tool_names)}>"


def _tool_function(name: str) -> Callable[..., dict]:
    def call(*args: Any, **arguments: Any) -> dict:
        if args:
            raise TypeError(f"call tools with keyword arguments, e.g. tools.{name}(object='Box')")
        return _WORKER.call_tool(name, arguments)

    call.__name__ = call.__qualname__ = name
    return call


class DocView:
    """Read-only view of the host's document, read through query_feature_tree.

    ``doc.objects`` lists top-level object names, ``doc[name]`` is that object's
    summary, ``doc.tree(path, depth)`` is the raw canonical tree. Every read is
    fresh and every result is a copy: changing it changes nothing.
    """

    __slots__ = ()

    def tree(self, path: str | None = None, depth: int | None = None) -> dict:
        arguments: dict[str, Any] = {}
        if path is not None:
            arguments["path"] = path
        if depth is not None:
            arguments["depth"] = depth
        return _WORKER.call_tool("query_feature_tree", arguments)

    @property
    def objects(self) -> list[str]:
        return node_names(self.tree(depth=1))

    def __getitem__(self, name: str) -> dict:
        if not isinstance(name, str):
            raise TypeError("doc[...] takes an object name such as 'Box'")
        try:
            tree = self.tree(path=name, depth=1)
        except ToolFailed as exc:
            if exc.code in ("bad_reference", "bad_arguments", "not_applicable"):
                raise KeyError(f"{name}: {exc.message}") from None
            raise
        return node_for(tree, name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.objects

    def __iter__(self) -> Any:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def __setitem__(self, name: str, value: Any) -> None:
        raise TypeError("doc is read-only; a cell cannot change the document")

    def __repr__(self) -> str:
        return "<doc: read-only view; doc.objects, doc[name], doc.tree(path, depth)>"


_NODE_LISTS = ("objects", "children", "nodes", "tree", "features", "items")


def _nodes(tree: Any) -> list[dict]:
    if isinstance(tree, list):
        return [n for n in tree if isinstance(n, dict)]
    if isinstance(tree, dict):
        for key in _NODE_LISTS:
            if isinstance(tree.get(key), (list, dict)):
                return _nodes(tree[key])
    return []


def _name(node: dict) -> str | None:
    for key in ("name", "Name"):
        if isinstance(node.get(key), str):
            return node[key]
    return None


def node_names(tree: Any) -> list[str]:
    """Top-level object names of a query_feature_tree result."""
    return [name for name in (_name(n) for n in _nodes(tree)) if name is not None]


def node_for(tree: Any, path: str) -> dict:
    """The node ``path`` ('Box', 'Body.Pad001') names in a query_feature_tree result."""
    wanted = {path, path.split(".")[-1]}
    if isinstance(tree, dict) and _name(tree) in wanted:
        return tree
    nodes = _nodes(tree)
    for node in nodes:
        if _name(node) in wanted:
            return node
    if len(nodes) == 1:
        return nodes[0]
    return tree if isinstance(tree, dict) else {"value": tree}


def submit(answer: Any, findings: Any = None) -> None:
    """Ends the turn with ``answer`` (and findings); the host records it at once."""
    _WORKER.submit(answer, findings)


# --- limits --------------------------------------------------------------------------------

# Syscalls the locked-down worker never makes, as (x86_64, aarch64) numbers; None where the
# architecture has no such call. They fail with EPERM: no programs, processes, signals to others,
# ptrace, sockets, opening or changing files by path, mounts, namespaces, kernel or clock changes.
DENIED_SYSCALLS = {
    "execve": (59, 221), "execveat": (322, 281), "fork": (57, None), "vfork": (58, None),
    "clone": (56, 220), "clone3": (435, 435),
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131), "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240), "pidfd_send_signal": (424, 424), "pidfd_open": (434, 434),
    "pidfd_getfd": (438, 438), "ptrace": (101, 117), "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271), "process_madvise": (440, 440), "process_mrelease": (448, 448),
    "migrate_pages": (256, 238), "move_pages": (279, 239), "setpriority": (141, 140),
    "sched_setscheduler": (144, 119), "sched_setparam": (142, 118), "sched_setattr": (314, 274),
    "ioprio_set": (251, 30),
    "socket": (41, 198), "socketpair": (53, 199), "connect": (42, 203), "bind": (49, 200),
    "listen": (50, 201), "accept": (43, 202), "accept4": (288, 242),
    "open": (2, None), "openat": (257, 56), "openat2": (437, 437), "creat": (85, None),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264), "uselib": (134, None),
    "unlink": (87, None), "unlinkat": (263, 35), "rename": (82, None), "renameat": (264, 38),
    "renameat2": (316, 276), "rmdir": (84, None), "mkdir": (83, None), "mkdirat": (258, 34),
    "link": (86, None), "linkat": (265, 37), "symlink": (88, None), "symlinkat": (266, 36),
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "chown": (92, None),
    "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54), "truncate": (76, 45),
    "ftruncate": (77, 46), "mknod": (133, None), "mknodat": (259, 33), "utime": (132, None),
    "utimes": (235, None), "utimensat": (280, 88), "futimesat": (261, None), "acct": (163, 89),
    "mount": (165, 40), "umount2": (166, 39), "chroot": (161, 51), "pivot_root": (155, 41),
    "setns": (308, 268), "unshare": (272, 97), "open_tree": (428, 428), "move_mount": (429, 429),
    "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442), "swapon": (167, 224), "swapoff": (168, 225),
    "bpf": (321, 280), "io_uring_setup": (425, 425), "perf_event_open": (298, 241),
    "userfaultfd": (323, 282), "init_module": (175, 105), "finit_module": (313, 273),
    "delete_module": (176, 106), "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "reboot": (169, 142), "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "syslog": (103, 116), "vhangup": (153, 58), "quotactl": (179, 60), "iopl": (172, None),
    "ioperm": (173, None), "sethostname": (170, 161), "setdomainname": (171, 162),
    "settimeofday": (164, 170), "clock_settime": (227, 112), "adjtimex": (159, 171),
    "clock_adjtime": (305, 266),
}
# machine -> (AUDIT_ARCH value, column in DENIED_SYSCALLS)
SECCOMP_ARCHES = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]]:
    """A classic-BPF seccomp filter: other architectures die, denied calls get EPERM, the rest run."""
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    allow, deny, kill = 0x7FFF0000, 0x00050000 | 1, 0x80000000  # SECCOMP_RET_ALLOW, ERRNO(EPERM), KILL_PROCESS
    arch, column = SECCOMP_ARCHES[machine]
    numbers = sorted({n[column] for n in DENIED_SYSCALLS.values() if n[column] is not None})
    checks: list[tuple[int, int]] = [(jeq, nr) for nr in numbers]
    if machine == "x86_64":
        checks.insert(0, (jge, 0x40000000))  # the x32 ABI: a second numbering, refused whole
    program = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld_abs, 0, 0, 0)]
    for index, (code, value) in enumerate(checks):
        program.append((code, len(checks) - index, 0, value))  # jump over the rest and ALLOW to DENY
    program += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return program


def install_seccomp(ctypes: Any) -> bool:
    """Installs the filter; False on systems without it (not Linux, another architecture)."""
    machine = os.uname().machine
    if sys.platform != "linux" or machine not in SECCOMP_ARCHES:
        return False

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    program = seccomp_program(machine)
    filters = (SockFilter * len(program))(*[SockFilter(*instruction) for instruction in program])
    fprog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    return True


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def _open_descriptors(limit: int) -> list[int]:
    found = []
    for fd in range(limit):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


def apply_limits(config: CellConfig) -> dict:
    """Locks the process down; raises when a limit cannot be set (the host then runs nothing)."""
    import ctypes  # loaded now: once locked, nothing more can be loaded
    import resource

    try:  # Python 3.14 loads this part of ctypes lazily, on the first Structure
        import ctypes._layout  # noqa: F401
    except ImportError:
        pass

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    baseline = _vm_size()
    ceiling = baseline + config.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    # No new descriptors: fill every hole below the highest open one, then cap at it.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_fds = _open_descriptors(min(soft, 4096))
    top = max(open_fds)
    for fd in range(top):
        if fd not in open_fds:
            os.open(os.devnull, os.O_RDONLY)
    resource.setrlimit(resource.RLIMIT_NOFILE, (top + 1, top + 1))
    seccomp = install_seccomp(ctypes)
    try:
        probe = os.open(os.devnull, os.O_RDONLY)
    except OSError:
        pass
    else:
        os.close(probe)
        raise OSError("the descriptor limit did not take effect")
    return {"memory_ceiling": ceiling, "descriptors": top + 1, "seccomp": seccomp}


def set_cpu_budget(seconds: int) -> None:
    """The CPU the next cell may use: SIGXCPU (fatal) past it."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(math.ceil(used)) + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# --- the worker ------------------------------------------------------------------------------

WARM_UP = """
import math
import json
values = [math.sqrt(i) for i in range(4)]
text = '{0:.2f} {1}'.format(values[1], json.dumps({'a': [1, 2]}))
print(text, f'{values!r}')
def twice(x):
    return 2 * x
class Point:
    pass
p = Point()
p.x = twice(1)
try:
    {}['missing']
except KeyError as exc:
    message = str(exc)
"""

WARM_UP_NUMPY = """
a = np.arange(6.0).reshape(2, 3)
b = a @ a.T + np.linalg.inv(np.eye(2)) + np.linalg.norm(a)
c = np.random.default_rng(0).random(3)
d = np.fft.rfft(c)
print(a, b, repr(c), d.real.sum(), np.float64(1.0) / np.float64(0.0), np.mean(a, axis=0))
"""


class Worker:
    def __init__(self, channel: Channel, init: dict):
        self.channel = channel
        self.config = CellConfig.from_dict(init["config"])
        self.tool_names: list[str] = sorted(str(n) for n in init.get("tool_names") or [])
        self.output: CellOutput | None = None
        self.submitted = False
        modules, missing = {}, []
        for name in self.config.modules:
            try:
                modules[name] = __import__(name, fromlist=["_"])
            except ImportError:
                missing.append(name)
        self.missing = missing
        if "numpy" in modules and int(modules["numpy"].__version__.split(".")[0]) >= 2:
            # numpy 2 prints scalars as np.float64(1.5); the model reads the plain number, as on numpy 1.
            modules["numpy"].set_printoptions(legacy="1.25")
        self.runtime = CellRuntime(self.config, modules)
        self.preload = {alias: modules[m] for alias, m in self.config.preload.items() if m in modules}
        sys.stdout = sys.stderr = _Route(self)
        warnings.simplefilter("default")
        warnings.showwarning = self._show_warning
        self.namespace = self._fresh_namespace()
        self._warm_up()
        self.namespace = self._fresh_namespace()
        self._reserve: bytearray | None = bytearray(RESERVE_BYTES)
        self.runtime.internal_imports = False
        self.limits = apply_limits(self.config)

    def _fresh_namespace(self) -> dict:
        namespace: dict[str, Any] = dict(self.preload)
        return namespace

    def _warm_up(self) -> None:
        """Runs a cell before the lock-down, so lazy imports happen while files can still be opened."""
        cells = [WARM_UP] + ([WARM_UP_NUMPY] if "np" in self.preload else [])
        for cell in cells:
            result = self.run({"code": cell, "selection": []}, cpu_limit=False)
            if result["error"] is not None:
                raise RuntimeError(f"warm-up cell failed: {result['error']['message']}")

    def _show_warning(self, message: Any, category: type, filename: str, lineno: int,
                      file: Any = None, line: Any = None) -> None:
        if self.output is not None:
            where = f" (line {lineno})" if filename == CELL_FILENAME else ""
            self.output.write(f"{category.__name__}: {message}{where}\n")

    # -- the bridge ---------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        frame_size = len(encode_frame(message))
        if frame_size > self.config.max_message_bytes:
            raise ValueError(f"message of {frame_size} bytes is over the limit of {self.config.max_message_bytes}")
        self.channel.write(message)

    def call_tool(self, name: str, arguments: dict) -> dict:
        self._send({"op": "tool", "name": name, "args": jsonable(arguments, strict=True)})
        reply = self.channel.read()
        if reply is None or reply.get("op") != "tool_result":
            os._exit(3)  # the host is gone or confused: nothing sensible is left to do
        envelope = reply.get("envelope") or {}
        if envelope.get("ok"):
            return envelope.get("result")
        raise ToolFailed(name, envelope.get("error") or {})

    def submit(self, answer: Any, findings: Any) -> None:
        if not self.submitted:
            self._send({"op": "submit", "answer": jsonable(answer), "findings": jsonable(findings)})
            self.submitted = True
        raise Submitted()

    # -- running a cell ---------------------------------------------------------------------

    def serve(self, message: dict) -> dict:
        """run(), and a report even when the worker itself runs out of memory around the cell."""
        try:
            return self.run(message)
        except MemoryError:
            self._reserve = None  # room to build the report
            self.output = None
            return {"op": "result", "stdout": "", "value": None, "error": {
                "kind": "memory", "line": None, "message": self._memory_text()}}
        finally:
            if self._reserve is None:
                try:
                    self._reserve = bytearray(RESERVE_BYTES)
                except MemoryError:
                    pass

    def _memory_text(self) -> str:
        return (f"MemoryError: the cell needed more than its {self.config.memory_mb} MB memory budget "
                "(variables from earlier cells still hold their memory: `del` large ones)")

    def run(self, message: dict, cpu_limit: bool = True) -> dict:
        code = message.get("code", "")
        output = self.output = CellOutput(self.config.output_chars, self.config.output_stop_chars)
        self.submitted = False
        value: str | None = None
        error: dict | None = None
        try:
            compiled = compile_cell(code, self.config)
        except CellRefused as refused:
            return self._result(output, None, refused.as_error())
        namespace = self.namespace
        namespace.update(self.runtime.hooks(lambda _getattr=None: Printer(output)))
        namespace.update({
            "_print": Printer(output),
            "tools": ToolBox(),
            "doc": DocView(),
            "submit": submit,
            "ToolFailed": ToolFailed,
            "selection": jsonable(message.get("selection") or []),
        })
        if cpu_limit:
            set_cpu_budget(self.config.cpu_s)
        try:
            exec(compiled.body, namespace)
            if compiled.last is not None:
                result = eval(compiled.last, namespace)
                if result is not None:
                    value = self._repr(result)
        except Submitted:
            pass
        except OutputStopped:
            error = {"kind": "output", "line": None, "message":
                     f"the cell printed more than {self.config.output_stop_chars} characters and was stopped"}
        except BaseException as exc:  # everything a cell raises becomes its error report
            if isinstance(exc, MemoryError):
                self._reserve = None
            error = self._error(exc, code)
        return self._result(output, value, error)

    def _result(self, output: CellOutput, value: str | None, error: dict | None) -> dict:
        self.output = None
        return {"op": "result", "stdout": output.text(), "value": value, "error": error}

    def _repr(self, value: Any) -> str:
        try:
            text = repr(value)
        except Exception as exc:  # a broken repr must not lose the rest of the result
            return f"<repr failed: {type(exc).__name__}: {exc}>"
        limit = self.config.value_chars
        if len(text) > limit:
            text = text[:limit] + f"... [{len(text) - limit} more characters]"
        return text

    def _error(self, exc: BaseException, code: str) -> dict:
        line = None
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == CELL_FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
        if isinstance(exc, MemoryError):
            kind, text = "memory", self._memory_text()
        else:
            kind = "policy" if isinstance(exc, CellPolicyError) else "runtime"
            try:
                detail = str(exc)
            except Exception:  # an exception whose str() fails still has a type
                detail = ""
            text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return {"kind": kind, "line": line, "message": describe_problem(code, line, text)}


_WORKER: Worker = None  # type: ignore[assignment]  # set by main(); reached only by worker code


def _private_descriptors() -> Channel:
    """Moves the host's pipes off 0/1 so stray prints from C or Python cannot corrupt the frames."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    return Channel(read_fd, write_fd)


def main() -> int:
    global _WORKER
    channel = _private_descriptors()
    init = channel.read()
    if init is None or init.get("op") != "init":
        return 2
    try:
        _WORKER = Worker(channel, init)
    except Exception as exc:  # reported to the host, which then runs nothing
        channel.write({"op": "failed", "message": f"{type(exc).__name__}: {exc}"})
        return 2
    channel.write({"op": "ready", "missing": _WORKER.missing, "limits": _WORKER.limits, "pid": os.getpid()})
    while True:
        message = channel.read()
        if message is None:
            return 0
        if message.get("op") != "run":
            return 3
        channel.write(_WORKER.serve(message))


if __name__ == "__main__":
    sys.exit(main())
