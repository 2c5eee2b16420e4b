"""Check a run's ONNX model against MXNet in every installed runtime (onnxruntime, OpenVINO, OpenCV):
top-1 / top-5 error single-scale and multiscale, throughput, and agreement. fp32 is judged by logit
parity (relative difference <= 1e-4, top-1 agreement 100 %), INT8 by its top-1 error against fp32.
Writes <save-dir>/verify.json; exits 1 when a runtime fails its check."""
import argparse
import os
import sys

from .hints import command
from . import main_guard
from .options import positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", help="a run folder (default: the newest under runs/)")
    p.add_argument("--model", default="fp32",
                   help="fp32 (<save-dir>/model.onnx, exported when missing or stale), int8 "
                        "(<save-dir>/model.int8.onnx), or the path of an .onnx file")
    p.add_argument("--runtime", help="comma-separated, from onnxruntime, openvino, openvino-bf16, opencv, "
                                     "reference (default: onnxruntime,openvino,opencv, those installed)")
    p.add_argument("--data-dir", help="packed dataset (default: the one the run was trained on)")
    p.add_argument("--max-images", type=positive_int, help="validate on the first N images only")
    p.add_argument("--provider", help="onnxruntime execution provider (default: CUDA if available, else CPU)")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..deploy import runtimes
    from ..deploy.verification import table, verify
    from ..errors import UserError
    from ..runs.folder import Run
    run = Run(args.save_dir) if args.save_dir else Run.most_recent()
    onnx_path = {"fp32": None, "int8": run.int8_onnx}.get(args.model, args.model)
    if args.model == "int8" and not os.path.exists(onnx_path):
        raise UserError(f"{onnx_path} does not exist: make it with "
                        f"`{command('onnx_export/quantize.py', '--save-dir', run.dir)}`")
    report = verify(run.dir, onnx_path, args.data_dir, runtimes.parse(args.runtime) if args.runtime else None,
                    args.max_images,
                    args.provider, progress=True)
    out = run.write_verify_report(report)
    print(table(report))
    print(f"wrote {out}")
    if not report["ok"]:
        sys.exit(1)
    return report
