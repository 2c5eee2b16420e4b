#!/usr/bin/env python
"""Check a run's ONNX model in onnxruntime against MXNet: logits parity at every evaluation scale,
top-1 / top-5 error single-scale and multiscale, and throughput. Writes <save-dir>/verify.json;
exits 1 when the relative logit difference exceeds 1e-4 or top-1 agreement is below 100 %."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from _bootstrap import main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", help="a run folder (default: the newest under runs/)")
    p.add_argument("--onnx", help="the ONNX file (default <save-dir>/model.onnx, exported when missing or stale)")
    p.add_argument("--data-dir", help="packed dataset (default: the one the run was trained on)")
    p.add_argument("--max-images", type=int, help="validate on the first N images only")
    p.add_argument("--provider", help="onnxruntime execution provider (default: CUDA if available, else CPU)")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from gluon_resnet.verification import save_report, table, verify
    report = verify(args.save_dir, args.onnx, args.data_dir, args.max_images, args.provider, progress=True)
    out = save_report(report)
    print(table(report))
    print(f"wrote {out}")
    if not report["ok"]:
        sys.exit(1)
    return report


if __name__ == "__main__":
    main()
