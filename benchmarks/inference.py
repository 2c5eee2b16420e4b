#!/usr/bin/env python
"""Images per second of a run's fp32 and INT8 ONNX files in every installed runtime, and of MXNet,
at batch 1 and 128 (random pixels at the input size; medians of interleaved rounds). All runtimes share
this process, so each competes with the others' idle threads; bench.py gives each its own process.

    .venv/bin/python benchmarks/inference.py --save-dir runs/digits-resnet20
"""
import argparse
import statistics
import time

from gluon_resnet.threads import use_all_cores

use_all_cores()  # before mxnet loads: it reads its thread count once
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

from gluon_resnet import runtimes  # noqa: E402
from gluon_resnet.evaluation import mxnet_predictor  # noqa: E402
from gluon_resnet.run import Run  # noqa: E402


def rate(predict, x, seconds):
    predict(x)  # warm-up: first calls allocate and pick kernels
    predict(x)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        predict(x)
        n += 1
    return n * len(x) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--save-dir", default="runs/digits-resnet20")
    p.add_argument("--batch-sizes", default="1,128")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0, help="per configuration and round")
    args = p.parse_args()
    run = Run(args.save_dir)
    net, state = run.load_model("final")
    net.hybridize(static_alloc=True, static_shape=True)
    size = state.dataset.crop_size
    predictors = {("MXNet", "fp32"): mxnet_predictor(net)}
    for kind, path in (("fp32", run.onnx), ("int8", run.int8_onnx)):
        for name in ("onnxruntime", "openvino", "openvino-bf16", "opencv"):
            if runtimes.installed(name) and not (kind == "int8" and name in ("opencv", "openvino-bf16")):
                predictors[name, kind] = runtimes.load(name, path)
    batches = [int(b) for b in args.batch_sizes.split(",")]
    results = {(k, b): [] for k in predictors for b in batches}
    rng = np.random.RandomState(0)
    for _ in range(args.rounds):  # interleaved: every configuration once per round
        for b in batches:
            x = rng.uniform(-128, 128, (b, 3, size, size)).astype(np.float32)
            for key, predict in predictors.items():
                results[key, b].append(rate(predict, x, args.seconds))
    base = {b: statistics.median(results[("onnxruntime", "fp32"), b]) for b in batches}
    print(f"{state.model.name}, {size}x{size}, {mx.context.num_gpus()} GPUs, medians of {args.rounds} rounds")
    print(f"{'runtime':<16}{'model':<6}" + "".join(f"{'batch ' + str(b):>14}{'vs ort fp32':>13}" for b in batches))
    for key in predictors:
        medians = [statistics.median(results[key, b]) for b in batches]
        cells = "".join(f"{m:>14,.0f}{m / base[b]:>12.2f}x" for m, b in zip(medians, batches))
        print(f"{key[0]:<16}{key[1]:<6}{cells}")


if __name__ == "__main__":
    main()
