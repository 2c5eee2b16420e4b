"""`onnx.mapping`, which MXNet's ONNX exporter imports and onnx 1.19 removed, built from `onnx.helper` and
supplied by an import finder only where the installed onnx has none."""
import importlib.abc
import importlib.util
import sys
import types

import numpy as np


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


def install_finder():
    """Put the finder last on sys.meta_path (once)."""
    if not any(isinstance(f, _OnnxMappingFinder) for f in sys.meta_path):
        sys.meta_path.append(_OnnxMappingFinder())
