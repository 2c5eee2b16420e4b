#!/usr/bin/env python
"""Where a training step's time goes: MXNet's profiler, aggregated by operator, over a few ResNet-20
steps on random data: the static graph, as tools/train.py trains by default (--no-hybridize: imperative steps).
Bulk execution is off (MXNET_EXEC_BULK_EXEC_TRAIN=0 unless set), so that the profiler times each operator
rather than runs of them fused into one segment; the step is a little slower than in training.

    .venv/bin/python benchmarks/profile_step.py [--n 3] [--steps 10] [--no-hybridize]
"""
import argparse
import json
import os
import tempfile

from gluon_resnet.cli.options import positive_int
from gluon_resnet.threads import use_all_cores

use_all_cores()  # before mxnet loads
os.environ.setdefault("MXNET_EXEC_BULK_EXEC_TRAIN", "0")  # read at import: one profiler entry per operator
import numpy as np  # noqa: E402

from gluon_resnet import get_model  # noqa: E402
from gluon_resnet.compat import mx  # noqa: E402
from gluon_resnet.train.steps import logits  # noqa: E402

autograd, gluon = mx.autograd, mx.gluon


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=positive_int, default=3)
    p.add_argument("--steps", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--hybridize", action=argparse.BooleanOptionalAction, default=True,
                   help="the static graph (default), as train.py; --no-hybridize: imperative steps")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                   help="bfloat16: AMP, hybridized, as train.py --dtype bfloat16 (CPUs with AVX512-BF16 or AMX)")
    p.add_argument("--top", type=positive_int, default=15)
    args = p.parse_args()
    net = get_model("cifar10", args.n)
    if args.hybridize or args.dtype == "bfloat16":
        net.hybridize(static_alloc=True, static_shape=True)
    if args.dtype == "bfloat16":
        from gluon_resnet.model.precision import check_bf16, trace_in_bf16
        check_bf16([mx.cpu()])
        trace_in_bf16(net, (1, 3, 32, 32), mx.cpu())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x = mx.nd.random.normal(shape=(args.batch_size, 3, 32, 32))
    y = mx.nd.array(np.random.RandomState(0).randint(0, 10, args.batch_size))

    def step():
        with autograd.record():
            loss = loss_fn(logits(net, x, args.dtype), y)
        loss.backward()
        trainer.step(args.batch_size)

    for _ in range(3):
        step()
    mx.nd.waitall()
    path = os.path.join(tempfile.mkdtemp(), "profile.json")
    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=path)
    mx.profiler.set_state("run")
    for _ in range(args.steps):
        step()
    mx.nd.waitall()
    mx.profiler.set_state("stop")
    stats = json.loads(mx.profiler.dumps(format="json"))
    ops = {}
    for domain, entries in stats.get("Time", {}).items():
        for name, s in entries.items():
            ops[name] = ops.get(name, 0.0) + s["Total"]
    # MX* entries are API calls (MXNDArrayWaitAll is the host waiting for the operators): not operator time.
    ops = {k: v for k, v in ops.items() if not k.startswith(("MX", "DeleteVariable", "["))}
    total = sum(ops.values())
    mode = "bf16 (AMP, hybridized)" if args.dtype == "bfloat16" else "hybridized" if args.hybridize else "imperative"
    print(f"ResNet-{6 * args.n + 2}, {mode}, batch {args.batch_size}, "
          f"{args.steps} steps: operator time per step {total / args.steps:.1f} ms")
    for name, ms in sorted(ops.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {name:<48}{ms / args.steps:>9.2f} ms/step  {100 * ms / total:5.1f} %")


if __name__ == "__main__":
    main()
