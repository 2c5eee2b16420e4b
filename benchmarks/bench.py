#!/usr/bin/env python
"""The one benchmark harness. Why this instead of GluonCV's script or PyTorch: images/s of the training
step, the epoch as tools/train.py runs it on a full-size split, the input pipeline alone, the host's
overhead per step, and inference in every runtime (MXNet, onnxruntime fp32 / INT8 / the converter's raw
graph, OpenVINO f32 / default precision / INT8, OpenCV DNN), each with its peak memory.

    .venv/bin/python benchmarks/bench.py --quick      # ResNet-20; its three epoch rows take most of a round
    .venv/bin/python benchmarks/bench.py              # ResNet-20 and -56, more rounds

Every configuration runs in its own process (MXNet reads its thread settings at import), in interleaved
rounds; each figure is the median over the rounds. Prints a table with ratios, writes
benchmarks/results/<date>-<machine>.json and a plot beside it.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

from gluon_resnet.cli.options import positive_int
from harness.datasets import data_paths, prepare
from harness.measures import worker
from harness.plan import plan
from harness.protocol import measure
from harness.report import commit, machine, plot, report, versions
from harness.stats import medians

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="ResNet-20 only, fewer steps and rounds")
    p.add_argument("--rounds", type=positive_int, help="interleaved rounds (default 3, full 5)")
    p.add_argument("--only", help="comma-separated row-id prefixes, e.g. train/hybrid")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for the JSON and the plot")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "gluon-resnet-bench"))
    p.add_argument("--steps", type=positive_int, help="training steps per measurement (default 8 quick, 20 full)")
    p.add_argument("--epoch-images", type=positive_int, default=50000,
                   help="training images of the epoch rows (default CIFAR-10's 50,000): the digits repeated")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.n = [3] if args.quick else [3, 9]
    args.batch_size, args.steps = 128, args.steps or (8 if args.quick else 20)
    args.pipeline_batches = 15 if args.quick else 40
    args.infer_seconds = 1.0 if args.quick else 2.0
    from gluon_resnet.threads import use_all_cores
    use_all_cores()
    started, code = time.time(), commit(HERE)  # the code measured: the checkout as the rounds start
    data = data_paths(args.cache, args.epoch_images)
    rows = plan(args, data)
    if args.only:
        rows = [r for r in rows if any(r.id.startswith(o) for o in args.only.split(","))]
    prepare(data, args.quick, rows, args.epoch_images)
    results = {}
    for rnd in range(args.rounds):  # interleaved: each configuration once per round
        for row in rows:
            if row.spec is not None:
                results.setdefault(row.id, []).append(measure(row.spec))
        print(f"round {rnd + 1}/{args.rounds} done ({time.time() - started:.0f} s)", file=sys.stderr)
    out = medians(rows, results)
    meta = {"date": datetime.date.today().isoformat(), "machine": machine(), "commit": code, "rounds": args.rounds,
            "batch_size": args.batch_size, "versions": versions(), "quick": args.quick,
            "seconds": round(time.time() - started)}
    print(report(out, meta))
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"{meta['date']}-{platform.node() or 'machine'}" + ("-quick" if args.quick else ""))
    with open(stem + ".json", "w") as f:
        json.dump({"meta": meta, "rows": out}, f, indent=2)
    title = (f"{meta['machine']}, {meta['date']}, commit {meta['commit']}, medians of {meta['rounds']} rounds "
             f"(bars: each round's lowest and highest ratio), batch {meta['batch_size']}")
    print(f"wrote {stem}.json, {plot(out, stem + '.png', title)} ({meta['seconds']} s)")
    return out


if __name__ == "__main__":
    main()
