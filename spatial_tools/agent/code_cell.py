"""The code-cell policy: what a cell may say (checked at compile time by RestrictedPython)
and the guards it runs with (checked at run time in the worker).

Two layers: RestrictedPython's transformer plus our additions refuse a cell
before it runs, with a reason that quotes the offending line; the runtime
guards (attribute, import, write, print, class creation) refuse what only shows
up at run time (``getattr(x, '__cl' + 'ass__')``, ``np.load`` reached through a
variable). Neither is the last line: the worker process also runs under OS
limits (cell_worker.py), so a hole in the policy still cannot write a file,
open a socket or read the host's environment.
"""

from __future__ import annotations

import _string  # the field-name splitter string.Formatter itself uses
import ast
import builtins
import collections
import copy
import functools
import importlib
import operator
import re
import string
import sys
import tomllib
import types
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import (
    ALLOWED_FUNC_NAMES,
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

from freecad_spatial import RESOURCES

CONFIG_FILE = RESOURCES / "code_cell.toml"
CELL_FILENAME = "<cell>"

# Names a cell may not use, with the reason the model is given. Fixed: not data.
FORBIDDEN_NAMES = {
    "open": "cells cannot read or write files",
    "eval": "cells cannot run code built from strings",
    "exec": "cells cannot run code built from strings",
    "compile": "cells cannot run code built from strings",
    "globals": "cells cannot reach namespaces as dictionaries",
    "locals": "cells cannot reach namespaces as dictionaries",
    "vars": "cells cannot reach namespaces as dictionaries",
    "breakpoint": "cells run without a console",
    "input": "cells run without a console",
    "help": "cells run without a console",
    "exit": "a cell ends when its code ends, or with submit(answer)",
    "quit": "a cell ends when its code ends, or with submit(answer)",
    "SystemExit": "a cell ends when its code ends, or with submit(answer)",
    "KeyboardInterrupt": "cells raise and catch Exception and its subclasses only",
    "BaseException": "cells raise and catch Exception and its subclasses only",
    "GeneratorExit": "cells raise and catch Exception and its subclasses only",
    "setattr": "assign attributes as obj.name = value",
    "delattr": "delete attributes as del obj.name",
    "memoryview": "raw memory views are not available",
    "super": "super() is not available in cells",
    "classmethod": "class and static methods are not available",
    "staticmethod": "class and static methods are not available",
}

# Builtins a cell gets (besides the guarded getattr/hasattr/type/__import__). Fixed: not data.
SAFE_BUILTINS = [
    "None", "False", "True", "Ellipsis", "NotImplemented",
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "complex", "dict", "dir", "divmod", "enumerate", "filter", "float", "format", "frozenset",
    "hash", "hex", "id", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max",
    "min", "next", "object", "oct", "ord", "pow", "property", "range", "repr", "reversed",
    "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
    "Exception", "ArithmeticError", "AssertionError", "AttributeError", "BufferError",
    "EOFError", "FloatingPointError", "ImportError", "IndexError", "KeyError", "LookupError",
    "MemoryError", "ModuleNotFoundError", "NameError", "NotImplementedError", "OSError",
    "OverflowError", "RecursionError", "ReferenceError", "RuntimeError", "StopIteration",
    "TypeError", "UnboundLocalError", "UnicodeError", "UnicodeDecodeError",
    "UnicodeEncodeError", "ValueError", "ZeroDivisionError", "Warning", "UserWarning",
    "RuntimeWarning", "DeprecationWarning",
]

FORMAT_METHODS = frozenset({"format", "format_map"})
FORMATTER_METHODS = frozenset({"vformat", "get_field", "get_value", "parse", "convert_field"})
GENERATOR_METHODS = frozenset({"send", "throw", "close"})
# Python 3.13 adds __firstlineno__ and __static_attributes__ to every class body.
CLASS_BODY_DUNDERS = frozenset({"__module__", "__qualname__", "__doc__", "__classcell__",
                                "__firstlineno__", "__static_attributes__"})
# Modules whose functions must not surface under another module's public name.
DANGEROUS_HOMES = frozenset({
    "os", "posix", "nt", "sys", "io", "_io", "subprocess", "socket", "_socket", "ctypes",
    "_ctypes", "importlib", "shutil", "pickle", "_pickle", "marshal", "signal", "_signal",
    "threading", "_thread", "tempfile", "pathlib", "inspect", "gc", "code", "codeop", "pty",
})
# numpy classes whose constructors address raw memory without bounds checks (a negative
# offset reads and writes outside the buffer; an object dtype over bytes forges pointers).
# Cells get a stand-in: isinstance works, construction without these arguments works.
# name -> (positional arguments allowed, keyword arguments refused)
RAW_MEMORY_CONSTRUCTORS = {
    "numpy.ndarray": (2, frozenset({"buffer", "offset", "strides", "order"})),
    "numpy.recarray": (2, frozenset({"buf", "offset", "strides"})),
    "numpy.chararray": (3, frozenset({"buffer", "offset", "strides"})),
}
# ndarray.resize(refcheck=False) frees memory that other views still point into.
RAW_MEMORY_METHODS = frozenset({"resize"})
_DANGEROUS_BUILTINS = (
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "__import__", "input", "breakpoint", "help", "exit", "quit", "memoryview", "type",
)


# --- configuration -----------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRule:
    """Which public attributes of one importable module a cell may reach."""

    name: str
    allow_all: bool
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()

    def permits(self, attribute: str) -> bool:
        if attribute in self.deny:
            return False
        return self.allow_all or attribute in self.allow


@dataclass(frozen=True)
class CellConfig:
    """resources/code_cell.toml, checked: a typo must not silently widen or break the sandbox."""

    time_s: float
    cpu_s: int
    memory_mb: int
    stack_mb: int
    output_chars: int
    output_stop_chars: int
    value_chars: int
    max_tool_calls: int
    start_timeout_s: float
    max_message_bytes: int
    python: str
    preload: Mapping[str, str]
    denied_attributes: frozenset[str]
    modules: Mapping[str, ModuleRule] = field(default_factory=dict)

    BUDGET_KEYS = ("time_s", "cpu_s", "memory_mb", "stack_mb", "output_chars", "output_stop_chars",
                   "value_chars", "max_tool_calls", "start_timeout_s", "max_message_bytes")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellConfig:
        unknown = set(data) - {"budget", "worker", "preload", "attributes", "modules"}
        if unknown:
            raise ValueError(f"code_cell config: unknown sections {sorted(unknown)}")
        budget = dict(data.get("budget", {}))
        extra = set(budget) - set(cls.BUDGET_KEYS)
        missing = set(cls.BUDGET_KEYS) - set(budget)
        if extra or missing:
            raise ValueError(f"code_cell config [budget]: unknown {sorted(extra)}, missing {sorted(missing)}")
        for key in cls.BUDGET_KEYS:
            value = budget[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"code_cell config [budget] {key} must be a positive number, not {value!r}")
        if budget["output_stop_chars"] < budget["output_chars"]:
            raise ValueError("code_cell config [budget] output_stop_chars is below output_chars")
        modules = {}
        for name, rule in dict(data.get("modules", {})).items():
            allow = list(rule.get("allow", []))
            if not allow or not all(isinstance(a, str) for a in allow):
                raise ValueError(f"code_cell config [modules.{name}] needs a non-empty allow list")
            if any(part.startswith("_") for part in name.split(".")):
                raise ValueError(f"code_cell config: module '{name}' is private")
            modules[name] = ModuleRule(
                name=name,
                allow_all="*" in allow,
                allow=frozenset(a for a in allow if a != "*" and not a.startswith("_")),
                deny=frozenset(rule.get("deny", [])),
            )
        preload = dict(data.get("preload", {}))
        for alias, module in preload.items():
            if module not in modules or alias.startswith("_"):
                raise ValueError(f"code_cell config [preload] {alias} = {module!r}: not an allowed module")
        return cls(
            time_s=float(budget["time_s"]),
            cpu_s=int(budget["cpu_s"]),
            memory_mb=int(budget["memory_mb"]),
            stack_mb=int(budget["stack_mb"]),
            output_chars=int(budget["output_chars"]),
            output_stop_chars=int(budget["output_stop_chars"]),
            value_chars=int(budget["value_chars"]),
            max_tool_calls=int(budget["max_tool_calls"]),
            start_timeout_s=float(budget["start_timeout_s"]),
            max_message_bytes=int(budget["max_message_bytes"]),
            python=str(data.get("worker", {}).get("python", "")),
            preload=preload,
            denied_attributes=frozenset(data.get("attributes", {}).get("deny", [])),
            modules=modules,
        )

    def to_dict(self) -> dict:
        """The same structure as the TOML file, for the worker's init message."""
        modules = {}
        for name, rule in self.modules.items():
            modules[name] = {"allow": ["*"] if rule.allow_all else sorted(rule.allow), "deny": sorted(rule.deny)}
        return {
            "budget": {key: getattr(self, key) for key in self.BUDGET_KEYS},
            "worker": {"python": self.python},
            "preload": dict(self.preload),
            "attributes": {"deny": sorted(self.denied_attributes)},
            "modules": modules,
        }

    def with_budget(self, **changes: Any) -> CellConfig:
        """A copy with other budgets or another worker python (tests use short budgets)."""
        bad = set(changes) - set(self.BUDGET_KEYS) - {"python"}
        if bad:
            raise ValueError(f"not a budget: {sorted(bad)}")
        return replace(self, **changes)


def load_config(path: Path | None = None) -> CellConfig:
    with open(path or CONFIG_FILE, "rb") as fh:
        return CellConfig.from_dict(tomllib.load(fh))


# --- compile time ---------------------------------------------------------------


class CellRefused(Exception):
    """A cell that was not run: kind is 'policy' or 'syntax'; message quotes the line."""

    def __init__(self, kind: str, message: str, line: int | None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line

    def as_error(self) -> dict:
        return {"kind": self.kind, "message": self.message, "line": self.line}


@dataclass
class CompiledCell:
    """A checked cell: its statements, and its last expression when it ends with one."""

    body: types.CodeType
    last: types.CodeType | None


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _jumps_out(statements: list[ast.stmt], in_loop: bool = False) -> ast.stmt | None:
    """The first return/break/continue that would leave a finally block (and so swallow a signal)."""
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return):
            return node
        if isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
            return node
        if isinstance(node, (ast.For, ast.While)):
            found = _jumps_out(node.body, True) or _jumps_out(node.orelse, in_loop)
        else:
            children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]
            found = _jumps_out(children, in_loop)
            for handler in getattr(node, "handlers", []):
                found = found or _jumps_out(handler.body, in_loop)
        if found:
            return found
    return None


class CellTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus ours: imports, forbidden names, exception handlers."""

    config: CellConfig  # set on the per-config subclass
    bound: set[str] = set()

    def _allowed_list(self) -> str:
        return ", ".join(sorted(self.config.modules))

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            if alias.name not in self.config.modules:
                self.error(node, f"import of '{alias.name}' is not allowed (cells may import: {self._allowed_list()})")
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        module = node.module or ""
        if node.level:
            self.error(node, "relative imports are not allowed")
        elif module not in self.config.modules:
            self.error(node, f"import from '{module}' is not allowed (cells may import: {self._allowed_list()})")
        else:
            rule = self.config.modules[module]
            for alias in node.names:
                if alias.name != "*" and not rule.permits(alias.name) and f"{module}.{alias.name}" not in self.config.modules:
                    self.error(node, f"'{module}.{alias.name}' is not available in cells")
        return super().visit_ImportFrom(node)

    def visit_Name(self, node: ast.Name) -> Any:
        reason = FORBIDDEN_NAMES.get(node.id)
        # Loading one is refused unless the cell binds that name itself (a variable called `input`).
        if reason and isinstance(node.ctx, ast.Load) and node.id not in self.bound:
            self.error(node, f"'{node.id}' is not available: {reason}")
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in self.config.denied_attributes:
            self.error(node, f"the attribute '{node.attr}' is not available in cells")
        return super().visit_Attribute(node)

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) + len(node.keywords) != 1:
            self.error(node, "type() takes exactly one argument here; define classes with a class statement")
        return super().visit_Call(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:
            # A bare except catches Exception only, so it cannot swallow the end-of-cell signals.
            node.type = ast.Name("Exception", ast.Load())
            copy_locations(node.type, node)
        return super().visit_ExceptHandler(node)

    def visit_Try(self, node: ast.Try) -> Any:
        jump = _jumps_out(node.finalbody)
        if jump is not None:
            word = type(jump).__name__.lower()
            self.error(jump, f"'{word}' inside a finally block is not allowed (it would swallow errors)")
        return super().visit_Try(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """``counts[k] += 1`` and ``p.x += 1`` (RestrictedPython refuses both) through the guards:

            _tmp0 = counts; _tmp1 = k
            _write_(_tmp0)[_tmp1] = _inplacevar_('+=', _getitem_(_tmp0, _tmp1), 1)
        """
        target = node.target
        if not isinstance(target, (ast.Attribute, ast.Subscript)):
            return super().visit_AugAssign(node)
        if isinstance(target, ast.Attribute):
            probe = ast.Attribute(value=ast.Name("x", ast.Load()), attr=target.attr, ctx=ast.Load())
            copy_locations(probe, target)
            self.visit_Attribute(probe)  # the same name checks as a plain `p.x`
        holder = self.gen_tmp_name()
        statements: list[ast.stmt] = [ast.Assign(targets=[ast.Name(holder, ast.Store())], value=self.visit(target.value))]
        temporaries = [holder]

        def name(identifier: str) -> ast.Name:
            return ast.Name(identifier, ast.Load())

        if isinstance(target, ast.Subscript):
            key = self.gen_tmp_name()
            temporaries.append(key)
            statements.append(ast.Assign(targets=[ast.Name(key, ast.Store())], value=self.visit(target.slice)))
            current = ast.Call(func=name("_getitem_"), args=[name(holder), name(key)], keywords=[])
            store: ast.expr = ast.Subscript(
                value=ast.Call(func=name("_write_"), args=[name(holder)], keywords=[]), slice=name(key), ctx=ast.Store())
        else:
            current = ast.Call(func=name("_getattr_"), args=[name(holder), ast.Constant(target.attr)], keywords=[])
            store = ast.Attribute(
                value=ast.Call(func=name("_write_"), args=[name(holder)], keywords=[]), attr=target.attr, ctx=ast.Store())
        operator_text = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        updated = ast.Call(func=name("_inplacevar_"), args=[operator_text, current, self.visit(node.value)], keywords=[])
        statements.append(ast.Assign(targets=[store], value=updated))
        cleanup = ast.Try(body=statements, handlers=[], orelse=[],
                          finalbody=[ast.Delete(targets=[ast.Name(t, ast.Del()) for t in temporaries])])
        copy_locations(cleanup, node)
        for child in ast.walk(cleanup):
            if "lineno" in child._attributes and not hasattr(child, "lineno"):
                copy_locations(child, node)
        return cleanup

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        self.error(node, "annotated assignments are not allowed; write `x = value`")


def _transformer_for(config: CellConfig, bound: frozenset[str]) -> type[CellTransformer]:
    return type("BoundCellTransformer", (CellTransformer,), {"config": config, "bound": set(bound)})


_LINE_RE = re.compile(r"^Line (\d+|None): (.*)$", re.S)


def _quote(lines: list[str], line: int | None) -> str:
    if line is None or not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    return text if len(text) <= 120 else text[:117] + "..."


def describe_problem(source: str, line: int | None, text: str) -> str:
    quoted = _quote(source.splitlines(), line)
    if line is None:
        return text
    return f"line {line}: `{quoted}` — {text}" if quoted else f"line {line}: {text}"


def _refusal(source: str, raw_errors: list[str]) -> CellRefused:
    parts: list[str] = []
    first: int | None = None
    for raw in raw_errors:
        match = _LINE_RE.match(raw)
        line = int(match.group(1)) if match and match.group(1) != "None" else None
        text = match.group(2) if match else raw
        first = line if first is None else first
        part = describe_problem(source, line, text)
        if part not in parts:
            parts.append(part)
    shown = "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")
    return CellRefused("policy", f"The cell was not run: {shown}", first)


def compile_cell(source: str, config: CellConfig) -> CompiledCell:
    """Checks and compiles one cell; raises CellRefused with the reason and the line."""
    if not isinstance(source, str):
        raise CellRefused("syntax", "The cell must be Python source text", None)
    try:
        tree = ast.parse(source, CELL_FILENAME, "exec")
    except SyntaxError as exc:
        where = describe_problem(source, exc.lineno, f"SyntaxError: {exc.msg}")
        raise CellRefused("syntax", f"The cell was not run: {where}", exc.lineno) from None
    policy = _transformer_for(config, frozenset(_bound_names(tree)))
    body = ast.Module(body=tree.body, type_ignores=[])
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        body = ast.Module(body=tree.body[:-1], type_ignores=[])
        last = ast.Expression(body=copy.deepcopy(tree.body[-1].value))
    result = compile_restricted_exec(body, CELL_FILENAME, policy=policy)
    errors = list(result.errors)
    last_code = None
    if last is not None:
        last_result = compile_restricted_eval(last, CELL_FILENAME, policy=policy)
        errors += list(last_result.errors)
        last_code = last_result.code
    if errors or result.code is None:
        raise _refusal(source, errors or ["Line None: the cell could not be compiled"])
    return CompiledCell(body=result.code, last=last_code)


# --- run time (used in the worker) --------------------------------------------------


class CellPolicyError(Exception):
    """Marks a refusal at run time, so the result reports kind 'policy'."""


class AttributeRefused(CellPolicyError, AttributeError):
    pass


class ImportRefused(CellPolicyError, ImportError):
    pass


class WriteRefused(CellPolicyError, TypeError):
    pass


class CallRefused(CellPolicyError, TypeError):
    pass


def _describe(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module '{obj.__name__}'"
    if isinstance(obj, type):
        return f"class '{obj.__name__}'"
    return f"a {type(obj).__name__} object"


class _GuardedFormatter(string.Formatter):
    """str.format with every attribute in a field (``{0.x}``) going through the cell's getattr."""

    def __init__(self, getattr_: Callable[[Any, str], Any]):
        self._getattr = getattr_

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            obj = self._getattr(obj, key) if is_attribute else operator.getitem(obj, key)
        return obj, first


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


class _ReadOnly:
    """What ``_write_`` hands back for objects a cell may not change."""

    __slots__ = ("_what",)

    def __init__(self, what: str):
        object.__setattr__(self, "_what", what)

    def _refuse(self, *args: Any) -> None:
        raise WriteRefused(
            f"cannot change {self._what}: a cell may change only its own variables, lists, dicts, "
            "sets, numpy arrays and objects of classes it defined"
        )

    __setattr__ = __delattr__ = __setitem__ = __delitem__ = _refuse


class _GuardedClass:
    """Stands in for a class from RAW_MEMORY_CONSTRUCTORS (see there)."""

    __slots__ = ("_cls", "_positional", "_refused")

    def __init__(self, cls: type, positional: int, refused: frozenset[str]):
        self._cls, self._positional, self._refused = cls, positional, refused

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) > self._positional or self._refused & kwargs.keys():
            raise CallRefused(
                f"{self._cls.__name__}() with a buffer, offset or strides is not available in cells; "
                "make arrays with np.array, np.zeros, np.empty or np.frombuffer"
            )
        return self._cls(*args, **kwargs)

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self._cls)

    def __subclasscheck__(self, cls: Any) -> bool:
        return isinstance(cls, type) and issubclass(cls, self._cls)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in RAW_MEMORY_METHODS:
            raise AttributeRefused(f"'{name}' of {self._cls.__name__} is not available in cells")
        return getattr(self._cls, name)

    def __repr__(self) -> str:
        return repr(self._cls)


class CellRuntime:
    """The guarded builtins and hooks one worker's cells run with."""

    def __init__(self, config: CellConfig, modules: Mapping[str, types.ModuleType]):
        self.config = config
        self.modules = dict(modules)  # allowed and loaded: name -> module
        self._rules_by_id = {id(m): config.modules[name] for name, m in self.modules.items()}
        self._denied: dict[int, tuple[Any, str]] = {}  # id -> (object kept alive, description)
        for name, module in self.modules.items():
            for attribute in config.modules[name].deny:
                value = getattr(module, attribute, None)
                if callable(value) or isinstance(value, types.ModuleType):
                    self._denied[id(value)] = (value, f"{name}.{attribute}")
        for name in _DANGEROUS_BUILTINS:
            value = getattr(builtins, name, None)
            if value is not None:
                self._denied[id(value)] = (value, f"{name}()")
        for value, label in ((operator.attrgetter, "operator.attrgetter"),
                             (operator.methodcaller, "operator.methodcaller"),
                             (functools.update_wrapper, "functools.update_wrapper"),
                             (functools.wraps, "functools.wraps")):
            self._denied[id(value)] = (value, label)
        self._guarded: dict[int, _GuardedClass] = {}
        for dotted, (positional, refused) in RAW_MEMORY_CONSTRUCTORS.items():
            module_name, _, attribute = dotted.rpartition(".")
            cls = getattr(self.modules.get(module_name), attribute, None)
            if isinstance(cls, type):
                self._guarded[id(cls)] = _GuardedClass(cls, positional, refused)
        numpy = self.modules.get("numpy")
        self._ndarray: type | None = numpy.ndarray if numpy is not None else None
        self.cell_classes: weakref.WeakSet[type] = weakref.WeakSet()
        self._formatter = _GuardedFormatter(self.getattr)
        self.internal_imports = True  # the worker turns this off when it locks itself down

    # -- attributes ----------------------------------------------------------------

    def _check_name(self, obj: Any, name: str) -> None:
        if type(name) is not str:
            raise TypeError("attribute names must be strings")
        if name.startswith("_"):
            raise AttributeRefused(f"'{name}': attribute names starting with '_' are not available in cells")
        if name in INSPECT_ATTRIBUTES or name in self.config.denied_attributes:
            raise AttributeRefused(f"the attribute '{name}' is not available in cells")
        if isinstance(obj, (types.FrameType, types.CodeType, types.TracebackType)):
            raise AttributeRefused(f"frame, code and traceback objects cannot be inspected ('{name}')")
        if name in RAW_MEMORY_METHODS and self._ndarray is not None and isinstance(obj, self._ndarray):
            raise AttributeRefused(f"'{name}' of numpy arrays is not available in cells; use np.resize(a, shape)")
        if isinstance(obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
            if name not in GENERATOR_METHODS:
                raise AttributeRefused(f"'{name}' of a generator is not available in cells")
        if name in FORMATTER_METHODS and (
            isinstance(obj, string.Formatter) or (isinstance(obj, type) and issubclass(obj, string.Formatter))
        ):
            raise AttributeRefused(f"'{name}' is not available in cells")
        if isinstance(obj, types.ModuleType):
            rule = self._rules_by_id.get(id(obj))
            if rule is None:
                raise AttributeRefused(f"{_describe(obj)} is not available in cells")
            if not rule.permits(name) and f"{rule.name}.{name}" not in self.config.modules:
                raise AttributeRefused(f"'{rule.name}.{name}' is not available in cells")
            if name not in vars(obj):
                # A module-level __getattr__ loads code (numpy 2 imports np.core, np.testing, ...
                # lazily): only what is loaded already is reachable.
                raise AttributeRefused(
                    f"'{rule.name}.{name}' is not loaded, and cells cannot load it "
                    f"(it may be module '{rule.name}.{name}', which cells cannot import)")

    def check_value(self, value: Any, label: str) -> Any:
        """Refuses objects that must not reach a cell however they were found (or wraps them)."""
        guarded = self._guarded.get(id(value))
        if guarded is not None and guarded._cls is value:
            return guarded
        if isinstance(value, types.ModuleType) and id(value) not in self._rules_by_id:
            raise AttributeRefused(f"{label} is {_describe(value)}, which is not available in cells")
        denied = self._denied.get(id(value))
        if denied is not None and denied[0] is value:
            raise AttributeRefused(f"{label} ({denied[1]}) is not available in cells")
        if callable(value) and not isinstance(value, type):
            home = getattr(value, "__module__", None)
            if isinstance(home, str) and home.split(".")[0] in DANGEROUS_HOMES:
                raise AttributeRefused(f"{label} comes from '{home}', which is not available in cells")
        return value

    def getattr(self, obj: Any, name: str, *default: Any) -> Any:
        """The cell's ``_getattr_`` and ``getattr``: refusals raise even when a default is given."""
        self._check_name(obj, name)
        if name in FORMAT_METHODS:
            return self._format_method(obj, name)
        value = getattr(obj, name, *default)
        return self.check_value(value, f"'{name}'")

    def hasattr(self, obj: Any, name: str) -> bool:
        try:
            self.getattr(obj, name)
        except AttributeError:
            return False
        return True

    def _format_method(self, obj: Any, name: str) -> Callable[..., str]:
        formatter = self._formatter
        if isinstance(obj, str):
            text = str(obj)
            if name == "format":
                return lambda *args, **kwargs: formatter.vformat(text, args, kwargs)
            return lambda mapping: formatter.vformat(text, (), mapping)
        if isinstance(obj, type) and issubclass(obj, str):
            if name == "format":
                return lambda text, *args, **kwargs: formatter.vformat(str(text), args, kwargs)
            return lambda text, mapping: formatter.vformat(str(text), (), mapping)
        raise AttributeRefused(f"'{name}' is available on strings only")

    # -- imports, writes, classes, type ----------------------------------------------

    def import_(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if isinstance(fromlist, list):
            # C code (numpy's repr, say) importing for itself through PyImport_Import: compiled cell
            # code always passes None or a tuple. The caller reads sys.modules, not this return value.
            return self._internal_import(name)
        if level:
            raise ImportRefused("relative imports are not allowed")
        rule = self.config.modules.get(name)
        if rule is None:
            raise ImportRefused(f"import of '{name}' is not allowed (cells may import: {', '.join(sorted(self.config.modules))})")
        module = self.modules.get(name)
        if module is None:
            raise ImportRefused(f"'{name}' is not installed for code cells")
        for item in fromlist or ():
            if item == "*" or (not rule.permits(item) and f"{name}.{item}" not in self.config.modules):
                raise ImportRefused(f"'{name}.{item}' is not available in cells")
            value = getattr(module, item, None)
            if self.check_value(value, f"'{name}.{item}'") is not value:  # a stand-in cannot be imported by name
                raise ImportRefused(f"import {name} and use {name}.{item} instead of importing it by name")
        if fromlist:
            return module
        top = self.modules.get(name.split(".")[0])
        if top is None:
            raise ImportRefused(f"'{name.split('.')[0]}' is not available in cells")
        return top

    def _internal_import(self, name: str) -> None:
        if name not in sys.modules:
            if not self.internal_imports:
                raise ImportRefused(f"'{name}' was not loaded before the cell started")
            importlib.import_module(name)
        return None

    def write(self, obj: Any) -> Any:
        """``_write_``: the object itself when a cell may change it, else a refusing proxy."""
        if isinstance(obj, (dict, list, set, bytearray, collections.deque)):
            return obj
        if self._writable_extra(obj):
            return obj
        if isinstance(obj, type) and obj in self.cell_classes:
            return obj
        if any(cls in self.cell_classes for cls in type(obj).__mro__):
            return obj
        return _ReadOnly(_describe(obj))

    def _writable_extra(self, obj: Any) -> bool:
        numpy = self.modules.get("numpy")
        return numpy is not None and isinstance(obj, numpy.ndarray)

    def make_class(self, name: str, bases: tuple, namespace: dict, **keywords: Any) -> type:
        """``__metaclass__`` of every class statement: no hidden dunders, no metaclass games."""
        if keywords:
            raise CallRefused("class keywords are not allowed")
        for key in namespace:
            if key.startswith("_") and key not in CLASS_BODY_DUNDERS and key not in ALLOWED_FUNC_NAMES:
                raise CallRefused(f"class {name}: '{key}' cannot be defined in a cell")
        meta: type = type
        for base in bases:
            if isinstance(base, _GuardedClass):
                raise CallRefused(f"class {name}: subclassing {base!r} is not available in cells")
            if not isinstance(base, type):
                raise CallRefused(f"class {name}: base {base!r} is not a class")
            if issubclass(base, type):
                raise CallRefused(f"class {name}: metaclasses cannot be defined in a cell")
            base_meta = type(base)
            if issubclass(base_meta, meta):
                meta = base_meta
            elif not issubclass(meta, base_meta):
                raise CallRefused(f"class {name}: its bases have conflicting metaclasses")
        cls = meta(name, bases, dict(namespace))
        self.cell_classes.add(cls)
        return cls

    def type_(self, *args: Any) -> Any:
        if len(args) != 1:
            raise CallRefused("type() takes exactly one argument here; define classes with a class statement")
        if isinstance(args[0], type):
            raise CallRefused("type() of a class is not available; use isinstance() or issubclass()")
        cls = type(args[0])
        guarded = self._guarded.get(id(cls))
        return guarded if guarded is not None and guarded._cls is cls else cls

    # -- the namespace ----------------------------------------------------------------

    def builtins(self) -> dict[str, Any]:
        table = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
        table.update({
            "getattr": self.getattr,
            "hasattr": self.hasattr,
            "type": self.type_,
            "__import__": self.import_,
            "__build_class__": builtins.__build_class__,
        })
        return table

    def hooks(self, print_factory: Callable[..., Any]) -> dict[str, Any]:
        """The names RestrictedPython's compiled code calls (all start with '_', so cells cannot touch them)."""
        return {
            "__builtins__": self.builtins(),
            "__metaclass__": self.make_class,
            "__name__": "cell",
            "_getattr_": self.getattr,
            "_getitem_": operator.getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": self.write,
            "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
            "_apply_": lambda function, *args, **kwargs: function(*args, **kwargs),
            "_print_": print_factory,
        }
