"""One interface over the runtimes a user deploys the .onnx in: `load(name, path)` returns a
predictor, a function from an NCHW float32 batch to logits.

    onnxruntime     CUDA when onnxruntime-gpu offers it, else CPU
    openvino        CPU in f32 (OpenVINO would pick bf16 on AVX-512 BF16 machines: exact parity needs f32)
    openvino-bf16   CPU with its default bf16 inference precision: faster, about 1 % off in the logits
    opencv          OpenCV's DNN module (cv2.dnn.readNetFromONNX)
    reference       onnx.reference, the ONNX specification in numpy (slow: for tests)
"""
import importlib.util

import numpy as np

from ..errors import UserError

RUNTIMES = ("onnxruntime", "openvino", "openvino-bf16", "opencv", "reference")
DEFAULT = ("onnxruntime", "openvino", "opencv")   # what verify.py runs unless told
# OpenCV 4.11 runs onnxruntime's QDQ graph but misreads it (73 % top-1 error where fp32 has 0.3 % on the
# demo run): verify.py checks INT8 in OpenCV only when asked, and reports that row as failed.
DEFAULT_INT8 = ("onnxruntime", "openvino")
EXACT = {"onnxruntime", "openvino", "opencv", "reference"}  # float32 arithmetic: judged by logit parity
_MODULE = {"onnxruntime": "onnxruntime", "openvino": "openvino", "openvino-bf16": "openvino", "opencv": "cv2",
           "reference": "onnx"}


def installed(name):
    return importlib.util.find_spec(_MODULE[name]) is not None


def parse(text, int8=False):
    """`--runtime a,b` -> names, checked; None or empty -> the defaults (for an fp32 or INT8 model)."""
    if not text:
        return list(DEFAULT_INT8 if int8 else DEFAULT)
    names = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in names if r not in RUNTIMES]
    if unknown:
        raise UserError(f"--runtime {unknown[0]} is not one of {', '.join(RUNTIMES)}")
    return names


def default_provider(available):
    """onnxruntime's execution provider unless one is asked for: CUDA where onnxruntime-gpu offers it."""
    return "CUDAExecutionProvider" if "CUDAExecutionProvider" in available else "CPUExecutionProvider"


def _onnxruntime(path, provider=None):
    import onnxruntime as ort
    available = ort.get_available_providers()
    if provider and provider not in available:
        raise UserError(f"--provider {provider} is not available in this onnxruntime ({', '.join(available)})")
    provider = provider or default_provider(available)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sess = ort.InferenceSession(path, options, providers=[provider])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: np.ascontiguousarray(x, np.float32)})[0]


def _openvino(path, precision):
    import openvino as ov
    compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": precision})
    request = compiled.create_infer_request()
    return lambda x: request.infer([np.ascontiguousarray(x, np.float32)])[0].copy()


def _opencv(path):
    import cv2
    net = cv2.dnn.readNetFromONNX(path)

    def predict(x):
        net.setInput(np.ascontiguousarray(x, np.float32))
        return net.forward().copy()
    return predict


def _reference(path):
    from onnx.reference import ReferenceEvaluator
    sess = ReferenceEvaluator(path)
    return lambda x: sess.run(None, {"data": np.ascontiguousarray(x, np.float32)})[0]


def load(name, path, provider=None):
    """A predictor for the ONNX file at `path` in runtime `name`; raises ImportError when it is not installed."""
    if not installed(name):
        raise ImportError(f"{_MODULE[name]} is not installed")
    if name == "onnxruntime":
        return _onnxruntime(path, provider)
    if name in ("openvino", "openvino-bf16"):
        return _openvino(path, "f32" if name == "openvino" else "bf16")
    if name == "opencv":
        return _opencv(path)
    return _reference(path)


def describe(name, provider=None):
    """Runtime and version, for reports."""
    module = importlib.import_module(_MODULE[name])
    version = getattr(module, "__version__", None) or getattr(module, "get_version", lambda: "?")()
    extra = ""
    if name == "onnxruntime":
        extra = " " + (provider or default_provider(module.get_available_providers()))
    return f"{name} {version}{extra}"
