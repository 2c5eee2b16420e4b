"""gluon-resnet: neon's model-zoo ResNets (CIFAR-10, Mini-Places2) in MXNet/Gluon, with ONNX interchange."""
import os
import sys
import warnings

# MXNet's CPU build gives OpenMP half the processors on x86 (one thread on a 2-core machine):
# using them all is worth 1.7-1.9x here. Must be set before mxnet is imported; users may override.
if "OMP_NUM_THREADS" not in os.environ and "MXNET_OMP_MAX_THREADS" not in os.environ:
    if "mxnet" in sys.modules:  # too late: MXNet reads it once, when it is imported
        warnings.warn("mxnet was imported before gluon_resnet, so its CPU operators use half the cores; "
                      "import gluon_resnet first or set OMP_NUM_THREADS", stacklevel=2)
    os.environ["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                        else os.cpu_count() or 1)

from .models import CifarResNet, MiniPlacesResNet, ResidualBlock, ZeroPadShortcut, get_model  # noqa: E402
from .summary import count_macs, count_parameters, model_table  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CifarResNet", "MiniPlacesResNet", "ResidualBlock", "ZeroPadShortcut", "get_model",
           "count_macs", "count_parameters", "model_table"]
