"""Overlay the validation error of several runs (like the neon README's depth comparison), plus a
zoomed companion: python tools/plot_runs.py runs/cifar10-resnet20 runs/cifar10-resnet56 ..."""
import argparse
import os

from . import main_guard


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("runs", nargs="+", help="run folders holding metrics.jsonl")
    p.add_argument("--out", help="the plot's file (default: val_error-<run>-vs-<run>....png beside the first run, "
                                 "in its parent folder); the zoomed plot goes beside it as *_zoom.png")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..train.plots import plot_runs
    from ..runs.folder import Run
    runs = [Run(d) for d in args.runs]
    for run in runs:
        run.read_metrics()  # a folder that is no run fails here, by name
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.runs[0])), "val_error-" + "-vs-".join(
        os.path.basename(os.path.abspath(d)) for d in args.runs) + ".png")
    root, ext = os.path.splitext(out)
    for out, zoom in ((out, False), (f"{root}_zoom{ext or '.png'}", True)):
        print(plot_runs(runs, out, zoom=zoom))
