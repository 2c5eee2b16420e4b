"""The one place the project imports MXNet from: `from gluon_resnet.compat import mx`.

MXNet 1.9.1 (2022) reads names that later numpy releases removed (numpy_names.py), and its ONNX exporter
imports `onnx.mapping`, which onnx 1.19 removed (onnx_mapping.py). mxnet_import.py puts those back, loads
Intel's OpenMP runtime ahead of MXNet where it is installed (`OPENMP` names the runtime in use), and imports
MXNet. private.py holds every use of MXNet's private API.

Every process the project starts that uses MXNet's Python package imports it through this package: the
tools and the benchmark's subprocesses. (The packer's workers do not use MXNet; a distributed job's
scheduler and servers call libmxnet.so directly: cluster/kvstore_role.py.)
"""
from ..native import intel_openmp_library
from .mxnet_import import OPENMP, RESTORED, mx, submodule
from .numpy_names import NUMPY_NAMES, restore_numpy
from .onnx_mapping import onnx_mapping
from .private import PRIVATE, amp_namespaces, amp_state, barrier, broadcast_now, onnx_converter

__all__ = ["mx", "OPENMP", "intel_openmp_library", "submodule", "NUMPY_NAMES", "RESTORED", "restore_numpy",
           "onnx_mapping", "PRIVATE", "broadcast_now", "barrier", "onnx_converter", "amp_namespaces", "amp_state"]
