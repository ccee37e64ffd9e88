"""The worker process of a code-cell kernel: runs checked cells inside OS isolation layers.

The host (cell_kernel.py) starts this as a separate Python process with a clean
environment, no inherited descriptors and an empty scratch directory. The
policy (code_cell.py) is not a sandbox on its own, so the worker assumes a cell
may get past it and locks itself down before the first cell, each layer on its
own enough to stop an escape:

* its own network namespace (no interfaces; a user namespace too when not root),
* Landlock: nothing on the file system readable, writable or executable but
  the scratch directory, and no TCP bind/connect,
* root dropped to nobody (when started as root),
* rlimits: memory, CPU per cell, no child processes, no file growth, no new
  descriptors, no core files,
* seccomp: no exec, fork, sockets, opening files, signals to others, ptrace,
  mounts or namespaces.

Layers that the system lacks are reported (the ``ready`` frame's
``isolation``); without the required ones the worker refuses to run any cell.
It talks to the host only in length-prefixed JSON frames on two private
descriptors — never pickle, so a compromised worker cannot run code in the
host. Tool calls, doc reads and submit() travel over the same frames; the
worker never imports FreeCAD.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .code_cell import (
    CELL_FILENAME,
    CellConfig,
    CellPolicyError,
    CellRefused,
    CellRuntime,
    compile_cell,
    describe_problem,
    safe_repr,
    scrub_addresses,
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
    return safe_repr(value)  # never an object address


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


def _is_devnull(status: os.stat_result, devnull: int) -> bool:
    return stat.S_ISCHR(status.st_mode) and status.st_rdev == devnull


def _own_read_only_file(fd: int, status: os.stat_result) -> bool:
    """A library's own read-only file (libffi keeps its .so open): close-on-exec, so opened in
    this process after the inherited ones were closed, and nothing can be written through it."""
    import fcntl  # the worker runs on Linux only

    return (stat.S_ISREG(status.st_mode) and not os.get_inheritable(fd)
            and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY)


def _open_descriptors(limit: int) -> list[int]:
    found = []
    for fd in range(limit):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


# --- isolation layers ------------------------------------------------------------------------

# Without any one of these the worker runs no cell at all.
REQUIRED_LAYERS = ("rlimits", "seccomp", "environment", "descriptors")
# Depth where the system has them: reported when missing, required only if code_cell.toml says so.
OPTIONAL_LAYERS = ("network_namespace", "landlock", "landlock_network", "unprivileged")
# What keeps a cell off the network and off the file system, strongest first.
COVERS = {
    "network": ("network_namespace", "landlock_network", "seccomp"),
    "filesystem": ("landlock", "seccomp", "unprivileged", "rlimits"),
}
# The test hook may leave out these (to prove the others alone) or pretend they do not exist.
TEST_SKIPPABLE = frozenset({"seccomp", "landlock", "network_namespace", "unprivileged", "nofile"})
TEST_MISSABLE = frozenset({"rlimits", "seccomp", "landlock", "network_namespace", "unprivileged"})
# The whole environment a worker gets from the host; anything else is removed on arrival.
WORKER_ENV_KEYS = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL",
                   "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
NOBODY = 65534
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
# landlock_create_ruleset, landlock_add_rule, landlock_restrict_self: the same on x86_64 and aarch64.
LANDLOCK_SYSCALLS = (444, 445, 446)
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1, 2, 4, 8
_LL_REMOVE_DIR, _LL_REMOVE_FILE, _LL_MAKE_DIR, _LL_MAKE_REG = 16, 32, 128, 256
_LL_REFER, _LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15


def enter_network_namespace(ctypes: Any, uid: int) -> str:
    """A network namespace of its own: no interfaces but a loopback that is down, so nothing answers.

    Root needs only CLONE_NEWNET; anyone else needs a user namespace around it, which some
    systems forbid (raises OSError with the reason). Must run before any thread starts.
    """
    if sys.platform != "linux":
        raise OSError(f"network namespaces are Linux-only (this is {sys.platform})")
    flags, names = (CLONE_NEWNET, "CLONE_NEWNET") if uid == 0 else (CLONE_NEWUSER | CLONE_NEWNET, "CLONE_NEWUSER|CLONE_NEWNET")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare({names}) was refused: {os.strerror(error)}")
    where = "" if uid == 0 else " inside a user namespace of its own"
    return f"own network namespace{where}: no interfaces, loopback down"


def install_landlock(ctypes: Any, scratch: int) -> int:
    """Landlock (Linux 5.13+, needs no privileges): the file system becomes invisible except the
    directory open as ``scratch`` (an O_PATH descriptor, opened while its parents were reachable).

    Reading, writing, running and making anything outside the scratch directory is
    refused; from ABI 4 TCP bind/connect too, from ABI 6 signals to other processes and
    abstract Unix sockets. Returns the ABI; raises OSError with the reason when absent.
    Needs no_new_privs set first.
    """
    if sys.platform != "linux":
        raise OSError(f"Landlock is Linux-only (this is {sys.platform})")
    libc = ctypes.CDLL(None, use_errno=True)
    syscall, long = libc.syscall, ctypes.c_long
    syscall.restype = ctypes.c_long
    create, add_rule, restrict = LANDLOCK_SYSCALLS
    abi = syscall(long(create), long(0), long(0), long(1))  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        error = ctypes.get_errno()
        raise OSError(error, f"Landlock is not available in this kernel: {os.strerror(error)}")

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):  # the kernel reads the first 12 bytes (its struct is packed)
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    handled = (1 << 13) - 1
    handled |= (_LL_REFER if abi >= 2 else 0) | (_LL_TRUNCATE if abi >= 3 else 0) | (_LL_IOCTL_DEV if abi >= 5 else 0)
    scratch_rights = (_LL_READ_FILE | _LL_READ_DIR | _LL_WRITE_FILE | _LL_REMOVE_DIR | _LL_REMOVE_FILE
                      | _LL_MAKE_DIR | _LL_MAKE_REG | _LL_TRUNCATE) & handled
    attr = RulesetAttr(handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)  # TCP bind+connect; signals+sockets
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = syscall(long(create), long(ctypes.addressof(attr)), long(size), long(0))
    if ruleset < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"landlock_create_ruleset failed: {os.strerror(error)}")
    try:
        rule = PathBeneath(scratch_rights, scratch)
        if syscall(long(add_rule), long(ruleset), long(1), long(ctypes.addressof(rule)), long(0)) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"landlock_add_rule failed: {os.strerror(error)}")
        if syscall(long(restrict), long(ruleset), long(0)) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"landlock_restrict_self failed: {os.strerror(error)}")
    finally:
        os.close(ruleset)
    return int(abi)


def drop_root(scratch: str) -> str:
    """Root becomes nobody (no groups, no capabilities): file permissions and RLIMIT_NPROC apply again."""
    os.chown(scratch, NOBODY, NOBODY)  # its own scratch directory stays its own
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    if os.getresuid() != (NOBODY,) * 3 or os.getgroups():
        raise OSError("root could not be dropped")
    return f"root dropped to uid/gid {NOBODY} (nobody): no groups, no capabilities"


def clean_environment() -> str:
    """Removes whatever the host's environment might have added (keys, tokens, proxies)."""
    for key in list(os.environ):
        if key not in WORKER_ENV_KEYS:
            del os.environ[key]
    return "only " + ", ".join(sorted(os.environ))


def close_inherited() -> None:
    """Closes every descriptor but 0-2, whatever the process that started us left open."""
    os.closerange(3, 1 << 16)


class Isolation:
    """The layers in force, the ones this system lacks (with why) and the ones a test left out."""

    def __init__(self, skip: frozenset[str] = frozenset(), missing: frozenset[str] = frozenset()):
        self.skip = skip
        self.missing = missing
        self.layers: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}

    def wanted(self, name: str) -> bool:
        """Whether to set up ``name`` (not skipped, not pretended absent)."""
        if name in self.missing:
            self.unavailable[name] = "not available (simulated by the test hook)"
            return False
        return name not in self.skip

    def gaps(self, required: Iterable[str] = REQUIRED_LAYERS) -> dict[str, str]:
        """Required layers not in force (a skipped one is a test's own choice)."""
        return {name: self.unavailable.get(name, "not set up") for name in required
                if name not in self.layers and name not in self.skip}

    def report(self) -> dict:
        covers = {concern: [n for n in names if n in self.layers] for concern, names in COVERS.items()}
        return {"layers": dict(self.layers), "unavailable": dict(self.unavailable),
                "skipped": sorted(self.skip), **covers}


def apply_limits(config: CellConfig, isolation: Isolation | None = None, scratch: str | None = None,
                 uid: int | None = None, channel_fds: Iterable[int] = ()) -> dict:
    """Locks the process down, layer by layer, into ``isolation``; raises when a set-up step fails
    half-way (the host then runs nothing). Returns the old ``limits`` summary."""
    import ctypes  # loaded now: once locked, nothing more can be loaded
    import resource

    try:  # Python 3.14 loads this part of ctypes lazily, on the first Structure
        import ctypes._layout  # noqa: F401
    except ImportError:
        pass

    isolation = isolation if isolation is not None else Isolation()
    scratch = scratch or os.getcwd()
    uid = os.geteuid() if uid is None else uid
    devnull = os.stat(os.devnull).st_rdev
    ceiling = None
    if isolation.wanted("rlimits"):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        baseline = _vm_size()
        ceiling = baseline + config.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))

    # Held open across the privilege drop: nobody may not be able to reach the folder by its path.
    scratch_fd = os.open(scratch, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) if sys.platform == "linux" else -1
    if uid != 0:
        isolation.layers["unprivileged"] = f"runs as uid {uid}, not root"
    elif isolation.wanted("unprivileged"):
        try:
            isolation.layers["unprivileged"] = drop_root(scratch)
        except OSError as exc:
            isolation.unavailable["unprivileged"] = f"root could not be dropped: {exc}"
    nproc_note = "" if "unprivileged" in isolation.layers else " (not enforced: the worker is root)"
    if ceiling is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))

    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: Landlock and seccomp need it
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if isolation.wanted("landlock"):
        try:
            abi = install_landlock(ctypes, scratch_fd)
        except OSError as exc:
            isolation.unavailable["landlock"] = exc.strerror if isinstance(exc.strerror, str) else str(exc)
            isolation.unavailable["landlock_network"] = "needs Landlock"
        else:
            isolation.layers["landlock"] = (f"Landlock ABI {abi}: nothing outside the scratch directory "
                                            "can be read, written, made or run")
            if abi >= 4:
                isolation.layers["landlock_network"] = f"Landlock ABI {abi}: no TCP bind or connect"
            else:
                isolation.unavailable["landlock_network"] = f"Landlock ABI {abi} has no network rules (needs 4)"
    if scratch_fd >= 0:
        os.close(scratch_fd)

    # Descriptors: only the host's two pipes and /dev/null may be open; then no new ones at all.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_fds = _open_descriptors(min(soft, 4096))
    channel = set(channel_fds)
    own = [fd for fd in open_fds if fd not in channel and _own_read_only_file(fd, os.fstat(fd))]
    strays = [fd for fd in open_fds if fd not in channel and fd not in own and not _is_devnull(os.fstat(fd), devnull)]
    top = max(open_fds)
    if isolation.wanted("nofile"):
        for fd in range(top):
            if fd not in open_fds:
                os.open(os.devnull, os.O_RDONLY)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top + 1, top + 1))
    if strays:
        isolation.unavailable["descriptors"] = f"descriptors {strays} are open beside the host's pipes"
    else:
        libraries = f", {len(own)} read-only library file(s) of its own" if own else ""
        isolation.layers["descriptors"] = (f"fds 0-{top}: the host's two pipes, /dev/null{libraries}; nothing inherited"
                                           + ("" if "nofile" in isolation.skip else "; no new ones (RLIMIT_NOFILE)"))
    if ceiling is not None:
        isolation.layers["rlimits"] = (
            f"memory +{config.memory_mb} MB (address space {ceiling >> 20} MB), CPU {config.cpu_s} s per cell, "
            f"file size 0, processes 0{nproc_note}, descriptors {top + 1}, no core files")

    seccomp = False
    if isolation.wanted("seccomp"):
        try:
            seccomp = install_seccomp(ctypes)
        except OSError as exc:
            isolation.unavailable["seccomp"] = str(exc)
        else:
            if seccomp:
                isolation.layers["seccomp"] = (f"{len(DENIED_SYSCALLS)} system calls refused: exec, fork, sockets, "
                                               "opening files, signals to others, ptrace, mounts, namespaces")
            else:
                isolation.unavailable["seccomp"] = f"no seccomp filter for {sys.platform} {os.uname().machine}"
    if "nofile" not in isolation.skip:
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


class ModuleState:
    """numpy's print and floating-point settings and decimal's context as the worker set them up.

    They are process-wide, so a cell's np.set_printoptions / np.seterrcall / decimal
    precision would otherwise leak into every later cell: each cell starts from these.
    """

    def __init__(self, modules: dict[str, Any]):
        self.numpy = modules.get("numpy")
        self.decimal = modules.get("decimal")
        if self.numpy is not None:
            self.print_options = dict(self.numpy.get_printoptions())
            self.errors = dict(self.numpy.geterr())
            self.error_call = self.numpy.geterrcall()
        if self.decimal is not None:
            self.context = self.decimal.getcontext().copy()

    def restore(self) -> None:
        if self.numpy is not None:
            self.numpy.set_printoptions(**self.print_options)
            self.numpy.seterr(**self.errors)
            self.numpy.seterrcall(self.error_call)
        if self.decimal is not None:
            self.decimal.setcontext(self.context.copy())


class Worker:
    def __init__(self, channel: Channel, init: dict, isolation: Isolation | None = None,
                 uid: int | None = None, raw: bool = False):
        self.channel = channel
        self.config = CellConfig.from_dict(init["config"])
        self.tool_names: list[str] = sorted(str(n) for n in init.get("tool_names") or [])
        self.output: CellOutput | None = None
        self.submitted = False
        self.raw = raw  # the test hook: plain Python past the policy (never set from a cell)
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
        self.module_state = ModuleState(modules)
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
        self.isolation = isolation if isolation is not None else Isolation()
        self.scratch = os.getcwd()
        self.limits = apply_limits(self.config, self.isolation, self.scratch, uid,
                                   (channel.read_fd, channel.write_fd))

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
            self.output.write(f"{category.__name__}: {scrub_addresses(str(message))}{where}\n")

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
        if message.get("raw"):
            return self.run_raw(message)
        code = message.get("code", "")
        output = self.output = CellOutput(self.config.output_chars, self.config.output_stop_chars)
        self.submitted = False
        self.module_state.restore()
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

    def run_raw(self, message: dict) -> dict:
        """The test hook: plain Python with every builtin, past the policy, to prove that the OS
        layers alone stop an escape. Refused unless the host enabled it at start-up."""
        output = self.output = CellOutput(self.config.output_chars, self.config.output_stop_chars)
        if not self.raw:
            return self._result(output, None, {"kind": "policy", "line": None,
                                               "message": "raw code is not accepted by this worker"})
        namespace = {"__name__": "__raw__", "channel": self.channel, "scratch": self.scratch,
                     "isolation": self.isolation.report(), "seq": message.get("seq")}
        error = None
        set_cpu_budget(self.config.cpu_s)
        try:
            exec(compile(str(message.get("code", "")), "<raw>", "exec"), namespace)
        except BaseException as exc:  # reported like a cell's error
            error = {"kind": "runtime", "line": None, "message": f"{type(exc).__name__}: {exc}"}
        return self._result(output, None, error)

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


def _test_options(init: dict) -> tuple[bool, frozenset[str], frozenset[str], list[str]]:
    """The host's test-hook options (raw code, layers to leave out or pretend absent, modules to load)."""
    test = init.get("test")
    if not isinstance(test, dict):
        return False, frozenset(), frozenset(), []
    skip = frozenset(test.get("skip") or ()) & TEST_SKIPPABLE
    missing = frozenset(test.get("missing") or ()) & TEST_MISSABLE
    return bool(test.get("raw")), skip, missing, [str(m) for m in test.get("imports") or []]


def isolation_failure(gaps: dict[str, str]) -> str:
    """Plain words for a worker that will not run cells because layers are missing."""
    missing = "; ".join(f"{name}: {reason}" for name, reason in gaps.items())
    return f"isolation layers missing ({missing})"


def main() -> int:
    global _WORKER
    close_inherited()  # first: what libraries open from here on is the worker's own
    import ctypes  # before any lock-down step: nothing can be loaded afterwards

    uid = os.geteuid()
    channel = _private_descriptors()
    init = channel.read()
    if not isinstance(init, dict) or init.get("op") != "init":
        return 2
    raw, skip, missing, imports = _test_options(init)
    isolation = Isolation(skip, missing)
    try:
        isolation.layers["environment"] = clean_environment()
        if isolation.wanted("network_namespace"):  # first: a user namespace needs a single thread
            try:
                isolation.layers["network_namespace"] = enter_network_namespace(ctypes, uid)
            except OSError as exc:
                isolation.unavailable["network_namespace"] = str(exc.strerror or exc)
        for name in imports:
            __import__(name)
        _WORKER = Worker(channel, init, isolation, uid, raw)
    except Exception as exc:  # reported to the host, which then runs nothing
        channel.write({"op": "failed", "message": f"{type(exc).__name__}: {exc}"})
        return 2
    gaps = isolation.gaps()
    if gaps:
        channel.write({"op": "failed", "message": isolation_failure(gaps), "isolation": isolation.report()})
        return 2
    channel.write({"op": "ready", "missing": _WORKER.missing, "limits": _WORKER.limits, "pid": os.getpid(),
                   "isolation": isolation.report()})
    while True:
        message = channel.read()
        if message is None:
            return 0
        if message.get("op") != "run":
            return 3
        reply = _WORKER.serve(message)
        reply["seq"] = message.get("seq")  # which request this answers
        channel.write(reply)


if __name__ == "__main__":
    sys.exit(main())
