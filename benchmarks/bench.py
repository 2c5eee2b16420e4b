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
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from gluon_resnet.cli.options import positive_int
from gluon_resnet.data.dataset import META_FILE
from gluon_resnet.model.precision import bf16_supported
from gluon_resnet.threads import OPENMP_ENV

HERE = os.path.dirname(os.path.abspath(__file__))
NEON_TITAN_X = 50000 / 11  # neon's ResNet-20: 11 s per 50,000-image epoch on a GTX Titan X
MODERN_GPU = 25000         # an order of magnitude for a current data-centre GPU on ResNet-20 training
BF16 = bf16_supported()  # the bf16 rows need AVX512-BF16 or AMX-BF16; elsewhere they are reported absent
GLUONCV = "GluonCV cifar_resnet*_v1 as train_cifar10.py runs it by default (imperative, NAG, loss/accuracy read"


# ---------------------------------------------------------------- measurements (run in a worker process)

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


def raw_export(save_dir):
    """The converter's graph as it comes (every weight also a graph input, BatchNorm unfolded), beside the run."""
    return os.path.join(save_dir, "raw.onnx")


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
    import resource

    from gluon_resnet.threads import use_all_cores
    if not spec.get("default_threads"):
        use_all_cores()
    kind, kw = spec["kind"], spec["args"]
    result = {"train_step": train_step, "epoch": epoch, "step_alone": step_alone, "pipeline": pipeline,
              "inference": inference, "trained_run": trained_run}[kind](**kw)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------- the plan and the report (main process)

def _installed(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


@dataclass
class Row:
    """One configuration of the report. `spec` says what a worker process runs (None: the peer is not
    installed, or the CPU lacks bf16); `base` names the row whose images/s this row's ratio is taken
    against (STEP: the step alone on the same batches, measured in the same process)."""
    id: str
    label: str
    short: str
    group: str
    spec: dict
    base: str = None


STEP = "the step alone"
GNU_OPENMP = {OPENMP_ENV: "gnu"}  # MXNet on libgomp, as stock MXNet runs (see gluon_resnet/compat.py)


def plan(args, data):
    """The rows, in order; the first of each group (per depth or batch) is the base of the others."""
    rows, sizes = [], args.n
    b, steps = args.batch_size, args.steps
    for n in sizes:
        name = f"ResNet-{6 * n + 2}"
        for impl, label, short in (
                ("hybrid", "this project (the static graph: the training default)", "ours"),
                ("imperative", "this project, imperative (--no-hybridize)", "ours, imperative"),
                ("gluoncv", GLUONCV + " every batch, MXNet's default OpenMP threads)", "GluonCV script, its threads"),
                ("gluoncv-omp", GLUONCV + " every batch) with OMP_NUM_THREADS = all cores", "GluonCV script, all cores"),
                ("pytorch", "PyTorch 2, same architecture, channels-last", "PyTorch 2, channels-last"),
                ("bf16", "this project, --dtype bfloat16 (AMP, hybridized)", "ours, bf16"),
                ("pytorch-bf16", "PyTorch 2, bf16 autocast, channels-last", "PyTorch 2, bf16 autocast")):
            ok = (not impl.startswith("pytorch") or _installed("torch")) and ("bf16" not in impl or BF16)
            spec = {"kind": "train_step", "default_threads": impl == "gluoncv",
                    "args": {"impl": impl, "n": n, "batch": b, "steps": steps}}
            if impl.startswith("gluoncv"):  # as its users run it: stock MXNet, on libgomp
                spec["env"] = GNU_OPENMP
            rows.append(Row(f"train/{impl}/{name}", f"{name} training step: {label}", f"{name}: {short}",
                            "training step (vs ours)", spec if ok else None, f"train/hybrid/{name}"))
    n0 = sizes[0]
    for dtype, env in (("float32", {}), ("bfloat16", {}), ("float32", GNU_OPENMP)):
        ok = dtype == "float32" or BF16
        key, runtime = (dtype + "/gnu", ", on GNU OpenMP") if env else (dtype, "")
        rows.append(Row(f"epoch/{key}", f"ResNet-{6 * n0 + 2} epoch as tools/train.py runs it, "
                        f"{args.epoch_images:,} images, {dtype}{runtime} (vs the step alone on its batches)",
                        f"train.py epoch, {dtype}{runtime}", "epoch (vs the step alone)",
                        {"kind": "epoch", "env": env,
                         "args": {"data_dir": data["full"], "n": n0, "batch": b, "dtype": dtype,
                                  "batches_dir": os.path.join(data["scratch"], key.replace("/", "-"))}}
                        if ok else None, STEP))
    for ds, label in (("cifar", "CIFAR 40x40 PNG, crop 32 + flip"),
                      ("miniplaces", "Mini-Places2 128x128 JPEG, scale jitter + crop 112 + flip")):
        for threads in (1, 2):
            rows.append(Row(f"pipeline/{ds}/threads{threads}",
                            f"input pipeline alone: {label}, preprocess_threads={threads}",
                            f"{ds}, {threads} thread{'s' if threads > 1 else ''}", "input pipeline (vs 1 thread)",
                            {"kind": "pipeline", "args": {"data_dir": data[ds], "batch": b, "threads": threads,
                                                          "batches": args.pipeline_batches}}, f"pipeline/{ds}/threads1"))
    for bs in (2, 8):
        for impl in ("imperative", "hybrid"):
            rows.append(Row(f"overhead/{impl}/batch{bs}", f"ResNet-{6 * n0 + 2} training step at batch {bs}, {impl} "
                            f"(host overhead bound)", f"batch {bs}, {impl}", "small batches (vs imperative)",
                            {"kind": "train_step", "args": {"impl": impl, "n": n0, "batch": bs, "steps": 4 * steps}},
                            f"overhead/imperative/batch{bs}"))
    for bs in (1, 128):
        for runtime, kind, label in (("onnxruntime", "fp32", "onnxruntime fp32"),
                                     ("onnxruntime", "raw", "onnxruntime, the converter's graph as it comes"),
                                     ("onnxruntime", "int8", "onnxruntime INT8"), ("mxnet", "fp32", "MXNet, hybridized"),
                                     ("openvino", "fp32", "OpenVINO f32"),
                                     ("openvino-bf16", "fp32", "OpenVINO, its default precision"),
                                     ("openvino", "int8", "OpenVINO INT8"), ("opencv", "fp32", "OpenCV DNN fp32")):
            ok = runtime == "mxnet" or _installed({"opencv": "cv2"}.get(runtime, runtime.split("-")[0]))
            rows.append(Row(f"infer/{runtime}/{kind}/batch{bs}", f"ResNet-20 inference batch {bs}: {label}",
                            f"batch {bs}: {label.replace(', the converter', ', converter')}",
                            "inference (vs onnxruntime fp32)",
                            {"kind": "inference", "args": {"model_dir": data["run"], "runtime": runtime, "kind": kind,
                                                           "batch": bs, "seconds": args.infer_seconds}} if ok else None,
                            f"infer/onnxruntime/fp32/batch{bs}"))
    return rows


def data_paths(cache, epoch_images):
    paths = {k: os.path.join(cache, k) for k in ("cifar", "miniplaces", "digits", "run", "scratch")}
    return {**paths, "full": os.path.join(cache, f"digits-as-cifar10-{epoch_images}")}


def digits_as_cifar(train_images):
    """The embedded digits (real handwriting, scaled to 32x32) repeated to `train_images` training and a
    fifth as many test images, as CIFAR-10's python batches: a full-size epoch of real pictures."""
    import numpy as np

    from gluon_resnet.data.sources import read_digits
    src = read_digits()

    def repeated(items, count):
        idx = np.arange(count) % len(items)
        rows = np.stack([items[i].payload.transpose(2, 0, 1).reshape(-1) for i in idx])
        return rows, [items[i].label for i in idx]
    rows, labels = repeated(src.splits["train"], train_images)
    per = -(-train_images // 5)
    batches = {f"data_batch_{i + 1}": (rows[i * per:(i + 1) * per], labels[i * per:(i + 1) * per]) for i in range(5)}
    return {**batches, "test_batch": repeated(src.splits["val"], max(1, train_images // 5))}


def prepare(data, quick, rows, epoch_images):
    """What the chosen rows read: synthetic CIFAR-10 and Mini-Places2 archives in their official formats,
    packed; the digits as a full-size CIFAR-10 (digits_as_cifar); a ResNet-20 trained on the digits and
    exported to ONNX and INT8 for the inference rows."""
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_cifar10, read_digits, read_miniplaces
    from gluon_resnet.data.synthetic import make_cifar_arrays, write_cifar_python, write_miniplaces
    cache = os.path.dirname(data["cifar"])
    os.makedirs(cache, exist_ok=True)
    used = {v for row in rows if row.spec for v in row.spec["args"].values() if isinstance(v, str)}
    raw = raw_export(data["run"])
    if data["cifar"] in used and not os.path.exists(os.path.join(data["cifar"], META_FILE)):
        per_batch = 512 if quick else 2000
        tar = write_cifar_python(os.path.join(cache, "cifar-10-python.tar.gz"), make_cifar_arrays(per_batch, 100))
        pack(read_cifar10(tar), "cifar10", data["cifar"], workers=2, progress=False)
    if data["miniplaces"] in used and not os.path.exists(os.path.join(data["miniplaces"], META_FILE)):
        root = write_miniplaces(os.path.join(cache, "miniplaces-raw"), per_class=200 if quick else 600, val=10)
        pack(read_miniplaces(root), "miniplaces", data["miniplaces"], workers=2, progress=False)
    if data["full"] in used and not os.path.exists(os.path.join(data["full"], META_FILE)):
        tar = write_cifar_python(os.path.join(cache, "digits-cifar-10-python.tar.gz"), digits_as_cifar(epoch_images))
        pack(read_cifar10(tar), "cifar10", data["full"], workers=2, progress=False)
    if data["run"] in used and not os.path.exists(raw):
        pack(read_digits(), "digits", data["digits"], workers=1, force=True, progress=False)
        measure({"kind": "trained_run", "args": {"data_dir": data["digits"], "save_dir": data["run"]}}, check=True)
    return data


def measure(spec, check=False):
    """Run `spec` in a worker process of its own; its result, or {"error": its last line} (raised with
    `check`)."""
    env = {**os.environ, **spec.get("env", {})}
    if spec.get("default_threads"):  # as a script that sets nothing runs: MXNet picks its own thread count
        for var in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"):
            env.pop(var, None)
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                         env=env)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        error = (out.stderr.strip().splitlines() or ["no output"])[-1][:200]
        if check:
            raise SystemExit(f"bench.py: {spec['kind']} failed: {error}")
        return {"error": error}
    return json.loads(line[len("RESULT "):])


def medians(rows, results):
    """Medians over the rounds, and each row's ratio to its base row (Row.base)."""
    out = {}
    for row in rows:
        runs = [r for r in results.get(row.id, []) if "error" not in r]
        entry = {"label": row.label, "short": row.short, "group": row.group}
        if row.spec is None:
            out[row.id] = {**entry, "status": "no bf16 CPU" if "bf16" in row.id and not BF16 else "not installed"}
        elif not runs:
            out[row.id] = {**entry, "status": "failed", "error": (results.get(row.id) or [{}])[0].get("error")}
        else:
            keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))]
            said = {k: v for k, v in runs[0].items() if isinstance(v, str)}  # e.g. the OpenMP runtime
            out[row.id] = {**entry, **said, "status": "ok", "rounds": len(runs),
                           **{k: statistics.median(r[k] for r in runs) for k in keys}}
    for row in rows:
        entry = out[row.id]
        if entry["status"] != "ok":
            continue
        base = entry.get("step_images_per_second") if row.base == STEP else \
            out.get(row.base, {}).get("images_per_second")
        if base:
            entry["ratio"] = entry["images_per_second"] / base
    return out


def report(out, meta):
    lines = [f"{meta['machine']}, {meta['date']}, {meta['rounds']} interleaved rounds, batch {meta['batch_size']}; "
             f"peers: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
             f"{'':100}{'images/s':>10}{'ratio':>8}{'peak MiB':>10}"]
    group = None
    for row in out.values():
        if row["group"] != group:
            group = row["group"]
            lines.append(f"-- {group}")
        if row["status"] != "ok":
            lines.append(f"  {row['label']:<98}{row['status']:>10}" + (f"  {row.get('error')}" if row.get("error")
                                                                         else ""))
            continue
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
        extra = f"  ({row['ms_per_step']:.1f} ms/step)" if row["group"].startswith("small batches") else ""
        lines.append(f"  {row['label']:<98}{row['images_per_second']:>10,.0f}{ratio:>8}"
                     f"{row['peak_rss_mib']:>10,.0f}{extra}")
    pipe = {k: v for k, v in out.items() if k.startswith("pipeline/") and v["status"] == "ok"}
    for ds in ("cifar", "miniplaces"):
        one = pipe.get(f"pipeline/{ds}/threads1")
        if one:
            per_core = one["images_per_second"]
            lines.append(f"  {ds}: preprocess_threads=1 gives {per_core:,.0f} images/s: neon's Titan X rate "
                         f"({NEON_TITAN_X:,.0f}/s) needs {NEON_TITAN_X / per_core:.1f} cores, a modern GPU "
                         f"(~{MODERN_GPU:,}/s) {MODERN_GPU / per_core:.0f}")
    depths = sorted({k.rsplit("/", 1)[1] for k in out if k.startswith("train/")})
    for ours, peer in (("hybrid", "pytorch"), ("bf16", "pytorch-bf16")):
        for name in depths:
            a, b = out.get(f"train/{ours}/{name}", {}), out.get(f"train/{peer}/{name}", {})
            if a.get("status") == b.get("status") == "ok":
                lines.append(f"  {a['short']} runs {a['images_per_second'] / b['images_per_second']:.2f}x "
                             f"{b['short']}")
    e32, e16 = out.get("epoch/float32", {}), out.get("epoch/bfloat16", {})
    for e in (e32, e16):
        if e.get("status") == "ok":
            lines.append(f"  {e['short']}: {e['with_validation']:,.0f} images/s over the whole epoch, validation and "
                         f"checkpoint included")
    gnu = out.get("epoch/float32/gnu", {})
    if e32.get("status") == gnu.get("status") == "ok":
        lines.append(f"  the fp32 epoch on Intel OpenMP (the default) runs "
                     f"{e32['images_per_second'] / gnu['images_per_second']:.2f}x the same epoch on GNU OpenMP")
    if e32.get("status") == e16.get("status") == "ok":
        lines.append(f"  end to end, an epoch in bf16 runs {e16['images_per_second'] / e32['images_per_second']:.2f}x "
                     f"the fp32 epoch (the training default)")
    for impl in ("imperative", "hybrid"):
        over = out.get(f"overhead/{impl}/batch2")
        if over and over["status"] == "ok":
            lines.append(f"  a batch-2 step, {impl}, takes {over['ms_per_step']:.1f} ms here (an upper bound on the "
                         f"host's work per step); neon's ResNet-20 step on a Titan X took {11000 / 391:.1f} ms")
    return "\n".join(lines)


def plot(out, path, title=""):
    """One panel per group: each row's ratio to the group's peer (the bar at 1.0), images/s written beside.
    Drawn with the Figure API: no pyplot, no global backend."""
    from matplotlib.figure import Figure
    groups = {}
    for row in out.values():
        if row["status"] == "ok" and "ratio" in row:
            groups.setdefault(row["group"], []).append(row)
    heights = [len(g) + 1.2 for g in groups.values()]
    fig = Figure(figsize=(9, 0.32 * sum(heights) + 0.8), constrained_layout=True)
    axes = fig.subplots(len(groups), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, (group, rows) in zip(axes, groups.items()):
        ratios = [r["ratio"] for r in rows]
        ax.barh(range(len(rows)), ratios, color=["tab:gray" if abs(x - 1) < 1e-9 else
                                                 ("tab:green" if x > 1 else "tab:red") for x in ratios])
        ax.set_yticks(range(len(rows)), [r["short"] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", lw=0.8)
        for i, r in enumerate(rows):
            ax.text(r["ratio"], i, f" {r['ratio']:.2f}x  {r['images_per_second']:,.0f}/s", va="center", fontsize=7)
        ax.set_xlim(0, max(ratios) * 1.45)
        ax.set_title(group, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    axes[-1].set_xlabel("ratio to the first row of each group (images/s beside each bar)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=110)
    return path


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "cpu")
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores"


def versions():
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for pkg in ("mxnet", "gluoncv", "torch", "onnxruntime", "openvino"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


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
    started = time.time()
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
    meta = {"date": datetime.date.today().isoformat(), "machine": machine(), "rounds": args.rounds,
            "batch_size": args.batch_size, "versions": versions(), "quick": args.quick,
            "seconds": round(time.time() - started)}
    print(report(out, meta))
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"{meta['date']}-{platform.node() or 'machine'}" + ("-quick" if args.quick else ""))
    with open(stem + ".json", "w") as f:
        json.dump({"meta": meta, "rows": out}, f, indent=2)
    title = f"{meta['machine']}, {meta['date']}, medians of {meta['rounds']} rounds, batch {meta['batch_size']}"
    print(f"wrote {stem}.json, {plot(out, stem + '.png', title)} ({meta['seconds']} s)")
    return out


if __name__ == "__main__":
    main()
