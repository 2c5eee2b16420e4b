"""The measurements, each run in a worker process of its own (protocol.py): the training step of this project
and of its peers, the epoch as tools/train.py runs it against the step alone on its batches, the input pipeline,
inference in each runtime, and the trained run the inference rows read."""
import json
import os
import resource
import sys
import time

from .datasets import raw_export
from .protocol import RESULT, measure


def _timed(step, n, finish=lambda: None, warmup=3):
    """Seconds for `n` steps, `finish()` included: MXNet runs asynchronously, so the clock stops only
    when the last step's results exist."""
    for _ in range(warmup):
        step()
    finish()
    start = time.perf_counter()
    for _ in range(n):
        step()
    finish()
    return time.perf_counter() - start


def _mx_step(net, batch, optimizer="sgd", read_every_batch=False, dtype="float32"):
    """A training step on random data: ours keeps the loss on the device; GluonCV's script reads it back.
    bfloat16: the AMP-traced network's scores cast to fp32 for the loss, as training does."""
    import numpy as np

    from gluon_resnet.compat import mx
    autograd, gluon = mx.autograd, mx.gluon
    trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x = mx.nd.random.normal(shape=(batch, 3, 32, 32))
    y = mx.nd.array(np.random.RandomState(0).randint(0, 10, batch))
    total = mx.nd.zeros(1)
    metric = mx.metric.Accuracy()

    def step():
        with autograd.record():
            out = net(x) if dtype == "float32" else net(x).astype("float32")
            loss = loss_fn(out, y)
        loss.backward()
        trainer.step(batch)
        if read_every_batch:  # GluonCV's train_cifar10.py: train_loss += l.sum().asscalar(); metric.update
            float(loss.sum().asscalar())
            metric.update([y], [out])
        else:
            total[:] += loss.sum()
    return step, lambda: total.wait_to_read()


def _hybridized(net):
    """`net` as fit() trains it by default: the static graph."""
    net.hybridize(static_alloc=True, static_shape=True)
    return net


def _bf16_net(net):
    """`net` hybridized with AMP's bf16 casts in its graph, as `--dtype bfloat16` trains it."""
    from gluon_resnet.compat import mx
    from gluon_resnet.model.precision import trace_in_bf16
    trace_in_bf16(_hybridized(net), (1, 3, 32, 32), mx.cpu())
    return net


def train_step(impl, n, batch, steps):
    if impl.startswith("pytorch"):
        return _torch_step(n, batch, steps, bf16=impl == "pytorch-bf16")
    from gluon_resnet.compat import mx
    if impl.startswith("gluoncv"):
        sys.modules["torch"] = None  # GluonCV 0.10.5 refuses to import beside torch >= 2 (the bench extra)
        from gluoncv.model_zoo import get_model as gluoncv_model
        net = gluoncv_model(f"cifar_resnet{6 * n + 2}_v1", classes=10)
        net.initialize(mx.init.Xavier(), ctx=mx.cpu())  # its script: --mode unset, so never hybridized
        step, sync = _mx_step(net, batch, "nag", read_every_batch=True)
    else:
        from gluon_resnet import get_model
        net = get_model("cifar10", n)
        if impl == "bf16":
            step, sync = _mx_step(_bf16_net(net), batch, dtype="bfloat16")
        else:
            step, sync = _mx_step(_hybridized(net) if impl == "hybrid" else net, batch)

    seconds = _timed(step, steps, finish=lambda: (sync(), mx.nd.waitall()))
    return {"images_per_second": batch * steps / seconds, "ms_per_step": 1000 * seconds / steps}


def _torch_step(n, batch, steps, bf16=False):
    import torch
    from torch import nn
    torch.set_num_threads(len(os.sched_getaffinity(0)))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3),
                                      nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(cout, eps=1e-3))
            self.stride, self.extra = stride, cout - cin

        def forward(self, x):
            short = x[:, :, ::self.stride, ::self.stride]
            if self.extra:
                short = nn.functional.pad(short, (0, 0, 0, 0, 0, self.extra))
            return torch.relu(self.body(x) + short)

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16, eps=1e-3), nn.ReLU(inplace=True)], 16
    for i, c in enumerate((16, 32, 64)):
        for j in range(n):
            layers.append(Block(cin, c, 2 if i and not j else 1))
            cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10, bias=False), nn.BatchNorm1d(10, eps=1e-3)]
    net = nn.Sequential(*layers).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # bf16 compute, fp32 weights
            loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
    seconds = _timed(step, steps)
    return {"images_per_second": batch * steps / seconds, "ms_per_step": 1000 * seconds / steps}


def epoch(data_dir, n, batch, dtype, batches_dir):
    """Two epochs of `fit()`, tools/train.py's library call with everything it does (the iterator's
    threads, validation, metrics, checkpoints), on a full-size training split; epoch 2's rate as train.py
    prints it, and over the whole epoch with validation and checkpoint. Against the step alone on epoch 2's
    batches, in a process of its own that never opened an ImageRecordIter (step_alone), measured before
    and after fit() and averaged: the machine's speed drifts over the minutes an epoch takes."""
    import numpy as np

    from gluon_resnet.compat import OPENMP
    from gluon_resnet.data.integrity import open_dataset
    from gluon_resnet.data.iterators import epoch_seed, train_iter
    from gluon_resnet.runs.folder import Run
    from gluon_resnet.train.start import new_config
    from gluon_resnet.train.steps import iters_per_epoch
    from gluon_resnet.train.training import fit
    os.makedirs(batches_dir, exist_ok=True)
    save_dir = os.path.join(batches_dir, "run")
    config = new_config(data_dir, save_dir, n=n, batch_size=batch, dtype=dtype, num_epochs=2, lr_step_epochs=[])
    meta = open_dataset(data_dir)
    files = [os.path.join(batches_dir, f"{k}.npy") for k in ("data", "label")]
    alone = {"kind": "step_alone", "args": {"batches_dir": batches_dir, "n": n, "dtype": dtype}}
    try:
        batches = list(train_iter(data_dir, meta, batch, seed=epoch_seed(config.seed, 2), threads=config.data_threads))
        np.save(files[0], np.stack([b.data[0].asnumpy() for b in batches]))
        np.save(files[1], np.stack([b.label[0].asnumpy() for b in batches]))
        del batches  # the step alone's process holds its own copy
        before = measure(alone, check=True)["images_per_second"]
        fit(config, force=True)
        after = measure(alone, check=True)["images_per_second"]
    finally:
        for f in files:
            if os.path.exists(f):
                os.remove(f)
    last = Run(save_dir).read_metrics()[-1]
    images = iters_per_epoch(meta.counts["train"], batch) * batch
    return {"images_per_second": last["images_per_second"], "with_validation": images / last["epoch_seconds"],
            "step_images_per_second": (before + after) / 2, "step_before": before, "step_after": after,
            "openmp": OPENMP}


def step_alone(batches_dir, n, dtype):
    """train_step over the batches `epoch` saved, as fit() builds the network (static graph; bf16: AMP),
    nothing else: no iterator, no metrics, no host reads."""
    import numpy as np

    from gluon_resnet.compat import mx
    from gluon_resnet.model.resnet import ModelSpec
    from gluon_resnet.recipes import RECIPES
    from gluon_resnet.runs.config import TrainConfig
    from gluon_resnet.train.steps import make_trainer, train_step
    data, label = (np.load(os.path.join(batches_dir, f)) for f in ("data.npy", "label.npy"))
    ctxs = [mx.cpu()]
    net = ModelSpec("cifar", n).build(ctxs)
    net = _bf16_net(net) if dtype == "bfloat16" else _hybridized(net)
    config = TrainConfig.for_recipe(RECIPES["cifar"], "", "", lr_step_epochs=[], dtype=dtype)
    trainer, loss_fn = make_trainer(net, config, len(data)), mx.gluon.loss.SoftmaxCrossEntropyLoss()
    held = [(mx.nd.array(x), mx.nd.array(y)) for x, y in zip(data, label)]
    for x, y in held[:3]:
        train_step(net, trainer, loss_fn, x, y, ctxs, dtype)
    mx.nd.waitall()
    start = time.perf_counter()
    for x, y in held:
        train_step(net, trainer, loss_fn, x, y, ctxs, dtype)
    mx.nd.waitall()
    return {"images_per_second": data.shape[0] * data.shape[1] / (time.perf_counter() - start)}


def pipeline(data_dir, batch, threads, batches):
    """The input pipeline alone: decoding, augmentation, batching in ImageRecordIter's threads."""
    from gluon_resnet.data.integrity import open_dataset
    from gluon_resnet.data.iterators import train_iter
    meta = open_dataset(data_dir)
    it = train_iter(data_dir, meta, batch, seed=1, threads=threads)
    next(it)
    start, seen = time.perf_counter(), 0
    for i, b in enumerate(it):
        b.data[0].wait_to_read()
        seen += batch
        if i + 1 == batches:
            break
    return {"images_per_second": seen / (time.perf_counter() - start)}


def inference(model_dir, runtime, kind, batch, seconds):
    import numpy as np

    from gluon_resnet.deploy import runtimes
    from gluon_resnet.runs.folder import Run
    run = Run(model_dir)
    if runtime == "mxnet":
        from gluon_resnet.runs.evaluation import mxnet_predictor
        net, _ = run.load_model("final")
        net.hybridize(static_alloc=True, static_shape=True)
        predict = mxnet_predictor(net)
    else:
        predict = runtimes.load(runtime, {"fp32": run.onnx, "int8": run.int8_onnx, "raw": raw_export(run.dir)}[kind])
    x = np.random.RandomState(0).uniform(-128, 128, (batch, 3, 32, 32)).astype(np.float32)
    predict(x)
    predict(x)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        predict(x)
        n += 1
    return {"images_per_second": n * batch / (time.perf_counter() - start)}




def trained_run(data_dir, save_dir):
    """The inference rows' model: ResNet-20 trained 2 epochs on the digits, exported to ONNX and INT8, and
    the converter's raw graph."""
    import onnx

    from gluon_resnet.deploy.onnx_io import convert, export
    from gluon_resnet.deploy.quantization import quantize
    from gluon_resnet.runs.folder import Run
    from gluon_resnet.train.start import new_config
    from gluon_resnet.train.training import fit
    fit(new_config(data_dir, save_dir, n=3, num_epochs=2), force=True)
    export(save_dir)
    quantize(save_dir)
    onnx.save(convert(Run(save_dir).mxnet_prefix, 32), raw_export(save_dir))
    return {}


def worker(spec):
    """Run one configuration in this process; print its result as JSON."""
    from gluon_resnet.threads import use_all_cores
    if not spec.get("default_threads"):
        use_all_cores()
    kind, kw = spec["kind"], spec["args"]
    result = {"train_step": train_step, "epoch": epoch, "step_alone": step_alone, "pipeline": pipeline,
              "inference": inference, "trained_run": trained_run}[kind](**kw)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(RESULT + json.dumps(result))
