"""The numpy names MXNet 1.9.1 (2022) reads and later numpy releases removed: each entry of NUMPY_NAMES says
which numpy releases lack it and what in MXNet reads it; restore_numpy() sets those the installed numpy lacks
(on Python 3.11 with numpy 1.23.5, none). tests/test_compat.py shows, on the numpy installed, that each restored
name is needed (MXNet fails without it) and behaves as the old numpy's did."""
import math
import sys
import types
from dataclasses import dataclass

import numpy as np


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
