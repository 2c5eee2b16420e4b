"""Static INT8 quantization of a run's ONNX model with onnxruntime's tools: QDQ format, per-channel
int8 weights, uint8 activations, calibrated on training images of the run's own packed dataset read
through the evaluation preprocessing.

Why uint8 activations (U8S8): onnxruntime's CPU kernels fuse every Conv, Add and the Gemm into
QLinearConv / QLinearAdd / QGemm with them, 2.1x fp32 on the demo's ResNet-20 (AVX-512 VNNI, batch
128); with int8 activations (S8S8) half the convolutions stay DequantizeLinear -> Conv -> QuantizeLinear
and the model ran at 0.55x fp32. VNNI accumulates u8 x s8 in 32 bits, so U8S8 has no saturation issue.
"""
import json
import os
import tempfile

from ..data.integrity import open_dataset
from ..data.iterators import multiscale_batches
from ..errors import UserError
from ..runs.folder import Run
from . import onnx_io


class _Calibration:
    """onnxruntime's CalibrationDataReader over the first `images` training records (shuffled at
    pack time, so the classes are mixed), at the input size, minus the mean: what evaluation feeds."""

    def __init__(self, data_dir, meta, images, batch_size=50):
        self.batches = (batch[meta.crop_size] for _, batch in
                        multiscale_batches(data_dir, meta, (meta.crop_size,), batch_size, "train", images))

    def get_next(self):
        x = next(self.batches, None)
        return None if x is None else {"data": x}

    def rewind(self):  # part of CalibrationDataReader's interface; quantize_static reads the data once
        pass


def quantize(save_dir, data_dir=None, out=None, images=300, method="MinMax", full_range=False):
    """<save_dir>/model.int8.onnx from the run's model.onnx (exported first when missing); returns its path.

    Weights use 7 bits of their int8 range (onnxruntime's reduce_range) unless `full_range`: x86 CPUs
    without VNNI (AVX2, AVX-512 before VNNI) multiply uint8 x int8 pairs into int16 with saturation, and
    full-range weights overflow there. Measured on a ResNet-8 of the digits on an AMD EPYC (AVX2, no VNNI):
    full range, 6.4 points more top-1 error than fp32 in onnxruntime and 2.5 in OpenVINO; 7 bits, 0.6 in
    both. CPUs with VNNI run either correctly."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    run = Run(save_dir)
    fp32 = onnx_io.ensure_export(run)
    source = onnx_io.load(fp32, require_props=True)
    props = onnx_io.read_props(source)
    state = run.last_checkpoint()
    data_dir = data_dir or (state.data_dir if state else None)
    if not data_dir or not os.path.isdir(data_dir):
        raise UserError(f"quantize needs the run's packed dataset for calibration, and {data_dir} is not there; "
                        f"pack it again, or point to a copy with --data-dir")
    meta = open_dataset(data_dir)
    onnx_io.check_dataset(props, meta, fp32, data_dir)
    images = min(images, meta.counts["train"])
    out = out or run.int8_onnx
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=run.dir) as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(fp32, pre, skip_optimization=False)  # onnxruntime's own shape inference + fusions
        q = os.path.join(tmp, "int8.onnx")
        quantize_static(pre, q, _Calibration(data_dir, meta, images), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        reduce_range=not full_range,
                        calibrate_method=getattr(CalibrationMethod, method),
                        # The shortcut's MaxPool and channel Pad stay float (the same speed in onnxruntime):
                        # with them quantized, OpenVINO 2026.4 failed to compile the graph (a shape mismatch
                        # in its propagation of the dequantization through the channel Pad).
                        op_types_to_quantize=["Conv", "Gemm", "Add", "Relu", "GlobalAveragePool", "Flatten"])
        model = onnx_io.load(q)
    calibration = {"images": images, "split": "train", "data_dir": data_dir, "method": method,
                   "preprocessing": "evaluation: whole image at the input size, minus mean_rgb",
                   "format": "QDQ", "activations": "uint8, per tensor",
                   "weights": "int8, per channel" + ("" if full_range else ", 7-bit range (reduce_range)")}
    import onnx
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in source.metadata_props},
                                        "int8_calibration": json.dumps(calibration)})
    return onnx_io.save(model, out)
