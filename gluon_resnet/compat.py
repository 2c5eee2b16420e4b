"""The one place the project imports MXNet from: `from gluon_resnet.compat import mx`.

MXNet 1.9.1 (2022) reads names that later numpy releases removed, and its ONNX exporter imports
`onnx.mapping`, which onnx 1.19 removed. Before `import mxnet`, this module puts back each such name,
and only where the installed numpy lacks it: on Python 3.11 with numpy 1.23.5 it sets nothing. Each
entry of `NUMPY_NAMES` says which numpy releases lack the name and what in MXNet reads it.
`tests/test_compat.py` shows, on the numpy installed, that each restored name is needed (MXNet fails
without it) and behaves as the old numpy's did.

Every process the project starts that uses MXNet's Python package imports it through this module: the
tools and the benchmark's subprocesses. (The packer's workers do not use MXNet; a distributed job's
scheduler and servers call libmxnet.so directly: cluster/kvstore_role.py.)

It also loads Intel's OpenMP runtime ahead of MXNet when it is installed (native.py; `OPENMP` names the
runtime in use; GLUON_RESNET_OPENMP=gnu keeps libgomp).
"""
import importlib
import importlib.abc
import importlib.util
import math
import sys
import types
from dataclasses import dataclass

import numpy as np

from .native import intel_openmp_library, load_openmp


def _version(text):
    return tuple(int(p) for p in text.split(".")[:2])


@dataclass(frozen=True)
class Restored:
    """A numpy name MXNet 1.9.1 reads: missing from numpy `missing_from` up to (not including)
    `missing_until` (None: still missing), and what it was in numpy 1.23."""
    name: str
    missing_from: tuple
    missing_until: tuple
    reader: str
    make: object  # () -> the value to set

    def missing_in(self, version):
        return self.missing_from <= version and (self.missing_until is None or version < self.missing_until)


def _wrapper(name, target):
    """A distinct function calling `target`: MXNet's __array_function__ table is keyed by the numpy
    function object, so an alias of `np.any` would take `np.any`'s entry."""
    def restored(*args, **kwargs):
        return target(*args, **kwargs)
    restored.__name__ = restored.__qualname__ = name
    restored.__doc__ = f"numpy < 2.0's `{name}`: calls `numpy.{target.__name__}`."
    return restored


def _expired(name):
    """numpy 1.20-1.26 answered the financial functions (moved to numpy_financial) with this stub."""
    def expired(*args, **kwargs):
        raise RuntimeError(f"In accordance with NEP 32, the function {name} was removed from NumPy version 1.20.  "
                           f"A replacement for this function is available in the numpy_financial library: "
                           f"https://pypi.org/project/numpy-financial")
    expired.__name__ = expired.__qualname__ = name
    return expired


def _in1d(ar1, ar2, assume_unique=False, invert=False, **kwargs):
    """numpy < 2.4's `in1d`: `isin` on the flattened first argument."""
    return np.isin(np.ravel(ar1), ar2, assume_unique=assume_unique, invert=invert, **kwargs)


def _msort(a):
    """numpy < 2.0's `msort`: a copy sorted along the first axis."""
    return np.sort(a, axis=0)


def _compat_module():
    """numpy < 2.0's `numpy.compat`, with the one name MXNet reads."""
    module = types.ModuleType("numpy.compat")
    module.basestring = str
    sys.modules["numpy.compat"] = module
    return module


V2_0, V2_4 = (2, 0), (2, 4)
_UTILS = "mxnet/numpy/utils.py copies it at import"
_FALLBACK = "mxnet/numpy/fallback.py binds it at import"
_DISPATCH = "mxnet/numpy_dispatch_protocol.py registers it at import"
NUMPY_NAMES = [
    Restored("bool", (1, 24), V2_0, "mxnet/numpy/utils.py copies it at import (numpy 2 has it again)",
             lambda: bool),
    Restored("PZERO", V2_0, None, _UTILS, lambda: 0.0),
    Restored("NZERO", V2_0, None, _UTILS, lambda: -0.0),
    Restored("PINF", V2_0, None, _UTILS, lambda: math.inf),
    Restored("NINF", V2_0, None, _UTILS, lambda: -math.inf),
    Restored("NaN", V2_0, None, _UTILS, lambda: math.nan),
    Restored("NAN", V2_0, None, _UTILS, lambda: math.nan),
    Restored("Inf", V2_0, None, "a default argument in mxnet/gluon/contrib/estimator/event_handler.py",
             lambda: math.inf),
    Restored("alltrue", V2_0, None, _FALLBACK, lambda: _wrapper("alltrue", np.all)),
    Restored("msort", V2_0, None, _FALLBACK, lambda: _msort),
    Restored("in1d", V2_4, None, _FALLBACK, lambda: _in1d),
    Restored("trapz", V2_4, None, _FALLBACK, lambda: _wrapper("trapz", np.trapezoid)),
    *[Restored(f, V2_0, None, _FALLBACK, lambda f=f: _expired(f)) for f in ("mirr", "npv", "pmt", "ppmt", "pv", "rate")],
    Restored("sometrue", V2_0, None, _DISPATCH, lambda: _wrapper("sometrue", np.any)),
    Restored("round_", V2_0, None, _DISPATCH, lambda: _wrapper("round_", np.round)),
    Restored("product", V2_0, None, _DISPATCH, lambda: _wrapper("product", np.prod)),
    Restored("compat", V2_0, None, "mx.np.pad reads numpy.compat.basestring", _compat_module),
]


def _has(name):
    try:
        return hasattr(np, name)
    except Exception:  # numpy's __getattr__ may raise something else for a removed name
        return False


def restore_numpy():
    """Set each name of NUMPY_NAMES that this numpy lacks; return their names."""
    import warnings
    done = []
    with warnings.catch_warnings():  # asking numpy 1.23-1.26 for a name it is retiring warns
        warnings.simplefilter("ignore")
        for entry in NUMPY_NAMES:
            if not _has(entry.name):
                setattr(np, entry.name, entry.make())
                done.append(entry.name)
    return done


def onnx_mapping():
    """onnx < 1.19's `onnx.mapping` (read by MXNet's exporter), built from `onnx.helper`."""
    from onnx import TensorProto, helper
    module = types.ModuleType("onnx.mapping")
    module.TENSOR_TYPE_TO_NP_TYPE = {}
    for t in TensorProto.DataType.values():
        try:
            module.TENSOR_TYPE_TO_NP_TYPE[t] = np.dtype(helper.tensor_dtype_to_np_dtype(t))
        except (KeyError, ValueError, TypeError):
            pass  # UNDEFINED and types numpy has no dtype for
    numpy_types = [np.dtype(c) for c in ("float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "bool",
                                         "float16", "float64", "complex64", "complex128", "uint32", "uint64")]
    module.NP_TYPE_TO_TENSOR_TYPE = {d: helper.np_dtype_to_tensor_dtype(d) for d in numpy_types}
    return module


class _OnnxMappingFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Supplies `onnx.mapping` when the installed onnx has none (onnx >= 1.19); last on sys.meta_path,
    so an onnx that has it answers first."""

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname == "onnx.mapping" else None

    def create_module(self, spec):
        return onnx_mapping()

    def exec_module(self, module):
        pass


# Shared libraries libmxnet.so loads from the system (the wheel bundles the rest), and their Debian packages.
SYSTEM_LIBRARIES = {"libgomp.so.1": "libgomp1", "libquadmath.so.0": "libquadmath0"}


def _import_mxnet():
    """`import mxnet`, with a missing piece of the installation said in one line (SetupError)."""
    from .errors import SetupError
    python = f"Python {sys.version_info[0]}.{sys.version_info[1]}"
    if importlib.util.find_spec("mxnet") is None:
        raise SetupError(f"MXNet is not installed for {python}: {sys.executable} -m pip install --no-deps mxnet==1.9.1 "
                         f"(or run make, which installs everything)")
    if importlib.util.find_spec("distutils") is None:  # MXNet imports distutils.version
        raise SetupError(f"MXNet 1.9.1 imports distutils, which {python} no longer ships: "
                         f"{sys.executable} -m pip install setuptools (it carries a copy)")
    try:
        return importlib.import_module("mxnet")
    except OSError as e:
        missing = next((lib for lib in SYSTEM_LIBRARIES if lib in str(e)), None)
        if missing is None:
            raise
        raise SetupError(f"MXNet's libmxnet.so needs {missing}, which this machine lacks: install it "
                         f"(Debian, Ubuntu: apt-get install {SYSTEM_LIBRARIES[missing]})") from None


RESTORED = restore_numpy()
if not any(isinstance(f, _OnnxMappingFinder) for f in sys.meta_path):
    sys.meta_path.append(_OnnxMappingFinder())
OPENMP = load_openmp()
mx = _import_mxnet()


def submodule(name):
    """`mxnet.<name>` imported (for the parts of MXNet that `mx.` does not reach by attribute)."""
    return importlib.import_module(f"mxnet.{name}")


# ---------------------------------------------------------------- MXNet 1.9.1's private parts
# The only places the project reaches past MXNet's public API; tests/test_compat.py checks that every name
# below is on the installed MXNet, and no other module names them.
PRIVATE = {
    "broadcast_now": [("gluon.Trainer", "_init_kvstore"), ("gluon.Trainer", "_init_params")],
    "barrier": [("kvstore.KVStore", "_barrier")],
    "onnx_converter": [("onnx.mx2onnx._export_helper", "load_module"), ("onnx.mx2onnx._export_onnx", "MXNetGraph")],
    "amp_namespaces": [("symbol", "_internal"), ("ndarray", "_internal"), ("base", "_OP_NAME_PREFIX_LIST")],
    "amp_state": [("contrib.amp.amp", "_amp_initialized"), ("contrib.amp.amp", "_loss_scaler")],
}


def broadcast_now(trainer):
    """`trainer`'s kvstore made and its parameters pulled from the servers now: gluon.Trainer does both
    lazily, inside the first step."""
    trainer._init_kvstore()
    trainer._init_params()


def barrier(kvstore):
    """Wait until every worker of a dist `kvstore` has come here."""
    kvstore._barrier()


def onnx_converter():
    """(load_module, MXNetGraph): the converter under mx.onnx.export_model, which takes an opset."""
    return (submodule("onnx.mx2onnx._export_helper").load_module,
            submodule("onnx.mx2onnx._export_onnx").MXNetGraph)


def amp_namespaces():
    """Every module amp.init() writes to: mx.symbol and mx.ndarray, their `op` and `_internal`
    modules and their per-prefix submodules (contrib, linalg, image, ...)."""
    found = []
    for root in (mx.symbol, mx.ndarray):
        found += [root, root.op, root._internal]
        found += [getattr(root, prefix[1:-1]) for prefix in mx.base._OP_NAME_PREFIX_LIST
                  if hasattr(root, prefix[1:-1])]
    return list({id(m): m for m in found}.values())


def amp_state(state=None):
    """AMP's process-wide state (whether amp.init() ran, its loss scaler); with `state`, set it back."""
    amp = submodule("contrib.amp.amp")  # the module that holds AMP's state, not the package
    if state is not None:
        amp._amp_initialized, amp._loss_scaler = state
    return amp._amp_initialized, amp._loss_scaler


__all__ = ["mx", "OPENMP", "intel_openmp_library", "submodule", "NUMPY_NAMES", "RESTORED", "restore_numpy",
           "onnx_mapping", "PRIVATE", "broadcast_now", "barrier", "onnx_converter", "amp_namespaces", "amp_state"]
