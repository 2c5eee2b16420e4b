#!/usr/bin/env python
"""Images per second of training and inference on random data: MXNet hybridized vs imperative, and
onnxruntime on the raw MXNet export vs the cleaned export (weights no longer graph inputs).

    .venv/bin/python benchmarks/throughput.py --n 3 9 --batches 20
"""
import argparse
import os
import tempfile
import time

from gluon_resnet.threads import use_all_cores

use_all_cores()  # before mxnet loads: it reads its thread count once
import mxnet as mx  # noqa: E402

from gluon_resnet import ModelSpec, get_model  # noqa: E402
import numpy as np  # noqa: E402


def timed(step, batches, warmup=3):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return time.perf_counter() - start


def train_rate(n, batch, batches, hybridize):
    from mxnet import autograd, gluon
    net = get_model("cifar10", n)
    if hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    x, y = mx.nd.random.normal(shape=(batch, 3, 32, 32)), mx.nd.array(np.random.randint(0, 10, batch))

    def step():
        with autograd.record():
            l = loss(net(x), y)
        l.backward()
        trainer.step(batch)
        l.wait_to_read()
    return batch * batches / timed(step, batches)


def infer_rates(n, batch, batches):
    import onnx
    import onnxruntime as ort

    from gluon_resnet.onnx_graph import strip_initializer_inputs
    net = get_model("cifar10", n)
    net.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.random.normal(shape=(batch, 3, 32, 32))
    rates = {"MXNet": batch * batches / timed(lambda: net(x).wait_to_read(), batches)}
    with tempfile.TemporaryDirectory() as d:
        net.export(os.path.join(d, "m"), 0)
        raw = os.path.join(d, "raw.onnx")
        mx.onnx.export_model(os.path.join(d, "m-symbol.json"), os.path.join(d, "m-0000.params"), [(1, 3, 32, 32)],
                             [np.float32], raw, dynamic=True, dynamic_input_shapes=[(None, 3, None, None)])
        clean = os.path.join(d, "clean.onnx")
        onnx.save(strip_initializer_inputs(onnx.load(raw)), clean)
        xn = x.asnumpy()
        for name, path in (("onnxruntime, raw export", raw), ("onnxruntime, cleaned", clean)):
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            rates[name] = batch * batches / timed(lambda: sess.run(None, {"data": xn}), batches)
    return rates


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[3, 9], help="CIFAR blocks per stage (3 = ResNet-20)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=20)
    args = p.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, {os.cpu_count()} cores, batch {args.batch_size}")
    print(f"{'model':<12}{'what':<32}{'images/s':>10}")
    for n in args.n:
        name = ModelSpec("cifar", n).name
        for hyb in (True, False):
            rate = train_rate(n, args.batch_size, args.batches, hyb)
            print(f"{name:<12}{'train, ' + ('hybridized' if hyb else 'imperative'):<32}{rate:>10.0f}")
        for what, rate in infer_rates(n, args.batch_size, args.batches).items():
            print(f"{name:<12}{'inference, ' + what:<32}{rate:>10.0f}")


if __name__ == "__main__":
    main()
