"""gluon-resnet: neon's model-zoo ResNets (CIFAR-10, Mini-Places2) in MXNet/Gluon, with ONNX interchange.

Library users who train on the CPU should call `gluon_resnet.threads.use_all_cores()` before the first
`import mxnet` (the command-line tools do): MXNet otherwise uses half the cores. Importing this package
does not import mxnet; the names below load it when first used.
"""
import importlib

__version__ = "0.1.0"
_EXPORTS = {"CifarResNet": "model.resnet", "MiniPlacesResNet": "model.resnet", "ModelSpec": "model.resnet",
            "ResidualBlock": "model.resnet", "ZeroPadShortcut": "model.resnet", "get_model": "model.resnet",
            "count_macs": "model.summary", "count_parameters": "model.summary", "model_table": "model.summary",
            "TrainConfig": "runs.config", "fit": "train.training", "new_config": "train.start",
            "resumed_config": "train.start"}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
