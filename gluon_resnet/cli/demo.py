"""`make demo`: pack the embedded digits, train ResNet-20 on the CPU with the CIFAR recipe scaled to a
few epochs, evaluate (single-scale and multiscale), export to ONNX and INT8, verify in every runtime."""
import argparse

from . import main_guard
from .options import positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=positive_int, default=30, help="the 180-epoch schedule scaled to this many")
    p.add_argument("--n", type=positive_int, default=3, help="blocks per stage (3 = ResNet-20)")
    p.add_argument("--data-dir", default="data/digits")
    p.add_argument("--save-dir", default="runs/digits-resnet20")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from .walkthrough import run_demo
    result = run_demo(args.epochs, args.n, args.data_dir, args.save_dir)
    if not all(r["ok"] for r in result["verify"].values()):
        raise SystemExit(1)
