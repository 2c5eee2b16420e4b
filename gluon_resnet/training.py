"""Training with neon's recipe: SGD + momentum, weight decay on every trained parameter, the learning
rate dropped at fixed epochs by `MultiFactorScheduler`, data-parallel over any number of devices.

`fit(cfg)` runs a whole job: it resumes exactly from the newest checkpoint, writes metrics.jsonl and a
checkpoint after every epoch, stops cleanly on Ctrl-C / SIGTERM or a diverged loss, and at the end
exports the best model, writes summary.json and val_error.png.
"""
import json
import logging
import math
import os
import resource
import signal
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import checkpoint, devices
from .errors import UserError
from .evaluation import topk_wrong
from .iterators import train_iter, val_iter
from .models import get_model
from .packing import read_meta
from .recipes import RECIPES
from .summary import count_parameters

log = logging.getLogger("gluon_resnet")

# Arguments a run is defined by: a resume must not contradict them (num_epochs may grow).
RUN_KEYS = ("n", "shortcut", "lr", "wd", "mom", "lr_factor", "lr_step_epochs", "batch_size",
            "warmup_epochs", "warmup_lr", "dtype", "seed")
NEVER = 10 ** 12  # MultiFactorScheduler needs a step; one no run reaches means "no drop"


class Interrupted(UserError):
    """Ctrl-C or SIGTERM: the run stopped between batches; the last checkpoint is complete."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.exit_code = 128 + signum


# ---------------------------------------------------------------- configuration

def recipe_defaults(meta):
    r = RECIPES[meta["family"]]
    return dict(n=9, shortcut="A", lr=r.lr, wd=r.wd, mom=r.momentum, lr_factor=r.lr_factor,
                lr_step_epochs=list(r.lr_step_epochs), batch_size=r.batch_size, num_epochs=r.num_epochs,
                warmup_epochs=0.0, warmup_lr=None, dtype="float32", seed=0)


def depth_of(meta, n):
    return (8 if meta["family"] == "miniplaces" else 6) * n + 2


def resolve(cfg):
    """Fill unset arguments (None) from the checkpoint being resumed, else from the dataset's recipe.

    Returns (cfg, meta, state, prefix); state/prefix are None for a new run."""
    meta = read_meta(cfg.data_dir)
    defaults = recipe_defaults(meta)
    save_dir = cfg.save_dir or os.path.join(
        "runs", f"{meta['name']}-resnet{depth_of(meta, cfg.n if cfg.n is not None else defaults['n'])}")
    state, prefix = checkpoint.latest(save_dir) if os.path.isdir(save_dir) else (None, None)
    if cfg.resume and state is None:
        raise UserError(f"--resume: {save_dir} holds no complete checkpoint; leave out --resume to start a run")
    if state is not None and not cfg.resume:
        if not cfg.force:
            raise UserError(f"{save_dir} already holds a run (epoch {state['epoch']} done): pass --resume to "
                            f"continue it, --force to start over, or --save-dir for a new run")
        state = prefix = None
    if state is not None:
        saved = state["args"]
        for key in RUN_KEYS:
            given = getattr(cfg, key)
            if given is not None and given != saved[key]:
                raise UserError(f"--resume: {save_dir} was trained with --{key.replace('_', '-')} "
                                f"{_show(saved[key])}, not {_show(given)}; resume with the same value, or "
                                f"start a new run in another --save-dir")
            setattr(cfg, key, saved[key])
        if cfg.num_epochs is None:
            cfg.num_epochs = saved["num_epochs"]
        _check_same_dataset(state["dataset"], meta, save_dir, cfg.data_dir)
    for key, value in defaults.items():
        if getattr(cfg, key) is None:
            setattr(cfg, key, value)
    if cfg.warmup_lr is None:
        cfg.warmup_lr = cfg.lr * 0.1
    cfg.save_dir = save_dir
    if state is not None and cfg.num_epochs <= state["epoch"]:
        raise UserError(f"--resume: {save_dir} has finished {state['epoch']} epochs already; pass a larger "
                        f"--num-epochs to extend the run")
    return cfg, meta, state, prefix


def _show(v):
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def _check_same_dataset(saved, meta, save_dir, data_dir):
    for key in ("name", "classes", "counts", "mean_rgb", "crop_size"):
        if saved.get(key) != meta.get(key):
            raise UserError(f"--resume: {save_dir} was trained on a different dataset than {data_dir} "
                            f"({key} differs); point --data-dir at the original, or start a new run")
    if saved.get("source", {}).get("sha256") != meta.get("source", {}).get("sha256"):
        raise UserError(f"--resume: {data_dir} was packed from another source than the one {save_dir} was "
                        f"trained on (source checksum differs); start a new run in another --save-dir")


def iters_per_epoch(count, batch_size, workers=1):
    """Batches each worker runs per epoch. dmlc splits an indexed .rec into parts of ceil(N / W)
    records, the last one smaller; every worker runs as many batches as the smallest part gives,
    because a dist kvstore hangs when workers push different numbers of times."""
    step = -(-count // workers)
    smallest = count - (workers - 1) * step
    if smallest <= 0:
        raise UserError(f"{count} training images cannot be split over {workers} workers")
    return -(-smallest // batch_size)  # a last, partial batch wraps around to stay full


def make_scheduler(cfg, iters_per_epoch):
    """Learning rate per update: lr, times lr_factor after each step epoch; warm-up first if asked
    (constant at warmup_lr, as the paper's ResNet-110 did with 0.01 for ~400 iterations)."""
    steps = [int(round(e * iters_per_epoch)) for e in cfg.lr_step_epochs] or [NEVER]
    return mx.lr_scheduler.MultiFactorScheduler(
        step=steps, factor=cfg.lr_factor, base_lr=cfg.lr,
        warmup_steps=int(round(cfg.warmup_epochs * iters_per_epoch)),
        warmup_begin_lr=cfg.warmup_lr, warmup_mode="constant")


def make_trainer(net, cfg, iters_per_epoch, kvstore=None):
    """SGD with momentum; weight decay on every trained parameter (BN gamma/beta too, as in neon).
    MXNet's update, v = mom * v - lr * (grad + wd * w); w += v, is neon's.

    Under a dist kvstore, workers update locally from the summed gradients (update_on_kvstore=False):
    the optimizer state then stays on each worker, where it can be checkpointed."""
    kvstore = kvstore or cfg.kv_store
    dist = not isinstance(kvstore, str) and kvstore.type.startswith("dist")
    return gluon.Trainer(net.collect_params(), "sgd", {
        "learning_rate": cfg.lr, "momentum": cfg.mom, "wd": cfg.wd,
        "lr_scheduler": make_scheduler(cfg, iters_per_epoch),
        "multi_precision": cfg.dtype == "float16"}, kvstore=kvstore, update_on_kvstore=False if dist else None)


# ---------------------------------------------------------------- one epoch

def train_step(net, trainer, loss_fn, data, label, ctxs, dtype="float32"):
    """Forward/backward of one batch split over `ctxs`, then one update from the summed gradients.
    Returns the per-device outputs and losses."""
    xs = gluon.utils.split_and_load(data, ctxs, even_split=False)
    ys = gluon.utils.split_and_load(label, ctxs, even_split=False)
    with autograd.record():
        outs = [net(x.astype(dtype, copy=False)) for x in xs]
        losses = [loss_fn(o, y) for o, y in zip(outs, ys)]
    autograd.backward(losses)
    trainer.step(data.shape[0])
    return outs, ys, losses


def train_one_epoch(net, trainer, loss_fn, batches, ctxs, cfg, epoch, total, should_stop):
    """One pass over `batches`; returns (mean loss, top-1 error, images, peak GPU MiB or None)."""
    from tqdm import tqdm
    loss_sum = wrong = seen = 0
    peak = None
    bar = tqdm(batches, total=total, desc=f"epoch {epoch}/{cfg.num_epochs}", unit="batch", leave=False,
               disable=None, dynamic_ncols=True)
    start = time.time()
    for i, batch in enumerate(bar):
        outs, ys, losses = train_step(net, trainer, loss_fn, batch.data[0], batch.label[0], ctxs, cfg.dtype)
        batch_loss = sum(float(l.sum().asscalar()) for l in losses)
        if not math.isfinite(batch_loss):
            raise UserError(f"the loss became {batch_loss} at epoch {epoch}, batch {i + 1} (lr "
                            f"{trainer.learning_rate:g}): training diverged. The last good checkpoint is in "
                            f"{cfg.save_dir}; start again with a lower --lr or with --warmup-epochs")
        for o, y in zip(outs, ys):
            wrong += int((o.argmax(axis=1) != y.astype(o.dtype)).sum().asscalar())
        loss_sum += batch_loss
        seen += batch.data[0].shape[0]
        if i % 20 == 0:
            used = devices.memory_used_mb(ctxs)
            peak = max(peak or 0, max(used)) if used else peak
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", img_s=f"{seen / (time.time() - start):.0f}")
        if should_stop():
            return None
        if i + 1 == total:  # a larger shard has a batch more: every worker stops at the same count
            break
    bar.close()
    return loss_sum / seen, wrong / seen, seen, peak


def evaluate(net, batches, ctxs, dtype="float32"):
    """Top-1 and top-5 error over a validation iterator (the last batch's wrap-around is skipped)."""
    wrong1 = wrong5 = seen = 0
    for batch in batches:
        keep = batch.data[0].shape[0] - batch.pad
        xs = gluon.utils.split_and_load(batch.data[0], ctxs, even_split=False)
        scores = np.concatenate([net(x.astype(dtype, copy=False)).asnumpy() for x in xs])[:keep]
        labels = batch.label[0].asnumpy()[:keep].astype(int)
        wrong1 += int(topk_wrong(scores, labels, 1).sum())
        wrong5 += int(topk_wrong(scores, labels, 5).sum())
        seen += keep
    return wrong1 / seen, wrong5 / seen


# ---------------------------------------------------------------- the whole job

def setup_logging(save_dir, rank=0):
    """Log to stderr and <save_dir>/train.log; workers other than rank 0 only to stderr, tagged."""
    os.makedirs(save_dir, exist_ok=True)
    log.setLevel(logging.INFO)
    for h in list(log.handlers):
        log.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s " + (f"[worker {rank}] " if rank else "") + "%(message)s", "%H:%M:%S")
    handlers = [logging.StreamHandler()]
    if rank == 0:
        handlers.append(logging.FileHandler(os.path.join(save_dir, "train.log")))
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.propagate = False


def _signals():
    """Install Ctrl-C / SIGTERM handlers that only record the signal; returns (getter, restore)."""
    got = []
    old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    return (lambda: got[0] if got else None), (lambda: [signal.signal(s, h) for s, h in old.items()])


def _cmdline(cfg, workers=1):
    parts = ["python tools/train.py", f"--data-dir {cfg.data_dir}", f"--save-dir {cfg.save_dir}", "--resume"]
    if cfg.gpus:
        parts.append(f"--gpus {cfg.gpus}")
    elif cfg.cpus > 1:
        parts.append(f"--cpus {cfg.cpus}")
    if cfg.kv_store != "device":
        parts.append(f"--kv-store {cfg.kv_store}")
    if cfg.kv_store.startswith("dist"):
        parts.insert(0, f"python tools/launch.py -n {workers} --")
    return " ".join(parts)


def fit(cfg):
    """Train (or resume) a run; returns its summary dict."""
    cfg, meta, state, prefix = resolve(cfg)
    ctxs = devices.contexts(cfg.gpus, cfg.cpus)
    devices.check_dtype(cfg.dtype, ctxs)
    kvstore, rank, workers = devices.make_kvstore(cfg.kv_store, ctxs)
    setup_logging(cfg.save_dir, rank)
    if state is None and rank == 0:
        checkpoint.clear(cfg.save_dir)  # a new run (with --force over an old one)

    mx.random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    net = get_model(meta["name"], cfg.n, classes=meta["num_classes"], shortcut=cfg.shortcut, ctx=ctxs)
    if cfg.dtype != "float32":
        net.cast(cfg.dtype)
    net.hybridize(static_alloc=True, static_shape=True)
    iters = iters_per_epoch(meta["counts"]["train"], cfg.batch_size, workers)
    trainer = make_trainer(net, cfg, iters, kvstore)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    metrics_path = os.path.join(cfg.save_dir, "metrics.jsonl")
    start_epoch, best = 0, {"val_top1_err": float("inf")}
    if state is not None:
        net.load_parameters(prefix + ".params", ctx=ctxs)
        trainer.load_states(prefix + ".states")
        start_epoch, best = state["epoch"], state["best"]
        checkpoint.rewind_metrics(cfg.save_dir, start_epoch)
        log.info(f"resuming {cfg.save_dir} after epoch {start_epoch} (update {state['num_update']})")
    depth = depth_of(meta, cfg.n)
    log.info(f"ResNet-{depth} (n={cfg.n}, shortcut {cfg.shortcut}, {count_parameters(net):,} parameters) on "
             f"{meta['name']}: {meta['counts']['train']:,} train / {meta['counts']['val']:,} val images, "
             f"{len(ctxs)} x {ctxs[0].device_type}" + (f" on each of {workers} workers" if workers > 1 else "")
             + f", batch {cfg.batch_size}, lr {cfg.lr:g} x{cfg.lr_factor:g} at "
             f"epochs {_show(cfg.lr_step_epochs) or '-'}, wd {cfg.wd:g}, {cfg.num_epochs} epochs")

    signal_got, restore_signals = _signals()
    try:
        for epoch in range(start_epoch + 1, cfg.num_epochs + 1):
            if signal_got() is not None:  # arrived during validation or checkpointing: epoch - 1 is complete
                raise Interrupted(f"stopped by {signal.Signals(signal_got()).name} after epoch {epoch - 1}, "
                                  f"which is saved in {cfg.save_dir}. Resume with: {_cmdline(cfg, workers)}",
                                  signal_got())
            tic = time.time()
            batches = train_iter(cfg.data_dir, meta, cfg.batch_size, seed=cfg.seed * 100003 + epoch,
                                 threads=cfg.data_threads, num_parts=workers, part_index=rank)
            result = train_one_epoch(net, trainer, loss_fn, batches, ctxs, cfg, epoch, iters,
                                     lambda: signal_got() is not None)
            del batches
            if result is None:
                signum = signal_got()
                raise Interrupted(f"stopped by {signal.Signals(signum).name} during epoch {epoch}; the last "
                                  f"complete checkpoint is epoch {epoch - 1} in {cfg.save_dir}. Resume with: "
                                  f"{_cmdline(cfg, workers)}", signum)
            train_loss, train_err, seen, gpu_peak = result
            train_seconds = time.time() - tic
            if rank != 0:  # rank 0 validates and writes; the others go straight on
                log.info(f"epoch {epoch:3d}/{cfg.num_epochs}  loss {train_loss:.4f}  {seen / train_seconds:.0f} img/s")
                continue
            row = {"epoch": epoch, "lr": trainer.learning_rate, "train_loss": train_loss,
                   "train_top1_err": train_err, "val_top1_err": None, "val_top5_err": None}
            if epoch % cfg.eval_every == 0 or epoch == cfg.num_epochs:
                row["val_top1_err"], row["val_top5_err"] = evaluate(
                    net, val_iter(cfg.data_dir, meta, cfg.batch_size, threads=cfg.data_threads), ctxs, cfg.dtype)
            row.update(epoch_seconds=time.time() - tic, images_per_second=seen / train_seconds,
                       peak_memory_mb=gpu_peak if gpu_peak is not None else
                       resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            is_best = row["val_top1_err"] is not None and row["val_top1_err"] < best["val_top1_err"]
            if is_best:
                best = {k: row[k] for k in ("epoch", "val_top1_err", "val_top5_err")}
            with open(metrics_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            checkpoint.save(cfg.save_dir, net, trainer, {
                "epoch": epoch, "num_update": trainer.optimizer.num_update, "best": best,
                "args": {k: getattr(cfg, k) for k in RUN_KEYS + ("num_epochs", "data_dir")},
                "dataset": meta}, is_best)
            val = (f"val top-1 {100 * row['val_top1_err']:.2f}% top-5 {100 * row['val_top5_err']:.2f}%"
                   if row["val_top1_err"] is not None else "val -")
            log.info(f"epoch {epoch:3d}/{cfg.num_epochs}  lr {row['lr']:.4g}  loss {train_loss:.4f}  train top-1 "
                     f"{100 * train_err:.2f}%  {val}  {row['epoch_seconds']:.1f} s  "
                     f"{row['images_per_second']:.0f} img/s")
    finally:
        restore_signals()
    return finish(cfg.save_dir) if rank == 0 else None


def export_best(save_dir):
    """The best checkpoint as a hybridized export: model-symbol.json + model-0000.params, input `data`.
    Returns the loaded network."""
    net, state = checkpoint.load_model(save_dir, "best")
    net.hybridize()
    crop = state["dataset"]["crop_size"]
    net(mx.nd.zeros((1, 3, crop, crop)))  # export needs one forward pass after hybridize()
    tmp = os.path.join(save_dir, f".export-{os.getpid()}")
    net.export(tmp, epoch=0)
    for suffix in ("-0000.params", "-symbol.json"):  # symbol last: it is what readers look for first
        os.replace(tmp + suffix, os.path.join(save_dir, "model" + suffix))
    return net


def finish(save_dir):
    """Export the best model, write summary.json and val_error.png, print neon's table."""
    from .plots import plot_run, read_metrics
    rows = read_metrics(save_dir)
    best = checkpoint.read_json(os.path.join(save_dir, "best.json"))
    a, meta = best["args"], best["dataset"]
    net = export_best(save_dir)
    summary = {
        "model": f"ResNet-{depth_of(meta, a['n'])}", "depth": depth_of(meta, a["n"]), "n": a["n"],
        "shortcut": a["shortcut"], "parameters": count_parameters(net), "dataset": meta["name"],
        "epochs": rows[-1]["epoch"], "best_epoch": best["best"]["epoch"],
        "best_val_top1_err": best["best"]["val_top1_err"], "best_val_top5_err": best["best"]["val_top5_err"],
        "final_val_top1_err": rows[-1]["val_top1_err"],
        "seconds_per_epoch": float(np.median([r["epoch_seconds"] for r in rows])),
        "images_per_second": float(np.median([r["images_per_second"] for r in rows])),
        "peak_memory_mb": max(r["peak_memory_mb"] for r in rows),
        "total_seconds": sum(r["epoch_seconds"] for r in rows),
    }
    checkpoint.write_json(os.path.join(save_dir, "summary.json"), summary)
    plot = plot_run(save_dir)
    log.info("\n| Model Depth | Memory Footprint | Seconds per Epoch | Validation Error % |\n"
             "| ----------- | ---------------- | ----------------- | ------------------ |\n"
             f"| {summary['depth']:<11} | {summary['peak_memory_mb']:>8.0f} MiB     | "
             f"{summary['seconds_per_epoch']:>17.1f} | {100 * summary['best_val_top1_err']:>18.2f} |")
    log.info(f"best epoch {summary['best_epoch']}: top-1 {100 * summary['best_val_top1_err']:.2f}%, top-5 "
             f"{100 * summary['best_val_top5_err']:.2f}%; wrote {save_dir}/model-symbol.json, summary.json, {plot}")
    return summary
