"""Escapes a code cell must not get away with.

Each attempt is refused before it runs or stopped while it runs, with the
reason in the result; afterwards the host still answers, no file appeared and
no host secret came back. One worker is shared while attempts leave it alive
(the slow ones get a 1.5 s budget and cost a restart).
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from conftest import REGISTRY, FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.agent.cell_kernel import CellKernel
from freecad_spatial.spatial_tools.agent.code_cell import load_config
from freecad_spatial.spatial_tools.context import ToolContext

SECRET = "cell-escape-secret-5b1f0c"


def attempt(name, code, kind, reason):
    return pytest.param(code, kind, reason, id=name)


# (name, code, kind of error, words the reason must contain). {target} is a path a cell must not create.
ESCAPES = [
    # imports
    attempt("import_os", "import os\nos.system('touch {target}')", "policy", "import of 'os' is not allowed"),
    attempt("import_subprocess", "import subprocess", "policy", "import of 'subprocess' is not allowed"),
    attempt("import_socket", "import socket\nsocket.socket()", "policy", "import of 'socket' is not allowed"),
    attempt("import_ctypes", "import ctypes", "policy", "import of 'ctypes' is not allowed"),
    attempt("import_importlib", "import importlib\nimportlib.import_module('os')", "policy", "import of 'importlib'"),
    attempt("import_sys", "import sys\nsys.modules['os']", "policy", "import of 'sys' is not allowed"),
    attempt("from_os_import", "from os import system", "policy", "import from 'os' is not allowed"),
    attempt("import_builtins", "import builtins\nbuiltins.open", "policy", "import of 'builtins'"),
    attempt("import_signal", "import signal\nsignal.signal(2, print)", "policy", "import of 'signal'"),
    attempt("import_operator_attrgetter", "import operator\noperator.attrgetter('__class__')(1)", "policy",
            "import of 'operator'"),
    attempt("time_sleep", "import time\ntime.sleep(1e9)", "policy", "import of 'time' is not allowed"),
    attempt("from_time_import_sleep", "from time import sleep\nsleep(1e9)", "policy", "import from 'time' is not allowed"),
    attempt("threading_wait", "import threading\nthreading.Event().wait()", "policy", "import of 'threading'"),
    attempt("asyncio_sleep", "import asyncio\nasyncio.run(asyncio.sleep(1e9))", "policy", "import of 'asyncio'"),
    attempt("select_forever", "import select\nselect.select([], [], [])", "policy", "import of 'select'"),
    attempt("signal_pause", "import signal\nsignal.pause()", "policy", "import of 'signal'"),
    attempt("dunder_import", "__import__('os')", "policy", "starts with \"_\""),
    attempt("builtins_dict", "__builtins__['open']('{target}', 'w')", "policy", "starts with \"_\""),
    attempt("import_numpy_ctypeslib", "import numpy.ctypeslib", "policy", "import of 'numpy.ctypeslib'"),
    attempt("from_numpy_import_load", "from numpy import load", "policy", "'numpy.load' is not available"),
    attempt("relative_import", "from . import cell_worker", "policy", "relative imports"),
    # dunder and frame walks
    attempt("subclasses_walk", "().__class__.__mro__[1].__subclasses__()", "policy", "\"__class__\" is an invalid"),
    attempt("getattr_built_name", "getattr((), '__cl' + 'ass__')", "policy", "'__class__': attribute names"),
    attempt("getattr_bound_self", "getattr(getattr, '__se' + 'lf__')", "policy", "'__self__'"),
    attempt("format_attribute", "'{0.__class__}'.format(1)", "policy", "'__class__'"),
    attempt("format_map_attribute", "'{x.__class__.__mro__}'.format_map({'x': 1})", "policy", "'__class__'"),
    attempt("str_format_unbound", "str.format('{0.__globals__}', submit)", "policy", "'__globals__'"),
    attempt("format_frame_field", "'{0.gi_frame.f_globals}'.format((i for i in [1]))", "policy", "'gi_frame'"),
    attempt("fstring_dunder", "f'{(1).__class__!r}'", "policy", "\"__class__\" is an invalid"),
    attempt("fstring_dict", "f'{tools.__dict__}'", "policy", "\"__dict__\" is an invalid"),
    attempt("generator_frame_walk", "g = (i for i in [1])\ng.gi_frame.f_back.f_globals", "policy", "\"gi_frame\""),
    attempt("generator_frame_getattr", "def gen():\n    yield 1\ng = gen()\nnext(g)\ngetattr(g, 'gi_fr' + 'ame')",
            "policy", "'gi_frame'"),
    attempt("generator_code_getattr", "g = (i for i in [1])\ngetattr(g, 'gi_' + 'code').co_consts", "policy", "'gi_code'"),
    attempt("coroutine_frame", "async def c():\n    pass\nc().cr_frame", "policy", "AsyncFunctionDef"),
    attempt("traceback_frame", "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame", "policy",
            "\"__traceback__\""),
    attempt("traceback_getattr", "try:\n    1 / 0\nexcept Exception as e:\n    t = getattr(e, '__trace' + 'back__')",
            "policy", "'__traceback__'"),
    attempt("exception_context_walk", "try:\n    try:\n        1 / 0\n    except Exception:\n        raise ValueError()\n"
            "except Exception as e:\n    getattr(e, '__cont' + 'ext__')", "policy", "'__context__'"),
    attempt("tool_error_traceback", "try:\n    tools.mass_properties(object='Nope')\nexcept ToolFailed as e:\n"
            "    t = getattr(e, '__trace' + 'back__')", "policy", "'__traceback__'"),
    attempt("traceback_via_format", "try:\n    1 / 0\nexcept Exception as e:\n    '{0.__traceback__.tb_frame}'.format(e)",
            "policy", "'__traceback__'"),
    attempt("function_globals", "submit.__globals__['_WORKER'].channel", "policy", "\"__globals__\""),
    attempt("tools_private_getattr", "getattr(type(tools), '__get' + 'attr__')", "policy", "'__getattr__'"),
    attempt("type_three_args", "type('X', (), {'__getattr__': print})", "policy", "type() takes exactly one"),
    attempt("type_alias_three_args", "t = type\nt('X', (), {})", "policy", "type() takes exactly one"),
    attempt("type_of_a_class", "type(int)", "policy", "type() of a class"),
    attempt("metaclass_keyword", "class X(metaclass=print):\n    pass", "policy", "metaclass"),
    attempt("metaclass_subclass", "class M(type):\n    pass", "policy", "not a class"),
    attempt("init_subclass", "class A:\n    def __init_subclass__(cls):\n        pass", "policy", "\"__init_subclass__\""),
    attempt("class_slots", "class A:\n    __slots__ = ()", "policy", "\"__slots__\""),
    attempt("mro_walk", "int.mro()", "policy", "'mro' is not available"),
    attempt("decorator_smuggle", "def grab(f):\n    return getattr(f, '__glob' + 'als__')\n@grab\ndef g():\n    pass",
            "policy", "'__globals__'"),
    attempt("decorator_code_object", "def grab(f):\n    return getattr(f, '__co' + 'de__').co_consts\n@grab\ndef g():\n    pass",
            "policy", "'__code__'"),
    attempt("decorator_functools_wraps", "import functools\n@functools.wraps(submit)\ndef g():\n    pass", "policy",
            "'functools.wraps' is not available"),
    attempt("class_decorator_dict", "def grab(cls):\n    return getattr(cls, '__di' + 'ct__')\n@grab\nclass A:\n    pass",
            "policy", "'__dict__'"),
    attempt("lambda_default_getattr", "(lambda g=getattr: g(submit, '__glob' + 'als__'))()", "policy", "'__globals__'"),
    attempt("reduce_getattr", "import functools\nfunctools.reduce(getattr, ['__class__', '__base__'], 1)",
            "policy", "'__class__'"),
    attempt("functools_update_wrapper", "import functools\nfunctools.update_wrapper", "policy",
            "'functools.update_wrapper' is not available"),
    attempt("userstring_format", "import collections\ncollections.UserString('{0.__class__}').format(1)", "policy",
            "'collections.UserString' is not available"),
    attempt("exception_group", "try:\n    pass\nexcept* ValueError:\n    pass", "policy", "TryStar"),
    # numpy
    attempt("np_load", "np.load('/etc/passwd')", "policy", "'numpy.load' is not available"),
    attempt("np_load_getattr", "getattr(np, 'lo' + 'ad')('/etc/passwd')", "policy", "'numpy.load' is not available"),
    attempt("np_ctypeslib", "np.ctypeslib.as_array", "policy", "'numpy.ctypeslib' is not available"),
    attempt("np_lib_npyio", "np.lib.npyio.os.environ", "policy", "'numpy.lib' is not available"),
    attempt("np_save", "np.save('{target}', np.zeros(3))", "policy", "'numpy.save' is not available"),
    attempt("np_savetxt", "np.savetxt('{target}', np.zeros(3))", "policy", "'numpy.savetxt' is not available"),
    attempt("np_fromfile", "np.fromfile('/etc/passwd')", "policy", "'numpy.fromfile' is not available"),
    attempt("np_memmap", "np.memmap('{target}', mode='w+', shape=(3,))", "policy", "'numpy.memmap' is not available"),
    attempt("np_datasource", "np.DataSource().open('/etc/passwd')", "policy", "'numpy.DataSource' is not available"),
    attempt("ndarray_tofile", "np.zeros(3).tofile('{target}')", "policy", "'tofile' is not available"),
    attempt("ndarray_tofile_getattr", "getattr(np.zeros(3), 'to' + 'file')('{target}')", "policy",
            "'tofile' is not available"),
    attempt("ndarray_dump", "np.zeros(3).dump('{target}')", "policy", "'dump' is not available"),
    attempt("ndarray_ctypes", "np.zeros(3).ctypes.data", "policy", "'ctypes' is not available"),
    attempt("bitgenerator_ctypes", "np.random.default_rng().bit_generator.ctypes", "policy", "'ctypes'"),
    attempt("bitgenerator_cffi", "getattr(np.random.default_rng().bit_generator, 'cf' + 'fi')", "policy", "'cffi'"),
    attempt("np_testing", "np.testing", "policy", "'numpy.testing' is not available"),
    attempt("np_core_module", "np.core.multiarray", "policy", "module 'numpy.core'"),
    attempt("np_random_mtrand", "np.random.mtrand", "policy", "'numpy.random.mtrand' is not available"),
    attempt("np_info_source", "np.info(np.load)", "policy", "'numpy.info' is not available"),
    # numpy constructors and methods that address raw memory (forged pointers, reads past a buffer)
    attempt("ndarray_object_over_bytes", "np.ndarray((2,), dtype=object, buffer=b'x' * 16)", "policy",
            "with a buffer, offset or strides"),
    attempt("ndarray_negative_offset", "np.ndarray((2,), np.int64, np.zeros(2), -8)", "policy",
            "with a buffer, offset or strides"),
    attempt("ndarray_via_type", "type(np.zeros(1))((2,), object, b'x' * 16)", "policy", "with a buffer"),
    attempt("recarray_negative_offset", "np.recarray((2,), dtype=[('a', 'i8')], buf=b'x' * 16, offset=-16)",
            "policy", "recarray() with a buffer"),
    # numpy 2.4 loads np.chararray lazily (deprecated): a cell cannot reach it at all there.
    attempt("chararray_negative_offset", "np.chararray((2,), itemsize=4, buffer=b'x' * 8, offset=-8)", "policy",
            "chararray() with a buffer" if "chararray" in vars(np) else "'numpy.chararray' is not loaded"),
    attempt("ndarray_imported_by_name", "from numpy import ndarray\nndarray((2,), object, b'x' * 16)", "policy",
            "with a buffer, offset or strides"),
    attempt("scalartype_imported_by_name", "from numpy import ScalarType\nScalarType[6]", "policy",
            "'ScalarType' holds class 'memoryview'"),
    attempt("ndarray_subclass", "class A(np.ndarray):\n    pass", "policy", "subclassing"),
    attempt("ndarray_resize_dangling", "a = np.zeros(10)\nb = a[:]\na.resize(10 ** 6, refcheck=False)", "policy",
            "'resize' of numpy arrays"),
    # raw memory through numpy (memoryviews, buffers, capsules, arrays of object pointers), whatever holds it
    attempt("scalartype_memoryview", "np.ScalarType[6](bytearray(16))", "policy",
            "'ScalarType' holds class 'memoryview'"),
    attempt("scalartype_generator", "next(t for t in np.ScalarType if 'memory' in repr(t))", "policy",
            "'ScalarType' holds class 'memoryview'"),
    attempt("scalartype_nested_container", "[{'t': (np.ScalarType,)}][0]['t'][0][6]", "policy",
            "'ScalarType' holds class 'memoryview'"),
    attempt("scalartype_mapping", "dict(enumerate(np.ScalarType))[6]", "policy", "'ScalarType' holds class 'memoryview'"),
    attempt("module_walk_vars_like", "[getattr(np, n) for n in dir(np) if n.endswith('Type')]", "policy",
            "'ScalarType' holds class 'memoryview'"),
    attempt("scalartype_computed_name", "getattr(np, 'Scalar' + 'Type')[6]", "policy", "holds class 'memoryview'"),
    attempt("ndarray_data_memoryview", "np.zeros(3).data.cast('B')", "policy", "'data' of numpy arrays and scalars"),
    attempt("scalar_data_memoryview", "np.float64(1.5).data", "policy", "'data' of numpy arrays and scalars"),
    attempt("data_computed_name", "getattr(np.ones(2), 'da' + 'ta')", "policy", "'data' of numpy arrays and scalars"),
    attempt("data_through_format_field", "'{0.data.obj}'.format(np.zeros(2))", "policy", "'data' of numpy arrays"),
    attempt("data_through_map", "list(map(lambda a: a.data, [np.zeros(1)]))", "policy", "'data' of numpy arrays"),
    attempt("data_of_a_class", "type(np.zeros(1)).data", "policy", "'data' of numpy arrays and scalars"),
    attempt("nditer_views_data", "np.nditer(np.zeros(2)).itviews[0].data", "policy", "'data' of numpy arrays"),
    attempt("frombuffer_base_memoryview", "np.frombuffer(bytearray(8), np.uint8).base", "policy",
            "'base' is a memoryview"),
    attempt("bitgenerator_capsule", "np.random.default_rng().bit_generator.capsule", "policy", "a raw C pointer"),
    attempt("ndarray_data_swap", "a = np.zeros(4)\nb = a[1:]\na.data = np.ones(8).tobytes()\nb", "policy",
            "cannot assign 'data' of a numpy array"),
    attempt("ndarray_strides_repoint", "a = np.zeros(4)\na.strides = (0,)", "policy", "cannot assign 'strides'"),
    attempt("ndarray_strides_augmented", "a = np.zeros(4)\na.strides += (0,)", "policy", "cannot assign 'strides'"),
    attempt("ndarray_data_augmented", "a = np.zeros(4)\na.data += b''", "policy", "'data' of numpy arrays"),
    attempt("ndarray_shape_assign", "a = np.zeros(4)\na.shape = (2, 2)", "policy", "cannot assign 'shape'"),
    attempt("ndarray_shape_delete", "a = np.zeros(4)\ndel a.shape", "policy", "cannot delete 'shape'"),
    attempt("ndarray_dtype_reinterpret", "a = np.zeros(2, np.int64)\na.dtype = np.dtype(object)", "policy",
            "cannot assign 'dtype'"),
    attempt("recarray_field_named_data", "r = np.zeros(2, dtype=[('data', 'f8')]).view(np.recarray)\n"
            "r.data = np.ones(64).tobytes()", "policy", "cannot assign 'data' of a numpy array"),
    attempt("view_as_objects", "np.arange(2).view(object)", "policy", "view() as a dtype holding Python objects"),
    attempt("unbound_view_as_objects", "np.ndarray.view(np.arange(2), [('p', 'O')])", "policy",
            "view() as a dtype holding Python objects"),
    attempt("getfield_as_objects", "np.arange(2).getfield(object)", "policy", "getfield() as a dtype holding"),
    attempt("object_array_pointer_write", "o = np.array([1.5, None])\nv = np.frombuffer(o, np.int64)\nv[0] += 16\no[0]",
            "policy", "numpy array of Python objects"),
    attempt("object_array_by_constructor", "np.ndarray((2,), object)", "policy",
            "the result of ndarray() is a numpy array of Python objects"),
    attempt("object_field_pointer_bytes", "np.zeros(1, dtype=[('p', 'O'), ('n', 'i8')]).tobytes()", "policy",
            "numpy array of Python objects"),
    attempt("object_array_by_operator", "from fractions import Fraction\no = np.arange(2) * Fraction(1, 3)\n"
            "np.frombuffer(o, np.int64)", "policy", "the result of `*` is a numpy array of Python objects"),
    attempt("object_array_in_callback", "np.fromfunction(lambda i: np.frombuffer(i, np.uint8), (2,), dtype=object)",
            "policy", "an argument a cell function was called with is a numpy array of Python objects"),
    attempt("object_rows_in_callback", "from fractions import Fraction\n"
            "np.apply_along_axis(lambda r: bytearray(8) < r, 0, [[Fraction(1, 2)]])", "policy",
            "an argument a cell function was called with"),
    attempt("object_array_from_iterator", "next(np.nditer([[None, 1]], flags=['refs_ok']))", "policy",
            "iterates over a numpy array of Python objects"),
    attempt("iterator_casting_to_objects", "it = np.nditer(np.arange(3), ['buffered', 'refs_ok'], op_dtypes=[object])\n"
            "[bytearray(8) < x for x in it]", "policy", "iterates over a numpy array of Python objects"),
    attempt("matrix_resize_dangling", "a = np.matrix(np.zeros((1, 4)))\nb = a[:]\n"
            "np.matrix.resize(a, (1, 10 ** 6), refcheck=False)", "policy", "'resize' of numpy arrays"),
    # object addresses (the rest of that class is in ADDRESS_LEAKS: shown without the address)
    attempt("id_address", "id(submit)", "policy", "'id' is not available"),
    attempt("hash_address", "'%x' % hash(submit)", "policy", "hash() of a function object is not available"),
    attempt("address_in_text_array", "np.array([submit, tools], dtype=str)", "policy",
            "holds text with an object's memory address"),
    # host state through other modules
    attempt("statistics_sys_environ", "import statistics\nstatistics.sys.modules['os'].environ", "policy", "module 'sys'"),
    attempt("fractions_re_module", "import fractions\nfractions.re", "policy", "'fractions.re' is not available"),
    attempt("json_decoder_module", "import json\njson.decoder", "policy", "'json.decoder' is not available"),
    attempt("random_private_os", "import random\ngetattr(random, '_o' + 's').environ", "policy", "'_os'"),
    # resources
    attempt("recursion_bomb", "def f():\n    return f()\nf()", "runtime", "RecursionError"),
    attempt("mutual_recursion_bomb", "def a():\n    return b()\ndef b():\n    return a()\na()", "runtime",
            "RecursionError"),
    attempt("nested_data_recursion", "x = []\nfor i in range(10 ** 5):\n    x = [x]\nstr(x)", "runtime", "RecursionError"),
    attempt("busy_loop", "while True:\n    pass", "timeout", "time budget"),
    attempt("huge_power", "x = 10 ** 10 ** 8", "timeout", "time budget"),
    attempt("string_bomb", "x = 'x' * 10 ** 10", "memory", "memory budget"),
    attempt("list_bomb", "x = [0] * 10 ** 10", "memory", "memory budget"),
    attempt("range_bomb", "x = list(range(10 ** 10))", "memory", "memory budget"),
    attempt("numpy_bomb", "x = np.ones((10 ** 5, 10 ** 5))", "memory", "memory budget"),
    attempt("growing_bomb", "x = []\nwhile True:\n    x.append(bytearray(10 ** 6))", "memory", "memory budget"),
    attempt("print_flood", "while True:\n    print('x' * 1000)", "output", "printed more than"),
    attempt("one_huge_print", "print('x' * 10 ** 7)", "output", "printed more than"),
    attempt("print_through_stdout_route", "print(*range(10 ** 6))", "output", "printed more than"),
    # files, code from strings, namespaces
    attempt("open_write", "open('{target}', 'w').write('x')", "policy", "'open' is not available"),
    attempt("print_to_file", "print('x', file=tools)", "policy", "print(file=...)"),
    attempt("exec_string", "exec('import os')", "policy", "'exec' is not available"),
    attempt("eval_string", "eval('1 + 1')", "policy", "'eval' is not available"),
    attempt("compile_string", "compile('1', 'f', 'eval')", "policy", "'compile' is not available"),
    attempt("globals_dict", "globals()['tools']", "policy", "'globals' is not available"),
    attempt("locals_dict", "locals()", "policy", "'locals' is not available"),
    attempt("vars_dict", "vars(tools)", "policy", "'vars' is not available"),
    attempt("exit_call", "exit()", "policy", "'exit' is not available"),
    attempt("quit_call", "quit()", "policy", "'quit' is not available"),
    attempt("raise_system_exit", "raise SystemExit(0)", "policy", "'SystemExit' is not available"),
    attempt("raise_keyboard_interrupt", "raise KeyboardInterrupt", "policy", "'KeyboardInterrupt' is not available"),
    attempt("catch_base_exception", "try:\n    pass\nexcept BaseException:\n    pass", "policy",
            "'BaseException' is not available"),
    attempt("finally_swallow", "for i in range(1):\n    try:\n        submit(1)\n    finally:\n        continue", "policy",
            "inside a finally block"),
    attempt("finally_return", "def f():\n    try:\n        pass\n    finally:\n        return 1", "policy",
            "inside a finally block"),
    attempt("breakpoint_call", "breakpoint()", "policy", "'breakpoint' is not available"),
    attempt("input_call", "input()", "policy", "'input' is not available"),
    attempt("help_call", "help(tools)", "policy", "'help' is not available"),
    attempt("delete_builtins", "del __builtins__", "policy", "starts with \"_\""),
    attempt("delete_print", "del print", "policy", "reserved name"),
    # the bridge and the preloaded objects
    attempt("setattr_tools", "setattr(tools, 'mass_properties', print)", "policy", "'setattr' is not available"),
    attempt("replace_tool", "tools.mass_properties = lambda **k: {}", "policy", "cannot change a ToolBox"),
    attempt("replace_numpy_function", "np.zeros = print", "policy", "cannot change module 'numpy'"),
    attempt("replace_math_constant", "math.pi = 3", "policy", "cannot change module 'math'"),
    attempt("replace_submit_attribute", "submit.target = 1", "policy", "cannot change a function"),
    attempt("pipe_private_attribute", "tools._channel", "policy", "starts with \"_\""),
    attempt("pipe_by_name", "tools.channel", "runtime", "no tool named 'channel'"),
    attempt("worker_globals_via_property", "getattr(type(doc).objects.fget, '__glo' + 'bals__')", "policy",
            "'__globals__'"),
    attempt("closure_cells", "getattr(submit, '__clo' + 'sure__')", "policy", "'__closure__'"),
    # the OS layer: passes the Python policy, stopped by seccomp (EPERM) or the descriptor limit (EMFILE)
    attempt("codec_file_read", "b'abc'.decode('rot13')", "runtime", "[Errno"),
]


# The categories, each with the attempts that cover it (test_every_category_is_covered).
CATEGORIES = {
    "import tricks": ["import_os", "import_subprocess", "import_socket", "import_ctypes", "import_importlib",
                      "import_sys", "from_os_import", "import_builtins", "dunder_import", "builtins_dict",
                      "relative_import", "import_numpy_ctypeslib", "from_numpy_import_load", "ndarray_imported_by_name"],
    "().__class__.__mro__ walks": ["subclasses_walk", "mro_walk", "format_map_attribute", "reduce_getattr"],
    "getattr with built strings": ["getattr_built_name", "getattr_bound_self", "generator_frame_getattr",
                                   "traceback_getattr", "np_load_getattr", "ndarray_tofile_getattr", "random_private_os",
                                   "closure_cells", "worker_globals_via_property", "tools_private_getattr"],
    "format-string attribute access": ["format_attribute", "format_map_attribute", "str_format_unbound",
                                       "format_frame_field", "fstring_dunder", "fstring_dict", "userstring_format"],
    "generator/frame walks": ["generator_frame_walk", "generator_frame_getattr", "generator_code_getattr",
                              "coroutine_frame", "format_frame_field"],
    "type() and metaclass tricks": ["type_three_args", "type_alias_three_args", "type_of_a_class", "metaclass_keyword",
                                    "metaclass_subclass", "init_subclass", "class_slots", "ndarray_via_type"],
    "decorators": ["decorator_smuggle", "decorator_code_object", "decorator_functools_wraps", "class_decorator_dict"],
    "exceptions carrying tracebacks": ["traceback_frame", "traceback_getattr", "exception_context_walk",
                                       "tool_error_traceback", "traceback_via_format"],
    "recursion bombs": ["recursion_bomb", "mutual_recursion_bomb", "nested_data_recursion"],
    "memory bombs": ["string_bomb", "list_bomb", "range_bomb", "numpy_bomb", "growing_bomb"],
    "endless loops": ["busy_loop", "huge_power"],
    "huge outputs": ["print_flood", "one_huge_print", "print_through_stdout_route"],
    "sleeping forever": ["time_sleep", "from_time_import_sleep", "threading_wait", "asyncio_sleep", "select_forever",
                         "signal_pause"],
    "files, sockets, processes": ["open_write", "np_save", "np_memmap", "ndarray_tofile", "import_socket",
                                  "import_subprocess", "codec_file_read"],
    "raw memory in containers": ["scalartype_memoryview", "scalartype_generator", "scalartype_nested_container",
                                 "scalartype_mapping", "module_walk_vars_like", "scalartype_computed_name",
                                 "scalartype_imported_by_name", "object_array_from_iterator",
                                 "iterator_casting_to_objects"],
    "raw memory as an attribute": ["ndarray_data_memoryview", "scalar_data_memoryview", "data_computed_name",
                                   "data_through_format_field", "data_through_map", "data_of_a_class",
                                   "nditer_views_data", "frombuffer_base_memoryview", "bitgenerator_capsule"],
    "buffer assignment": ["ndarray_data_swap", "ndarray_strides_repoint", "ndarray_strides_augmented",
                          "ndarray_data_augmented", "ndarray_shape_assign", "ndarray_shape_delete",
                          "ndarray_dtype_reinterpret", "recarray_field_named_data", "matrix_resize_dangling"],
    "object pointers in array memory": ["view_as_objects", "unbound_view_as_objects", "getfield_as_objects",
                                        "object_array_pointer_write", "object_array_by_constructor",
                                        "object_field_pointer_bytes", "object_array_by_operator",
                                        "object_array_in_callback", "object_rows_in_callback"],
    "object addresses": ["id_address", "hash_address", "address_in_text_array"],
}


def test_every_category_is_covered():
    ids = {p.id for p in ESCAPES}
    assert len(ids) == len(ESCAPES)  # names are unique
    for category, names in CATEGORIES.items():
        assert names and set(names) <= ids, (category, set(names) - ids)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("escape") / "pwned"


@pytest.fixture(scope="module")
def document():
    document = FreeCAD.newDocument("CellEscapes")
    add_shape(document, "Box", Part.makeBox(1, 2, 3))
    yield document
    FreeCAD.closeDocument(document.Name)


def _kernel(document, **budget):
    config = load_config().with_budget(**budget)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FREECAD_SPATIAL_CELL_SECRET", SECRET)
        with CellKernel(lambda name, args: REGISTRY.call(name, args, ToolContext(document=document)),
                        config=config) as k:
            k.start()
            yield k


@pytest.fixture(scope="module")
def kernel(document):
    """A short wall clock, so endless loops cost little."""
    yield from _kernel(document, time_s=1.5, cpu_s=3, memory_mb=256)


@pytest.fixture(scope="module")
def roomy_kernel(document):
    """For memory bombs: time enough to fill 256 MB page by page on a loaded machine, so memory runs out first."""
    yield from _kernel(document, time_s=20.0, cpu_s=20, memory_mb=256)


def test_there_are_at_least_fifty_distinct_attempts():
    codes = [p.values[0] for p in ESCAPES]
    assert len(set(codes)) == len(codes) >= 50


@pytest.mark.parametrize(("code", "kind", "reason"), ESCAPES)
def test_escape_is_refused_or_stopped(request, target, code, kind, reason):
    kernel = request.getfixturevalue("roomy_kernel" if kind == "memory" else "kernel")
    result = kernel.run(code.replace("{target}", str(target)))
    error = result["error"]
    assert not result["ok"] and error is not None, result
    assert error["kind"] == kind, error
    assert reason.lower() in error["message"].lower(), error
    assert result["submitted"] is None
    # The host is unharmed: it answers, nothing was written, no host secret came back.
    assert not target.exists()
    assert SECRET not in json.dumps(result)
    assert os.environ["FREECAD_SPATIAL_CELL_SECRET"] == SECRET
    after = kernel.run("6 * 7")
    assert after["value"] == "42", after
    assert kernel.run("tools.mass_properties(object='Box')['volume']")["value"] == "6.0"


# Texts that would show an object's memory address ("<function submit at 0x7f...>"): whatever a
# cell does with them, no address reaches its output, value, error or answer.
ADDRESS_LEAKS = [
    pytest.param(code, id=name) for name, code in [
        ("percent_format", "'%s' % submit"),
        ("percent_format_bytes", "b'%r' % submit"),
        ("percent_augmented", "s = '%r'\ns %= (print,)\ns"),
        ("str_call", "str(submit)"),
        ("repr_of_a_list", "repr([submit, print])"),
        ("ascii_call", "ascii(lambda: 0)"),
        ("format_call", "format(submit)"),
        ("fstring", "f'{submit}'"),
        ("fstring_repr_spec", "f'{submit!r:>{60}}'"),
        ("str_format", "'{} {!r}'.format(submit, print)"),
        ("str_format_map", "'{f}'.format_map({'f': submit})"),
        ("print_function", "print(submit, print)"),
        ("print_in_last_expression", "print(lambda: 0)"),
        ("printed_variable", "def f():\n    print(f)\n    return printed\nf()"),
        ("value_of_a_function", "submit"),
        ("value_of_a_bound_method", "[].append"),
        ("value_of_an_object", "class A:\n    pass\nA()"),
        ("generator_value", "(i for i in [1])"),
        ("iterator_value", "iter([1])"),
        ("numpy_generator_repr", "repr(np.random.default_rng())"),
        ("bit_generator_repr", "repr(np.random.default_rng().bit_generator)"),
        ("nditer_repr", "np.nditer(np.zeros(1))"),
        ("map_of_str", "list(map(str, [submit]))"),
        ("json_default_str", "import json\njson.dumps({'f': submit}, default=str)"),
        ("join_of_reprs", "''.join(map(repr, [submit, print]))"),
        ("error_message", "{}[submit]"),
        ("numpy_error_message", "np.dtype(submit)"),
        ("exception_args", "try:\n    np.dtype(submit)\nexcept TypeError as e:\n    a = e.args\na"),
        ("exception_str", "try:\n    {}[print]\nexcept KeyError as e:\n    print(str(e), e)"),
        # what a cell submits and the warnings it raises go back to the model too
        ("submitted_answer", "submit(submit)"),
        ("submitted_finding", "submit('a', [{'rule': 'x', 'message': print}])"),
        ("warning_text", "import warnings\nwarnings.warn(str(print))"),
        # fresh numpy memory as it was left: freed objects' pointers
        ("empty_heap_pointers", "s = [str(i) * 10 for i in range(1000)]\ndel s\n"
         "[hex(int(v)) for v in np.empty(512, np.uint64) if v > 2 ** 40]"),
        ("empty_like_heap_pointers", "s = [str(i) * 10 for i in range(1000)]\ndel s\n"
         "[hex(int(v)) for v in np.empty_like(np.zeros(512, np.uint64)) if v > 2 ** 40]"),
        ("ndarray_heap_pointers", "s = [str(i) * 10 for i in range(1000)]\ndel s\n"
         "[hex(int(v)) for v in np.ndarray((512,), np.uint64) if v > 2 ** 40]"),
    ]
]
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


@pytest.mark.parametrize("code", ADDRESS_LEAKS)
def test_no_object_address_reaches_the_output(kernel, code):
    result = kernel.run(code)
    assert result["ok"] or result["error"]["kind"] in ("policy", "runtime"), result
    assert not ADDRESS.search(json.dumps(result)), result
