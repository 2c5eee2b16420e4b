#!/usr/bin/env python
"""Overlay the validation error of several runs (like the neon README's depth comparison), plus a
zoomed companion: python tools/plot_runs.py runs/cifar10-resnet20 runs/cifar10-resnet56 ..."""
import argparse
import os

from _bootstrap import main_guard


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("runs", nargs="+", help="run folders holding metrics.jsonl")
    p.add_argument("--out", default="val_error.png", help="the zoomed plot goes beside it as *_zoom.png")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from gluon_resnet.errors import UserError
    from gluon_resnet.plots import plot_runs
    missing = [d for d in args.runs if not os.path.exists(os.path.join(d, "metrics.jsonl"))]
    if missing:
        raise UserError(f"{missing[0]} has no metrics.jsonl: is it a run folder of tools/train.py?")
    root, ext = os.path.splitext(args.out)
    for out, zoom in ((args.out, False), (f"{root}_zoom{ext or '.png'}", True)):
        print(plot_runs(args.runs, out, zoom=zoom))


if __name__ == "__main__":
    main()
