"""gluon-resnet: neon's model-zoo ResNets (CIFAR-10, Mini-Places2) in MXNet/Gluon, with ONNX interchange."""
import os

# MXNet's CPU build gives OpenMP half the processors on x86 (one thread on a 2-core machine):
# using them all is worth 1.7-1.9x here. Must be set before mxnet is imported; users may override.
if "OMP_NUM_THREADS" not in os.environ and "MXNET_OMP_MAX_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                        else os.cpu_count() or 1)

from .models import CifarResNet, MiniPlacesResNet, ResidualBlock, ZeroPadShortcut, get_model  # noqa: E402
from .summary import count_macs, count_parameters, model_table  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CifarResNet", "MiniPlacesResNet", "ResidualBlock", "ZeroPadShortcut", "get_model",
           "count_macs", "count_parameters", "model_table"]
