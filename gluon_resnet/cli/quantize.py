"""Quantize a run's ONNX model to INT8 (<save-dir>/model.int8.onnx): static QDQ, per-channel int8
weights, calibrated on training images of the run's own packed dataset with the evaluation
preprocessing. Check it with `python onnx_export/verify.py --model int8`."""
import argparse

from . import main_guard
from .options import positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", help="a run folder (default: the newest under runs/)")
    p.add_argument("--data-dir", help="packed dataset to calibrate on (default: the one the run was trained on)")
    p.add_argument("--images", type=positive_int, default=300, help="training images to calibrate on")
    p.add_argument("--method", choices=["MinMax", "Entropy", "Percentile"], default="MinMax",
                   help="onnxruntime's calibration method")
    p.add_argument("--out", help="default <save-dir>/model.int8.onnx")
    p.add_argument("--full-range", action="store_true",
                   help="8-bit weights instead of 7: only for CPUs with VNNI (AVX512-VNNI, AVX-VNNI); on x86 CPUs "
                        "without it the products saturate (measured: 6.4 points more top-1 error on an AVX2 EPYC)")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..deploy.onnx_io import read_props
    from ..deploy.quantization import quantize
    from ..runs.folder import Run
    out = quantize(args.save_dir or Run.most_recent().dir, args.data_dir, args.out, args.images, args.method,
                   args.full_range)
    used = read_props(out)["int8_calibration"]["images"]  # at most the training set
    print(f"wrote {out} (INT8, calibrated on {used} training images, {args.method})")
    return out
