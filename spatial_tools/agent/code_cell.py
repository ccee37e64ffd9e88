"""The code-cell policy: what a cell may say (checked at compile time by RestrictedPython)
and the guards it runs with (checked at run time in the worker).

Two layers: RestrictedPython's transformer plus our additions refuse a cell
before it runs, with a reason that quotes the offending line; the runtime
guards (attribute, item, iteration, call, operator, import, write, print, class
creation) refuse what only shows up at run time (``getattr(x, '__cl' + 'ass__')``,
``np.load`` reached through a variable, a memoryview inside ``np.ScalarType``).
Raw memory (memoryviews, buffers of object arrays, ctypes, capsules, buffer
swapping) is refused wherever a value turns up, and no text a cell gets or shows
carries an object's memory address (CellRuntime). Neither layer is the last
line: the worker process also runs under OS limits (cell_worker.py), so a hole
in the policy still cannot write a file, open a socket or read the host's
environment.
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
    "id": "object addresses are not available; compare objects with `is`",
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
# numpy functions that hand out fresh memory as it is (the heap's last contents): zeroed for cells.
UNINITIALISED_MEMORY = ("empty", "empty_like")
# ndarray.resize(refcheck=False) frees memory that other views still point into.
RAW_MEMORY_METHODS = frozenset({"resize"})
# Attributes of numpy arrays, scalars and classes that hand out their raw memory (a memoryview).
NUMPY_RAW_ATTRIBUTES = frozenset({"data"})
# Array attributes a cell may assign: they copy values in. The others (data, shape, strides,
# dtype) re-point or reinterpret the memory.
ARRAY_VALUE_ATTRIBUTES = frozenset({"real", "imag", "flat"})
# Array methods that reinterpret memory as another dtype: refused when that dtype holds objects.
REINTERPRETING_METHODS = frozenset({"view", "getfield", "setfield"})
# Modules whose classes and functions address raw memory, wherever they turn up.
RAW_MEMORY_HOMES = ("ctypes", "_ctypes", "mmap", "numpy.ctypeslib", "numpy.lib.stride_tricks",
                    "numpy.lib._stride_tricks_impl", "numpy.core._internal", "numpy._core._internal")
BINARY_OPERATORS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.MatMult: "@",
}
_DANGEROUS_BUILTINS = (
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "__import__", "input", "breakpoint", "help", "exit", "quit", "memoryview", "type", "id", "hash",
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
        # [isolation] belongs to the kernel (cell_kernel.load_isolation reads it from the same file).
        unknown = set(data) - {"budget", "worker", "preload", "attributes", "modules", "isolation"}
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
        """Every call goes through ``_call_``, which checks what goes in and what comes back."""
        if isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) + len(node.keywords) != 1:
            self.error(node, "type() takes exactly one argument here; define classes with a class statement")
        node = super().visit_Call(node)
        if isinstance(node.func, ast.Name) and node.func.id == "_apply_":
            node.func.id = "_call_"  # RestrictedPython's form for *args/**kwargs calls
            return node
        wrapped = ast.Call(func=ast.Name("_call_", ast.Load()), args=[node.func, *node.args], keywords=node.keywords)
        copy_locations(wrapped, node)
        copy_locations(wrapped.func, node)
        return wrapped

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        """``a + b`` as ``_binop_('+', a + b)``: numpy makes arrays of Python objects from plain operands
        (``np.arange(3) * Fraction(1, 3)``), and ``'%s' % f`` formats addresses. The operation stays
        in the cell's frame, so a warning names the cell's line."""
        node = super().visit_BinOp(node)
        symbol = ast.Constant(BINARY_OPERATORS[type(node.op)])
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[symbol, node], keywords=[])
        for child in (call, call.func, symbol):
            copy_locations(child, node)
        return call

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """``f'{x!r:>10}'`` formats through ``_format_``, which takes object addresses out."""
        node = super().visit_FormattedValue(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        conversion = ast.Constant(node.conversion)
        node.value = ast.Call(func=ast.Name("_format_", ast.Load()), args=[node.value, conversion, spec], keywords=[])
        for child in (node.value, node.value.func, conversion, spec):
            copy_locations(child, node)
        node.conversion, node.format_spec = -1, None
        return node

    def visit_Starred(self, node: ast.Starred) -> Any:
        """``[*x]`` and ``f(*x)`` unpack through ``_getiter_``, like a for loop."""
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _hook_call("_getiter_", node.value, node)
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        node = super().visit_YieldFrom(node)
        node.value = _hook_call("_getiter_", node.value, node)
        return node

    def visit_Expression(self, node: ast.Expression) -> Any:
        """The cell's last expression (eval mode) is shown through ``_value_`` (no addresses).

        RestrictedPython sets up ``_print`` for statements only; here it is set up in the
        expression itself: ``_value_((_print := _print_(_getattr_)) and None or <expression>)``.
        """
        node = super().visit_Expression(node)
        body = node.body
        if self.print_info.print_used or self.print_info.printed_used:
            printer = ast.NamedExpr(target=ast.Name("_print", ast.Store()),
                                    value=ast.Call(func=ast.Name("_print_", ast.Load()),
                                                   args=[ast.Name("_getattr_", ast.Load())], keywords=[]))
            body = ast.BoolOp(op=ast.Or(), values=[ast.BoolOp(op=ast.And(), values=[printer, ast.Constant(None)]), body])
            for child in ast.walk(body):
                if "lineno" in child._attributes and not hasattr(child, "lineno"):
                    copy_locations(child, node.body)
        node.body = _hook_call("_value_", body, node.body)
        return node

    def visit_With(self, node: ast.With) -> Any:
        """``with m as x``: what ``m.__enter__()`` returns is checked like any call's result."""
        node = super().visit_With(node)
        for item in node.items:
            if item.optional_vars is None:
                continue
            target = item.optional_vars
            holder = self.gen_tmp_name()
            item.optional_vars = ast.Name(holder, ast.Store())
            copy_locations(item.optional_vars, target)
            value = _hook_call("_checked_", ast.Name(holder, ast.Load()), target)
            assign = ast.Assign(targets=[target], value=value)
            forget = ast.Delete(targets=[ast.Name(holder, ast.Del())])  # no '_tmp' left in a class body
            copy_locations(assign, target)
            copy_locations(forget, target)
            node.body[:0] = [assign, forget]
        return node

    def _checked_parameters(self, node: ast.FunctionDef | ast.Lambda) -> ast.Call | None:
        arguments = node.args
        names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
        names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
        if not names:
            return None
        call = ast.Call(func=ast.Name("_params_", ast.Load()), args=[ast.Name(n, ast.Load()) for n in names], keywords=[])
        for child in ast.walk(call):
            if "lineno" in child._attributes:
                copy_locations(child, node)
        return call

    def _checked_decorators(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        node.decorator_list = [_hook_call("_decorator_", d, d) for d in node.decorator_list]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        """Parameters are checked on entry: library code calls cell functions back (np.fromfunction,
        np.apply_along_axis) with values the cell never asked for."""
        node = super().visit_FunctionDef(node)
        check = self._checked_parameters(node)
        if check is not None:
            statement = ast.Expr(check)
            copy_locations(statement, node)
            has_docstring = (node.body and isinstance(node.body[0], ast.Expr)
                             and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str))
            node.body.insert(1 if has_docstring else 0, statement)
        self._checked_decorators(node)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        check = self._checked_parameters(node)
        if check is not None:
            node.body = ast.BoolOp(op=ast.Or(), values=[check, node.body])
            copy_locations(node.body, node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        node = super().visit_ClassDef(node)
        self._checked_decorators(node)
        return node

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


def _hook_call(hook: str, value: ast.expr, where: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(hook, ast.Load()), args=[value], keywords=[])
    copy_locations(call, where)
    copy_locations(call.func, where)
    return call


def _transformer_for(config: CellConfig, bound: frozenset[str]) -> type[CellTransformer]:
    return type("BoundCellTransformer", (CellTransformer,), {"config": config, "bound": set(bound)})


_LINE_RE = re.compile(r"^Line (\d+|None): (.*)$", re.S)


def _quote(lines: list[str], line: int | None) -> str:
    if line is None or not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    return text if len(text) <= 120 else text[:117] + "..."


def describe_problem(source: str, line: int | None, text: str) -> str:
    text = scrub_addresses(text)  # "KeyError: <function f at 0x7f...>"
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


class ValueRefused(CellPolicyError, TypeError):
    """A value a cell must not hold (raw memory, an object array, a closed module), wherever it turned up."""


def _describe(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module '{obj.__name__}'"
    if isinstance(obj, type):
        return f"class '{obj.__name__}'"
    return f"a {type(obj).__name__} object"


# Default reprs carry the object's address ("<function f at 0x7f3a...>", numpy's
# "Generator(PCG64) at 0x7F3A..."): every text a cell gets or shows loses it.
_ADDRESS = re.compile(r" at 0[xX][0-9a-fA-F]{4,}")
_ADDRESS_BYTES = re.compile(rb" at 0[xX][0-9a-fA-F]{4,}")


def scrub_addresses(text: Any) -> Any:
    """``text`` (str or bytes) without memory addresses; other values unchanged."""
    if isinstance(text, str):
        return _ADDRESS.sub("", text) if "0x" in text or "0X" in text else text
    if isinstance(text, (bytes, bytearray)):
        return _ADDRESS_BYTES.sub(b"", bytes(text)) if b"0x" in text or b"0X" in text else text
    return text


def safe_repr(value: Any) -> str:
    """repr() without memory addresses: what a cell's value, answer or printout may show."""
    return scrub_addresses(repr(value))


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

    def format_field(self, value: Any, format_spec: str) -> str:
        return scrub_addresses(super().format_field(value, format_spec))


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}
_CONVERSIONS = {-1: None, 115: str, 114: repr, 97: ascii}  # f-string !s !r !a
_NONE_TYPE = type(None)
# Values that are data and nothing else: no check needed, wherever they come from.
_LEAF_TYPES = frozenset({int, float, complex, bool, _NONE_TYPE, range, slice, type(Ellipsis)})
# What print shows as it is (no object address in its text).
_PRINTABLE = _LEAF_TYPES | {str}
# Containers whose items the cell already holds checked: indexing and iterating them needs no check.
_PLAIN_CONTAINERS = frozenset({
    list, tuple, dict, set, frozenset, str, bytes, bytearray, range, collections.deque,
    collections.OrderedDict, collections.defaultdict, collections.Counter,
    type({}.keys()), type({}.values()), type({}.items()),
})
# Builtins whose iterators yield what their arguments yield (checked when the arguments are).
_PASS_THROUGH_ITERATORS = (iter, reversed, zip, enumerate, filter)
MAX_CHECK_DEPTH = 64
_UNKNOWN, _CHECK_DTYPE, _CHECK_CLASS = object(), object(), object()
_MISSING = object()
_OBJECT_ARRAY = "a numpy array of Python objects (dtype object: its memory is a list of object addresses)"


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


class _ArrayWriter:
    """What ``_write_`` hands back for a numpy array: items and values change, the memory it points at does not.

    ``a.data = ...`` swaps the buffer (the old one is freed while views still point into it),
    ``a.strides``/``a.shape`` re-point the memory and ``a.dtype`` reinterprets it.
    """

    __slots__ = ("_array", "_runtime")

    def __init__(self, array: Any, runtime: CellRuntime):
        object.__setattr__(self, "_array", array)
        object.__setattr__(self, "_runtime", runtime)

    def __setattr__(self, name: str, value: Any) -> None:
        # recarray fields (r.x = ...) copy values too, unless the name is also an array attribute
        field = name in (self._array.dtype.names or ()) and not hasattr(type(self._array), name)
        if name not in ARRAY_VALUE_ATTRIBUTES and not field:
            raise WriteRefused(
                f"cannot assign '{name}' of a numpy array: it would re-point or reinterpret the array's memory; "
                "make a new array instead (a.reshape(...), a.astype(...), np.ascontiguousarray(a))")
        self._runtime.refuse_raw(value, f"the value assigned to '{name}'")
        setattr(self._array, name, value)

    def __delattr__(self, name: str) -> None:
        raise WriteRefused(f"cannot delete '{name}' of a numpy array")

    def __setitem__(self, key: Any, value: Any) -> None:
        self._runtime.refuse_raw(value, "the value assigned into a numpy array")
        self._array[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._array[key]


class _CheckedIterator:
    """An iterator from library code: every item it yields is checked like an attribute or call result."""

    __slots__ = ("_iterator", "_runtime", "_where")

    def __init__(self, iterator: Any, runtime: CellRuntime, where: str):
        self._iterator, self._runtime, self._where = iterator, runtime, where

    def __iter__(self) -> _CheckedIterator:
        return self

    def __next__(self) -> Any:
        return self._runtime.convert(next(self._iterator), self._where)

    def __repr__(self) -> str:
        return safe_repr(self._iterator)


class _Shown:
    """The cell's last value as the worker shows it: its repr without addresses (computed when shown)."""

    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def __repr__(self) -> str:
        return safe_repr(self._value)


class _ScrubbedPrinter:
    """``print`` in a cell: the worker's printer, given text without addresses."""

    __slots__ = ("_printer",)

    def __init__(self, printer: Any):
        self._printer = printer

    def _call_print(self, *objects: Any, **options: Any) -> Any:
        kinds = set(map(type, objects))
        if not kinds <= _PRINTABLE or (str in kinds and _ADDRESS.search("\0".join([o for o in objects if type(o) is str]))):
            objects = tuple(scrub_addresses(str(o)) for o in objects)
        return self._printer._call_print(*objects, **options)

    def __call__(self) -> Any:  # the `printed` variable
        return self._printer()


class _GuardedClass:
    """Stands in for a class from RAW_MEMORY_CONSTRUCTORS (see there)."""

    __slots__ = ("_cls", "_positional", "_refused", "_zeros")

    def __init__(self, cls: type, positional: int, refused: frozenset[str], zeros: Callable[..., Any]):
        self._cls, self._positional, self._refused, self._zeros = cls, positional, refused, zeros

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) > self._positional or self._refused & kwargs.keys():
            raise CallRefused(
                f"{self._cls.__name__}() with a buffer, offset or strides is not available in cells; "
                "make arrays with np.array, np.zeros, np.empty or np.frombuffer"
            )
        return _zero_filled(self._cls(*args, **kwargs), self._zeros)

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self._cls)

    def __subclasscheck__(self, cls: Any) -> bool:
        return isinstance(cls, type) and issubclass(cls, self._cls)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in RAW_MEMORY_METHODS or name in NUMPY_RAW_ATTRIBUTES:
            raise AttributeRefused(f"'{name}' of {self._cls.__name__} is not available in cells")
        return getattr(self._cls, name)

    def __repr__(self) -> str:
        return repr(self._cls)


class _ZeroFilling:
    """Stands in for np.empty / np.empty_like: fresh memory is zeroed, not last use's heap contents
    (freed strings, object addresses)."""

    __slots__ = ("_cls", "_zeros")

    def __init__(self, function: Callable[..., Any], zeros: Callable[..., Any]):
        self._cls, self._zeros = function, zeros

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _zero_filled(self._cls(*args, **kwargs), self._zeros)

    def __repr__(self) -> str:
        return safe_repr(self._cls)


def _zero_filled(array: Any, zeros: Callable[..., Any]) -> Any:
    array[...] = zeros((), array.dtype)  # any dtype: numbers, structured, text
    return array


class _ImportedNames:
    """What ``from module import a, b`` reads its names from: each one through the cell's getattr,
    so a name imported gets the same checks and stand-ins as ``module.name``."""

    __slots__ = ("_module", "_runtime")

    def __init__(self, module: types.ModuleType, runtime: CellRuntime):
        self._module, self._runtime = module, runtime

    def __getattr__(self, name: str) -> Any:
        if name in ("__name__", "__spec__", "__file__", "__path__"):  # CPython's import_from fallback
            return getattr(self._module, name)
        try:
            return self._runtime.getattr(self._module, name)
        except CellPolicyError as refused:  # an AttributeError would turn into "cannot import name"
            raise ImportRefused(str(refused)) from None


class CellRuntime:
    """The guarded builtins and hooks one worker's cells run with.

    One rule holds for raw memory: a cell never holds a memoryview, a ctypes object, a
    capsule, numpy's ctypes or stride tricks, or a numpy array of Python objects (its
    memory is a list of object addresses that the buffer protocol hands out, writable).
    Every value a cell gets — from an attribute, an item, a call, an iteration, an
    operator, a with statement, a decorator, or as a parameter when library code calls
    it back — is checked, inside tuples, lists, dicts and sets too; what it passes to
    library code is checked again. Texts it gets or shows lose object addresses.
    """

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
        numpy = self.modules.get("numpy")
        self._guarded: dict[int, _GuardedClass | _ZeroFilling] = {}  # id(original) -> its stand-in
        for dotted, (positional, refused) in RAW_MEMORY_CONSTRUCTORS.items():
            module_name, _, attribute = dotted.rpartition(".")
            cls = getattr(self.modules.get(module_name), attribute, None)
            if isinstance(cls, type):
                self._guarded[id(cls)] = _GuardedClass(cls, positional, refused, numpy.zeros)
        for name in UNINITIALISED_MEMORY:
            function = getattr(numpy, name, None)
            if function is not None:
                self._guarded[id(function)] = _ZeroFilling(function, numpy.zeros)
        if numpy is not None:
            for method in RAW_MEMORY_METHODS:  # the same object on every subclass (np.matrix.resize)
                value = getattr(numpy.ndarray, method)
                self._denied[id(value)] = (value, f"numpy.ndarray.{method}")
        self._ndarray: type | None = numpy.ndarray if numpy is not None else None
        self._numpy_values: tuple[type, ...] = (numpy.ndarray, numpy.generic) if numpy is not None else ()
        self._numpy_iterators: tuple[type, ...] = (numpy.nditer, numpy.flatiter) if numpy is not None else ()
        self._leaf_types = set(_LEAF_TYPES)
        self._content_hashable: tuple[type, ...] = (int, float, complex, str, bytes, range)
        if numpy is not None:  # numpy's number, bool and datetime scalars are data too
            scalars = {t for t in numpy.sctypeDict.values()
                       if issubclass(t, (numpy.number, numpy.bool_, numpy.datetime64, numpy.timedelta64))}
            self._leaf_types |= scalars
            self._content_hashable += tuple(scalars)
        for name in ("fractions", "decimal"):
            module = self.modules.get(name)
            for cls in (getattr(module, "Fraction", None), getattr(module, "Decimal", None)):
                if isinstance(cls, type):
                    self._content_hashable += (cls,)
        # type -> None (harmless), a description (raw memory), or _CHECK_DTYPE / _CHECK_CLASS
        self._verdicts: dict[type, Any] = dict.fromkeys(self._leaf_types)
        self._class_verdicts: dict[type, str | None] = {}
        # (id(module), name) -> (module, value, what the cell gets): module attributes checked once
        self._module_values: dict[tuple[int, str], tuple[Any, Any, Any]] = {}
        self.cell_classes: weakref.WeakSet[type] = weakref.WeakSet()
        self._formatter = _GuardedFormatter(self.getattr)
        self._builtins: dict[str, Any] | None = None
        self._checking: frozenset[int] = frozenset()  # ids of our own guarded builtins: results already checked
        self.internal_imports = True  # the worker turns this off when it locks itself down

    # -- what a cell may not hold ---------------------------------------------------------

    def raw_memory(self, value: Any) -> str | None:
        """What ``value`` is when it hands out raw memory or addresses (None for everything else)."""
        cls = type(value)
        verdict = self._verdicts.get(cls, _UNKNOWN)
        if verdict is None:
            return None
        if verdict is _UNKNOWN:
            verdict = self._verdicts[cls] = self._instance_verdict(cls)
            if verdict is None:
                return None
        if verdict is _CHECK_DTYPE:
            return _OBJECT_ARRAY if value.dtype.hasobject else None
        if verdict is _CHECK_CLASS:
            verdict = self._class_verdicts.get(value, _UNKNOWN)
            if verdict is _UNKNOWN:
                verdict = self._class_verdicts[value] = self._class_verdict(value)
        return verdict

    def _instance_verdict(self, cls: type) -> Any:
        if issubclass(cls, memoryview):
            return "a memoryview (raw memory)"
        if self._numpy_values and issubclass(cls, self._numpy_values):
            return _CHECK_DTYPE
        if issubclass(cls, type):
            return _CHECK_CLASS
        return self._raw_class(cls, f"a {cls.__name__} object")

    def _class_verdict(self, value: type) -> str | None:
        if issubclass(value, memoryview):
            return "class 'memoryview' (raw memory)"
        return self._raw_class(value, f"class '{value.__name__}'")

    @staticmethod
    def _raw_class(cls: type, what: str) -> str | None:
        for home in (getattr(cls, "__module__", None), getattr(type(cls), "__module__", None)):
            if isinstance(home, str) and _raw_home(home):
                return f"{what} from '{home}' (raw memory)"
        if cls.__name__ in ("PyCapsule", "CapsuleType"):
            return f"{what} (a raw C pointer)"
        if cls.__name__ == "PickleBuffer":
            return f"{what} (raw memory)"
        return None

    def refuse_raw(self, value: Any, where: str | Callable[[], str]) -> None:
        """Refuses ``value`` if it is raw memory, or a list, tuple or dict that directly holds some."""
        cls = type(value)
        if cls in self._leaf_types or cls is str:
            return
        what = self.raw_memory(value)
        if what is None and cls in (list, tuple, dict):
            items = value.values() if cls is dict else value
            if not set(map(type, items)) <= self._leaf_types:
                what = next((w for w in map(self.raw_memory, items) if w is not None), None)
                if what is not None:
                    what = f"a {cls.__name__} holding {what}"
        if what is not None:
            raise ValueRefused(_not_available(where, "is", what))

    def _forbidden(self, value: Any, where: str | Callable[[], str], depth: int) -> None:
        """Refuses closed modules, denied functions and functions from dangerous modules."""
        verb = "is" if depth == 0 else "holds"
        if isinstance(value, types.ModuleType) and id(value) not in self._rules_by_id:
            raise ValueRefused(f"{_where(where)} {verb} {_describe(value)}, which is not available in cells")
        denied = self._denied.get(id(value))
        if denied is not None and denied[0] is value:
            raise ValueRefused(f"{_where(where)} ({denied[1]}) is not available in cells")
        if callable(value) and not isinstance(value, type):
            home = getattr(value, "__module__", None)
            if isinstance(home, str) and (home.split(".")[0] in DANGEROUS_HOMES or _raw_home(home)):
                raise ValueRefused(f"{_where(where)} comes from '{home}', which is not available in cells")

    def convert(self, value: Any, where: str | Callable[[], str], depth: int = 0) -> Any:
        """``value`` as a cell may hold it: refused (raw memory, closed modules), a stand-in (guarded
        classes), wrapped (library iterators), or without addresses (texts); containers inside out."""
        cls = type(value)
        if cls in self._leaf_types:
            return value
        if cls is str or cls is bytes:
            return scrub_addresses(value)
        if cls not in (list, tuple, dict):
            guarded = self._guarded.get(id(value))
            if guarded is not None and guarded._cls is value:
                return guarded
            what = self.raw_memory(value)
            if what is not None:
                raise ValueRefused(_not_available(where, "is" if depth == 0 else "holds", what))
            self._forbidden(value, where, depth)
            if isinstance(value, str):
                scrubbed = scrub_addresses(str(value))
                return value if scrubbed == value else scrubbed
            if isinstance(value, bytes):
                scrubbed = scrub_addresses(bytes(value))
                return value if scrubbed == value else scrubbed
        if isinstance(value, (list, tuple, dict, set, frozenset, collections.deque, collections.ChainMap,
                              collections.abc.KeysView, collections.abc.ValuesView, collections.abc.ItemsView)):
            return self._convert_container(value, where, depth)
        if self._ndarray is not None and isinstance(value, self._ndarray):
            if value.dtype.kind in "US" and value.size and _ADDRESS.search("\0".join(map(str, value.flat))):
                raise ValueRefused(f"{_where(where)} holds text with an object's memory address, "
                                   "which is not available in cells")
            return value
        if self._numpy_iterators and isinstance(value, self._numpy_iterators):
            # numpy's iterators yield views of their arrays, in the dtypes they iterate in (refs_ok
            # with op_dtypes=[object] turns numbers into Python objects): those decide.
            nditer = isinstance(value, self._numpy_iterators[0])
            for dtype in value.dtypes if nditer else (value.base.dtype,):
                if dtype.hasobject:
                    raise ValueRefused(_not_available(where, "iterates over", _OBJECT_ARRAY))
            return value
        if self._foreign_iterator(value):
            return _CheckedIterator(value, self, _where(where))
        return value

    def _convert_container(self, value: Any, where: str | Callable[[], str], depth: int) -> Any:
        if depth >= MAX_CHECK_DEPTH:
            raise ValueRefused(f"{_where(where)} is nested more than {MAX_CHECK_DEPTH} levels deep, "
                               "too deep to check")
        if isinstance(value, dict):
            keys, values = list(dict.keys(value)), list(dict.values(value))
            new_keys, new_values = self._convert_items(keys, where, depth), self._convert_items(values, where, depth)
            if new_keys is keys and new_values is values:
                return value
            if type(value) is dict:
                return dict(zip(new_keys, new_values, strict=True))
        elif isinstance(value, collections.ChainMap):
            for mapping in value.maps:
                if self._convert_container(mapping, where, depth + 1) is not mapping:
                    break
            else:
                return value
        else:
            items = _stored_items(value)
            new = self._convert_items(items, where, depth)
            if new is items:
                return value
            if type(value) in (list, tuple, set, frozenset):
                return type(value)(new)
        raise ValueRefused(f"{_where(where)} holds text with an object's memory address or a library "
                           "iterator, which cannot be handed to a cell in a "
                           f"{type(value).__name__}")

    def _convert_items(self, items: Any, where: str | Callable[[], str], depth: int) -> Any:
        leaf = self._leaf_types
        kinds = set(map(type, items))
        if kinds <= leaf:
            return items
        if str in kinds and not _ADDRESS.search("\0".join([x for x in items if type(x) is str])):
            kinds.discard(str)
            if kinds <= leaf:
                return items
            leaf = leaf | {str}
        new = None
        for index, item in enumerate(items):
            if type(item) in leaf:
                continue
            converted = self.convert(item, where, depth + 1)
            if converted is not item:
                if new is None:
                    new = list(items)
                new[index] = converted
        return items if new is None else new

    def _foreign_iterator(self, value: Any) -> bool:
        """An iterator made by library code (not the cell's own generator, not already checked)."""
        cls = type(value)
        if getattr(cls, "__next__", None) is None or cls is _CheckedIterator:
            return False
        return not (cls is types.GeneratorType and value.gi_code.co_filename == CELL_FILENAME)

    def _is_cell_function(self, function: Any) -> bool:
        cls = type(function)
        if cls is types.MethodType:
            function, cls = function.__func__, type(function.__func__)
        if cls is types.FunctionType:
            return function.__code__.co_filename == CELL_FILENAME
        return isinstance(function, type) and function in self.cell_classes

    def _is_cell_object(self, obj: Any) -> bool:
        return type(obj) in self.cell_classes or (isinstance(obj, type) and obj in self.cell_classes)

    # -- attributes ----------------------------------------------------------------

    def _is_numpy(self, obj: Any) -> bool:
        if not self._numpy_values:
            return False
        if isinstance(obj, _GuardedClass):
            return True
        if isinstance(obj, type):
            return issubclass(obj, self._numpy_values)
        return isinstance(obj, self._numpy_values)

    def _check_name(self, obj: Any, name: str) -> None:
        if type(name) is not str:
            raise TypeError("attribute names must be strings")
        if name.startswith("_"):
            raise AttributeRefused(f"'{name}': attribute names starting with '_' are not available in cells")
        if name in INSPECT_ATTRIBUTES or name in self.config.denied_attributes:
            raise AttributeRefused(f"the attribute '{name}' is not available in cells")
        if type(obj) in _PLAIN_CONTAINERS:
            return
        if isinstance(obj, (types.FrameType, types.CodeType, types.TracebackType)):
            raise AttributeRefused(f"frame, code and traceback objects cannot be inspected ('{name}')")
        what = self.raw_memory(obj)
        if what is not None:
            raise AttributeRefused(f"'{name}' of {what} is not available in cells")
        if name in NUMPY_RAW_ATTRIBUTES and self._is_numpy(obj):
            raise AttributeRefused(
                f"'{name}' of numpy arrays and scalars is their raw memory (a memoryview), which is not "
                "available in cells; use a.tobytes(), a.tolist() or the array itself")
        if name in RAW_MEMORY_METHODS and self._is_numpy(obj):  # np.matrix.resize is ndarray.resize
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
        try:
            return self.convert(value, label)
        except ValueRefused as refused:
            raise AttributeRefused(str(refused)) from None

    def getattr(self, obj: Any, name: str, *default: Any) -> Any:
        """The cell's ``_getattr_`` and ``getattr``: refusals raise even when a default is given."""
        if type(obj) is types.ModuleType:
            known = self._module_values.get((id(obj), name))
            if known is not None and known[0] is obj and vars(obj).get(name, _MISSING) is known[1]:
                return known[2]
        self._check_name(obj, name)
        if name in FORMAT_METHODS:
            return self._format_method(obj, name)
        value = getattr(obj, name, *default)
        if type(obj) in _PLAIN_CONTAINERS:  # methods of lists, dicts, strings
            return value
        if type(obj) is types.ModuleType:
            checked = self.check_value(value, f"'{name}'")
            if name in vars(obj) and not isinstance(value, (list, tuple, dict, set, frozenset, collections.deque)):
                self._module_values[(id(obj), name)] = (obj, value, checked)
            return checked
        if self._is_cell_object(obj) and _own_attribute(obj, name) is value:
            return value  # the cell set it itself: checked when the cell got it
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

    # -- items, iteration, calls, operators ------------------------------------------------

    def getitem(self, obj: Any, key: Any) -> Any:
        """``_getitem_``: items of plain containers and arrays were checked with them; others are checked."""
        cls = type(obj)
        if cls in _PLAIN_CONTAINERS or (cls is self._ndarray and not obj.dtype.hasobject):
            return obj[key]
        what = self.raw_memory(obj)
        if what is not None:
            raise ValueRefused(f"indexing {what} is not available in cells")
        value = obj[key]
        if self._is_cell_object(obj):
            return value
        return self.convert(value, lambda: f"an item of {_describe(obj)}")

    def getiter(self, obj: Any) -> Any:
        """``_getiter_``: what a for loop, a comprehension, unpacking or ``*x`` iterates."""
        cls = type(obj)
        if cls in _PLAIN_CONTAINERS or (cls is self._ndarray and not obj.dtype.hasobject):
            return iter(obj)
        what = self.raw_memory(obj)
        if what is not None:
            raise ValueRefused(f"iterating over {what} is not available in cells")
        if getattr(cls, "__next__", None) is not None or self._is_cell_object(obj):
            return iter(obj)  # iterators a cell holds were checked (or wrapped) when it got them
        return _CheckedIterator(iter(obj), self, f"an item of {_describe(obj)}")

    def call(self, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        """``_call_``: every call. Cell functions check their own parameters; for anything else the
        arguments are checked going in and the result coming back."""
        cls = type(function)
        if cls is types.FunctionType and function.__code__.co_filename == CELL_FILENAME:
            return function(*args, **kwargs)
        if cls is not types.BuiltinFunctionType and self._is_cell_function(function):
            return function(*args, **kwargs)
        if function is dir and not args and not kwargs:  # the cell's names, not this frame's
            return sorted(n for n in sys._getframe(1).f_locals if not n.startswith("_"))
        leaf = self._leaf_types
        if not set(map(type, args)) <= leaf or (kwargs and not set(map(type, kwargs.values())) <= leaf):
            def where() -> str:  # built only when refusing
                return f"an argument of {_name_of(function)}"

            for argument in (*args, *kwargs.values()):
                if type(argument) not in leaf:
                    self.refuse_raw(argument, where)
        if getattr(function, "__name__", None) in REINTERPRETING_METHODS:
            args = self._check_reinterpretation(function, args, kwargs)
        result = function(*args, **kwargs)
        cls = type(result)
        if cls in self._leaf_types:
            return result
        if cls is str:
            return scrub_addresses(result)
        if id(function) in self._checking:
            return result
        owner = getattr(function, "__self__", None)
        if type(function) is types.BuiltinMethodType and type(owner) in _PLAIN_CONTAINERS:
            return result  # list.pop, dict.get, str.join: the container's own (checked) items
        if function in _PASS_THROUGH_ITERATORS:
            sources = args[1:] if function is filter else args
            if all(self._checked_source(a) for a in sources):
                return result
        return self.convert(result, lambda: f"the result of {_name_of(function)}")

    def _checked_source(self, value: Any) -> bool:
        """An iterable whose items the cell already holds checked (``iter(f, sentinel)`` calls f: not one)."""
        cls = type(value)
        return (cls in self._leaf_types or cls in _PLAIN_CONTAINERS
                or (getattr(cls, "__next__", None) is not None and not callable(value))
                or (cls is self._ndarray and not value.dtype.hasobject))

    def _check_reinterpretation(self, function: Any, args: tuple, kwargs: dict) -> tuple:
        """``a.view(object)``, ``a.getfield(dtype_with_objects)``: raw memory read as object pointers.
        Returns the arguments with stand-ins unwrapped (``a.view(np.recarray)`` needs the class)."""
        owner = getattr(function, "__self__", None)
        specs: list[Any] = []
        if self._numpy_values and isinstance(owner, self._numpy_values):
            specs = [*args, *kwargs.values()]
        elif getattr(function, "__objclass__", None) in self._numpy_values and args:
            specs = [*args[1:], *kwargs.values()]
        numpy = self.modules.get("numpy")
        for spec in specs:
            if isinstance(spec, type) and self._ndarray is not None and issubclass(spec, self._ndarray):
                continue
            if not isinstance(spec, (str, type, list, tuple, dict)) and not isinstance(spec, numpy.dtype):
                continue
            try:
                has_objects = numpy.dtype(spec).hasobject
            except Exception:  # not a dtype: numpy will say so
                continue
            if has_objects:
                raise CallRefused(f"{function.__name__}() as a dtype holding Python objects is not available in "
                                  "cells: it would read raw memory as object pointers")
        if not specs:  # not numpy's: leave it alone
            return args
        if isinstance(kwargs.get("type"), _GuardedClass):
            kwargs["type"] = kwargs["type"]._cls
        return tuple(a._cls if isinstance(a, _GuardedClass) else a for a in args)

    def binop(self, symbol: str, result: Any) -> Any:
        """``_binop_``: the result of ``left <symbol> right``; an array of Python objects or raw memory is refused."""
        cls = type(result)
        if cls in self._leaf_types:
            return result
        if symbol == "%":
            result = scrub_addresses(result)
        self.refuse_raw(result, lambda: f"the result of `{symbol}`")
        return result

    def inplace(self, symbol: str, target: Any, value: Any) -> Any:
        """``_inplacevar_``: ``x += y`` and friends, checked like ``_binop_``."""
        self.refuse_raw(target, f"the target of `{symbol}`")
        self.refuse_raw(value, f"the operand of `{symbol}`")
        result = _INPLACE[symbol](target, value)
        if symbol == "%=":
            result = scrub_addresses(result)
        self.refuse_raw(result, lambda: f"the result of `{symbol}`")
        return result

    def format_value(self, value: Any, conversion: int, spec: str) -> str:
        """``_format_``: one ``{value!r:spec}`` of an f-string."""
        convert = _CONVERSIONS.get(conversion)
        if convert is not None:
            value = convert(value)
        return scrub_addresses(format(value, spec))

    def parameters(self, *values: Any) -> None:
        """``_params_``: a cell function's arguments on entry (library code may call it back)."""
        for value in values:
            if type(value) not in self._leaf_types:
                self.refuse_raw(value, "an argument a cell function was called with")

    def checked(self, value: Any) -> Any:
        """``_checked_``: what ``with ... as x`` binds."""
        return self.convert(value, "the value of the with statement")

    def decorator(self, decorator: Any) -> Any:
        """``_decorator_``: a library decorator's result is checked like a call's."""
        if self._is_cell_function(decorator):
            return decorator
        return lambda target: self.call(decorator, target)

    @staticmethod
    def value(value: Any) -> Any:
        """``_value_``: the cell's last expression, shown without addresses."""
        return None if value is None else _Shown(value)

    def hash_(self, value: Any) -> int:
        """hash() of data only: an object's default hash is its memory address."""
        if not self._hashes_content(value, 0):
            raise CallRefused(f"hash() of {_describe(value)} is not available in cells: it comes from the "
                              "object's memory address (hash numbers, strings, bytes or tuples of them)")
        return hash(value)

    def _hashes_content(self, value: Any, depth: int) -> bool:
        if value is None:
            return sys.version_info >= (3, 12)  # before 3.12 None hashes by its address
        if isinstance(value, self._content_hashable):
            return True
        if isinstance(value, (tuple, frozenset)) and depth < MAX_CHECK_DEPTH:
            return all(self._hashes_content(v, depth + 1) for v in value)
        return False

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
        if fromlist:
            return _ImportedNames(module, self)
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
        what = self.raw_memory(obj)
        if what is not None:
            raise WriteRefused(f"cannot change {what}")
        if self._ndarray is not None and isinstance(obj, self._ndarray):
            return _ArrayWriter(obj, self)
        if isinstance(obj, type) and obj in self.cell_classes:
            return obj
        if any(cls in self.cell_classes for cls in type(obj).__mro__):
            return obj
        return _ReadOnly(_describe(obj))

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
            what = self.raw_memory(base)
            if what is not None:
                raise CallRefused(f"class {name}: subclassing {what} is not available in cells")
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
        if self._builtins is None:
            table = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
            table.update({
                "getattr": self.getattr,
                "hasattr": self.hasattr,
                "type": self.type_,
                "hash": self.hash_,
                "__import__": self.import_,
                "__build_class__": builtins.__build_class__,
            })
            self._builtins = table
            self._checking = frozenset(id(table[n]) for n in ("getattr", "hasattr", "type", "hash"))
        return dict(self._builtins)

    def hooks(self, print_factory: Callable[..., Any]) -> dict[str, Any]:
        """The names RestrictedPython's compiled code calls (all start with '_', so cells cannot touch them).

        Called once per cell: warnings raised in library code called through ``_call_`` are
        located here, so "default" would show each only once per worker, not once per cell.
        """
        registry = globals().get("__warningregistry__")
        if registry is not None:
            registry.clear()
        return {
            "__builtins__": self.builtins(),
            "__metaclass__": self.make_class,
            "__name__": "cell",
            "_getattr_": self.getattr,
            "_getitem_": self.getitem,
            "_getiter_": self.getiter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": self.write,
            "_inplacevar_": self.inplace,
            "_apply_": self.call,
            "_call_": self.call,
            "_binop_": self.binop,
            "_format_": self.format_value,
            "_value_": self.value,
            "_params_": self.parameters,
            "_checked_": self.checked,
            "_decorator_": self.decorator,
            "_print_": lambda *args: _ScrubbedPrinter(print_factory(*args)),
        }


def _stored_items(value: Any) -> Any:
    """The items a list, tuple, set or view holds, read in C (a subclass's __iter__ could hide some)."""
    if type(value) in (list, tuple):
        return value
    if isinstance(value, list):
        return list.copy(value)
    if isinstance(value, tuple):
        return tuple.__getitem__(value, slice(None))
    if isinstance(value, (set, frozenset)):
        return list(set(value) if isinstance(value, set) else frozenset(value))
    return list(value)


def _own_attribute(obj: Any, name: str) -> Any:
    """``name`` from the object's own __dict__ (not a property, not a library base class)."""
    try:
        return object.__getattribute__(obj, "__dict__").get(name, _MISSING)
    except AttributeError:
        return _MISSING


def _raw_home(home: str) -> bool:
    return any(home == h or home.startswith(h + ".") for h in RAW_MEMORY_HOMES)


def _not_available(where: str | Callable[[], str], verb: str, what: str) -> str:
    hint = "; keep Python objects in a list, numbers in numeric arrays" if what == _OBJECT_ARRAY else ""
    return f"{_where(where)} {verb} {what}, which is not available in cells{hint}"


def _where(where: str | Callable[[], str]) -> str:
    return where if isinstance(where, str) else where()


def _name_of(function: Any) -> str:
    """A short name for messages: ``frombuffer()``, ``ndarray.view()``."""
    if isinstance(function, _GuardedClass):
        function = function._cls
    try:
        name = builtins.getattr(function, "__qualname__", None) or builtins.getattr(function, "__name__", None)
    except Exception:
        name = None
    return f"{name}()" if isinstance(name, str) else f"calling {_describe(function)}"
