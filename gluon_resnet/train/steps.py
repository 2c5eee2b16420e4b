"""One epoch's mechanics with neon's recipe: SGD + momentum, weight decay on every trained parameter, the
learning rate dropped at fixed epochs by `MultiFactorScheduler`, a step data-parallel over any number of
devices (train_step), an epoch of them (train_one_epoch), the validation error (validate)."""
import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..compat import mx
from ..errors import TrainingDiverged, UserError
from ..runs.evaluation import topk_wrong
from . import devices
from .workers import WorkerGroup

autograd, gluon = mx.autograd, mx.gluon


NEVER = 10 ** 12  # MultiFactorScheduler needs a step; one no run reaches means "no drop"


def iters_per_epoch(count, batch_size, workers=1):
    """Batches each worker runs per epoch. dmlc splits an indexed .rec into parts of ceil(N / W)
    records, the last one smaller; every worker runs as many batches as the smallest part gives,
    because a dist kvstore hangs when workers push different numbers of times."""
    step = -(-count // workers)
    smallest = count - (workers - 1) * step
    if smallest <= 0:
        raise UserError(f"{count} training images cannot be split over {workers} workers")
    if smallest < batch_size:  # MXNet's ImageRecordIter fails then, deep in its parser
        each = f" (the smallest of {workers} workers' shards)" if workers > 1 else ""
        raise UserError(f"--batch-size {batch_size} is more than the {smallest} training images{each}; pass "
                        f"--batch-size {smallest} or less")
    return -(-smallest // batch_size)  # a last, partial batch wraps around to stay full


def make_scheduler(cfg, iters_per_epoch):
    """Learning rate per update: lr, times lr_factor after each step epoch; warm-up first if asked
    (constant at warmup_lr, as the paper's ResNet-110 did with 0.01 for ~400 iterations)."""
    steps = [int(round(e * iters_per_epoch)) for e in cfg.lr_step_epochs] or [NEVER]
    return mx.lr_scheduler.MultiFactorScheduler(
        step=steps, factor=cfg.lr_factor, base_lr=cfg.lr,
        warmup_steps=int(round(cfg.warmup_epochs * iters_per_epoch)),
        warmup_begin_lr=cfg.warmup_lr, warmup_mode="constant")


def make_trainer(net, cfg, iters_per_epoch, group=None):
    """SGD with momentum; weight decay on every trained parameter (BN gamma/beta too, as in neon).
    MXNet's update, v = mom * v - lr * (grad + wd * w); w += v, is neon's. `group` (a WorkerGroup)
    gives the kvstore; without it, cfg.kv_store on one machine."""
    group = group or WorkerGroup(cfg.kv_store, [mx.cpu()])
    return gluon.Trainer(net.collect_params(), "sgd", {
        "learning_rate": cfg.lr, "momentum": cfg.mom, "wd": cfg.wd,
        "lr_scheduler": make_scheduler(cfg, iters_per_epoch),
        "multi_precision": cfg.dtype == "float16"}, kvstore=group.kvstore, update_on_kvstore=group.update_on_kvstore)


# ---------------------------------------------------------------- one epoch

def logits(net, x, dtype="float32"):
    """The network's class scores for `x`, in float32 (numpy has no bfloat16): a float16 network takes
    float16 input; a bfloat16 one (AMP) takes float32 and casts inside its graph."""
    out = net(x.astype(dtype, copy=False) if dtype == "float16" else x)
    return out.astype("float32", copy=False)


def train_step(net, trainer, loss_fn, data, label, ctxs, dtype="float32", grad_scale=None):
    """Forward/backward of one batch split over `ctxs`, then one update from the gradients summed over
    the devices (and over the workers of a dist kvstore), divided by `grad_scale`: the number of images
    they were summed over (default: this batch's). Returns the per-device outputs and losses."""
    xs = gluon.utils.split_and_load(data, ctxs, even_split=False)
    ys = gluon.utils.split_and_load(label, ctxs, even_split=False)
    with autograd.record():
        outs = [logits(net, x, dtype) for x in xs]
        losses = [loss_fn(o, y) for o, y in zip(outs, ys)]
    autograd.backward(losses)
    trainer.step(grad_scale or data.shape[0])
    return outs, ys, losses


# Batches between reads of the running loss and error back to the host (progress bar, divergence check).
SYNC_EVERY = 20
# Steps the host may run ahead of the devices. MXNet's engine is asynchronous: without a bound the host
# queues a whole short epoch at once and a Ctrl-C waits for all of it. Two steps in flight keep a GPU fed.
IN_FLIGHT = 2


@dataclass
class EpochStats:
    loss: float
    top1_err: float
    images: int
    seconds: float
    gpu_memory_mib: float = None   # the most GPU memory in use (total - free) when sampled; None on the CPU


def train_one_epoch(net, trainer, loss_fn, batches, ctxs, epoch, total, check_stop, dtype="float32", grad_scale=None,
                    sync_every=SYNC_EVERY, desc=None):
    """One pass over `batches` (`total` of them; the rest of a larger shard is left, so that every worker
    runs as many). `check_stop(done)` runs after every batch (`done`: the batches finished) and raises to
    stop the run there; the host runs at most IN_FLIGHT steps ahead. `grad_scale`: see train_step.

    The running loss and error stay on the devices (float64) and are read back every `sync_every`
    batches and at the end: a read after every batch would make the host wait for each step, and on a
    GPU leave the launch queue empty. A diverged loss is therefore caught within `sync_every` batches."""
    from tqdm import tqdm
    sums = [mx.nd.zeros(2, ctx=c, dtype="float64") for c in ctxs]  # [loss sum, wrong], per device
    in_flight = deque()
    done = seen = synced = 0
    peak, start = None, time.time()
    with tqdm(batches, total=total, desc=desc or f"epoch {epoch}", unit="batch", leave=False, disable=None,
              dynamic_ncols=True) as bar:
        for batch in bar:
            outs, ys, losses = train_step(net, trainer, loss_fn, batch.data[0], batch.label[0], ctxs, dtype,
                                          grad_scale)
            for s, o, y, l in zip(sums, outs, ys, losses):
                wrong = (o.argmax(axis=1) != y.astype(o.dtype)).sum()
                s += mx.nd.concat(l.sum().astype("float64"), wrong.astype("float64"), dim=0)
            done, seen = done + 1, seen + batch.data[0].shape[0]
            in_flight.append(losses[0])
            if len(in_flight) > IN_FLIGHT:
                in_flight.popleft().wait_to_read()  # a signal's handler runs when this returns
            if (done - 1) % sync_every == 0:  # after the first batch, then with each sync
                peak = devices.peak_memory_mb(ctxs, peak)
            if done % sync_every == 0:
                loss_sum, _ = _read_sums(sums, epoch, synced, done, trainer)
                synced = done
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", img_s=f"{seen / (time.time() - start):.0f}")
            check_stop(done - len(in_flight))
            if done == total:
                break
    if not seen:
        raise UserError(f"epoch {epoch} had no training batch: the iterator gave none")
    loss_sum, wrong = _read_sums(sums, epoch, synced, done, trainer)
    check_stop(done)  # a signal that came during the last batches
    return EpochStats(loss_sum / seen, wrong / seen, seen, time.time() - start, peak)


def _read_sums(sums, epoch, first, last, trainer):
    """(loss sum, wrong) over the devices; TrainingDiverged when the loss is no longer finite."""
    loss_sum, wrong = sum(s.asnumpy() for s in sums)
    if not math.isfinite(loss_sum):
        raise TrainingDiverged(f"the loss became {loss_sum} in epoch {epoch}, batches {first + 1}-{last} (lr "
                               f"{trainer.learning_rate:g}): training diverged")
    return loss_sum, wrong


def validate(net, batches, ctxs, dtype="float32", on_batch=None):
    """Top-1 and top-5 error over a validation iterator (the last batch's wrap-around is skipped);
    `on_batch(k)` before the k-th batch."""
    wrong1 = wrong5 = seen = 0
    for k, batch in enumerate(batches, 1):
        if on_batch:
            on_batch(k)
        keep = batch.data[0].shape[0] - batch.pad
        xs = gluon.utils.split_and_load(batch.data[0], ctxs, even_split=False)
        out = np.concatenate([logits(net, x, dtype).asnumpy() for x in xs])[:keep]
        labels = batch.label[0].asnumpy()[:keep].astype(int)
        wrong1 += int(topk_wrong(out, labels, 1).sum())
        wrong5 += int(topk_wrong(out, labels, 5).sum())
        seen += keep
    return wrong1 / seen, wrong5 / seen
