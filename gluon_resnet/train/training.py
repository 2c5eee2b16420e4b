"""Training with neon's recipe: SGD + momentum, weight decay on every trained parameter, the learning
rate dropped at fixed epochs by `MultiFactorScheduler`, data-parallel over any number of devices.

`fit(config)` runs a whole job: it resumes exactly from the newest checkpoint, writes metrics.jsonl and a
checkpoint after every epoch, stops cleanly on Ctrl-C / SIGTERM or a diverged loss, and at the end
exports the final epoch's model (or the best one, `--weights best`), writes summary.json and val_error.png.
"""
import logging
import math
import os
import resource
import signal
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from ..compat import OPENMP, mx
from ..data.integrity import reading
from ..data.iterators import epoch_seed, train_iter, val_iter
from ..errors import Interrupted, TrainingDiverged, UserError
from ..model.precision import bf16_outlook, trace_in_bf16
from ..model.resnet import ModelSpec
from ..model.summary import count_parameters
from . import devices, report
from .config import TrainConfig, show
from .evaluation import topk_wrong
from .plots import plot_run
from .progress import Reporter
from .run import RunState, Score, load_parameters
from .start import next_step, prepare_run
from .workers import WorkerGroup

autograd, gluon = mx.autograd, mx.gluon

log = logging.getLogger("gluon_resnet")

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


# ---------------------------------------------------------------- the whole job

def setup_logging(run, group):
    """Log to stderr, and the writer (rank 0) also to the run's train.log; other ranks are tagged."""
    log.setLevel(logging.INFO)
    for h in list(log.handlers):
        log.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s " + ("" if group.is_writer else f"[worker {group.rank}] ") + "%(message)s",
                            "%H:%M:%S")
    handlers = [logging.StreamHandler()]
    if group.is_writer:
        os.makedirs(run.dir, exist_ok=True)
        handlers.append(logging.FileHandler(run.log))
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.propagate = False


class StopSignals:
    """Ctrl-C / SIGTERM handlers that only record the signal; `check(where)` raises Interrupted at a
    point where the run can stop cleanly (between batches, or between epochs), with `hint()`: how to go on
    (message parts).

    With `hard_exit_after` (dist kvstore workers), the process also ends that many seconds after the
    signal whatever it is doing: a worker blocked in a kvstore push never returns to Python, where the
    handler would run. Python's C-level handler writes the signal to a wakeup socket at once; a thread
    reading it arms alarm(), and SIGALRM's default action ends the process from the kernel."""

    def __init__(self, hint, hard_exit_after=None):
        self.hint, self.got, self.hard_exit_after = hint, [], hard_exit_after

    def __enter__(self):
        self.old = {s: signal.signal(s, lambda signum, frame: self.got.append(signum))
                    for s in (signal.SIGINT, signal.SIGTERM)}
        if self.hard_exit_after:
            import socket
            import threading
            self.wake_r, wake_w = socket.socketpair()
            wake_w.setblocking(False)
            self.wake_w = wake_w
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            self.old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
            threading.Thread(target=self._watchdog, daemon=True).start()
        return self

    def _watchdog(self):
        try:
            if self.wake_r.recv(1):
                signal.alarm(self.hard_exit_after)
        except OSError:  # closed by __exit__
            pass

    def __exit__(self, *exc):
        for s, h in self.old.items():
            signal.signal(s, h)
        if self.hard_exit_after:
            signal.set_wakeup_fd(self.old_wakeup)
            self.wake_r.close()
            self.wake_w.close()

    def check(self, where):
        if self.got:
            raise Interrupted(self.got[0], f"stopped by {signal.Signals(self.got[0]).name} {where}. ", *self.hint())


def _workers_checked(config, group, resuming):
    if resuming and config.workers != group.size:
        raise UserError(f"--resume: {config.save_dir} was trained by {config.workers} worker(s) of "
                        f"--batch-size {config.batch_size}, not {group.size}: launch it with -n {config.workers} "
                        f"(the number of workers changes the batch and the data shards)")
    return replace(config, workers=group.size)


def _build(config, meta, run, resume_from, ctxs, group, iters):
    """(net, trainer, epochs done, best Score) of a new run, or of the checkpoint being resumed;
    `iters`: updates per epoch, for the learning-rate schedule."""
    mx.random.seed(config.seed)
    np.random.seed(config.seed)
    spec = ModelSpec(meta.family, config.n, config.shortcut, meta.num_classes)
    net = spec.build(ctx=ctxs)
    if config.dtype == "float16":
        net.cast(config.dtype)
    if _static_graph(config, ctxs):
        net.hybridize(static_alloc=True, static_shape=True)
    trainer = make_trainer(net, config, iters, group)
    if resume_from is None:
        return _traced(net, config, meta, ctxs), trainer, 0, None
    params, states = run.params_and_states(resume_from)
    load_parameters(net, params, ctx=ctxs)
    try:
        trainer.load_states(states)
    except Exception as e:  # a .states file from before checksums were recorded
        raise UserError(f"{states} cannot be loaded ({type(e).__name__}): the file is damaged") from None
    log.info(f"resuming {run.dir} after epoch {resume_from.epoch} (update {resume_from.num_update})")
    return _traced(net, config, meta, ctxs), trainer, resume_from.epoch, resume_from.best


def _static_graph(config, ctxs):
    """Whether the run trains the static graph: always on GPUs and in bfloat16 (AMP's casts live in the
    graph); on the CPU unless --no-hybridize (the faster mode there, docs/performance.md)."""
    return ctxs[0].device_type == "gpu" or config.hybridize or config.dtype == "bfloat16"


def _traced(net, config, meta, ctxs):
    """A bfloat16 network gets its graph traced with AMP's casts now, AMP on only meanwhile (precision.py)."""
    if config.dtype == "bfloat16":
        trace_in_bf16(net, (1, 3, meta.crop_size, meta.crop_size), ctxs[0])
    return net


def fit(config: TrainConfig, resume=False, force=False, launch=""):
    """Train the run `config` describes (new_config), or with `resume` go on with the one in its save_dir
    (resumed_config); `force` starts over where a run is; `launch`: the launcher command that started this
    worker, printed before the resume command. Returns the run's report.Summary (None on workers other
    than rank 0)."""
    config, meta, run, resume_from = prepare_run(config, resume, force)
    progress = Reporter.from_env()  # to the launcher of a dist job: what this worker does now
    progress.starting()
    ctxs = devices.contexts(config.gpus, config.cpus)
    devices.check_dtype(config.dtype, ctxs)
    group = WorkerGroup(config.kv_store, ctxs)
    config = _workers_checked(config, group, resume_from is not None)
    iters = iters_per_epoch(meta.counts["train"], config.batch_size, group.size)
    setup_logging(run, group)
    if group.is_writer and resume_from is None:
        run.clear()  # a new run (with --force over an old one)
    elif group.is_writer:
        run.rewind_metrics(resume_from.epoch)
    net, trainer, start_epoch, best = _build(config, meta, run, resume_from, ctxs, group, iters)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    log.info(_describe(config, meta, net, ctxs, group))
    if config.dtype == "bfloat16":
        log.info(bf16_outlook())
    group.start(trainer)
    with StopSignals(lambda: next_step(run, config, launch), group.hard_exit_after) as stop:
        for epoch in range(start_epoch + 1, config.num_epochs + 1):
            # A signal that came during validation or checkpointing: epoch - 1 is complete.
            stop.check(f"after epoch {epoch - 1}, which is saved in {run.dir}")
            tic = time.time()
            progress.training(epoch, 0, iters, first=epoch == start_epoch + 1)
            stats = _train_epoch(net, trainer, loss_fn, config, meta, run, ctxs, group, epoch, iters, stop, progress)
            checksum = group.check_in_sync(net, ctxs[0], epoch)
            if checksum is not None:
                log.info(f"epoch {epoch}: parameter checksum {checksum:.10g}, the same on all {group.size} workers")
            if group.is_writer:  # rank 0 validates and writes; the others go straight on
                best = _validate_and_save(net, trainer, config, meta, run, ctxs, epoch, stats, tic, best, progress)
            else:
                log.info(f"epoch {epoch:3d}/{config.num_epochs}  loss {stats.loss:.4f}  "
                         f"{stats.images / stats.seconds:.0f} img/s")
        # A stop asked for during the last epoch's validation or checkpoint: the run is saved, not finished.
        stop.check(f"after epoch {config.num_epochs}, the last, which is saved in {run.dir} (not yet exported)")
    progress.finishing(config.num_epochs, "exporting the model" if group.is_writer else "done")
    return finish(run, config) if group.is_writer else None


def _describe(config, meta, net, ctxs, group):
    return (f"{ModelSpec(meta.family, config.n).name} (n={config.n}, shortcut {config.shortcut}, "
            f"{count_parameters(net):,} parameters) on {meta.name}: {meta.counts['train']:,} train / "
            f"{meta.counts['val']:,} val images, {len(ctxs)} x {ctxs[0].device_type}"
            f"{f' ({OPENMP})' if ctxs[0].device_type == 'cpu' else ''}, "
            f"{'static graph' if _static_graph(config, ctxs) else 'imperative'} {config.dtype}, "
            f"{group.describe(config.batch_size)}, lr {config.lr:g} x{config.lr_factor:g} at epochs "
            f"{show(config.lr_step_epochs) or '-'}, wd {config.wd:g}, {config.num_epochs} epochs")


def _train_epoch(net, trainer, loss_fn, config, meta, run, ctxs, group, epoch, iters, stop, progress):
    """This worker's shard of the training split, once, as train_one_epoch, each batch reported; a damaged
    record and a diverged loss end the run with one line."""
    def check_stop(done):
        progress.training(epoch, done, iters)
        stop.check(f"during epoch {epoch} (after batch {done} of {iters}); the last complete checkpoint is "
                   f"epoch {epoch - 1} in {run.dir}")
    batches = train_iter(config.data_dir, meta, config.batch_size, seed=epoch_seed(config.seed, epoch),
                         threads=config.data_threads, num_parts=group.size, part_index=group.rank)
    try:
        with reading(config.data_dir, "train"):
            return train_one_epoch(net, trainer, loss_fn, batches, ctxs, epoch, iters, check_stop, config.dtype,
                                   group.grad_scale(config.batch_size), desc=f"epoch {epoch}/{config.num_epochs}")
    except TrainingDiverged as e:
        raise TrainingDiverged(f"{e}. The last good checkpoint is in {run.dir}; start again with a lower --lr "
                               f"or with --warmup-epochs") from None


def _validate_and_save(net, trainer, config, meta, run, ctxs, epoch, stats, tic, best, progress):
    """The writer's end of an epoch: validation (every eval_every epochs and after the last), the metrics
    row, the checkpoint, the log line, each step reported. Returns the best Score so far."""
    top1 = top5 = None
    if epoch % config.eval_every == 0 or epoch == config.num_epochs:
        with reading(config.data_dir, "val"):  # a val split smaller than a batch: one batch of it
            batches = val_iter(config.data_dir, meta, min(config.batch_size, meta.counts["val"]),
                               threads=config.data_threads)
            top1, top5 = validate(net, batches, ctxs, config.dtype,
                                  lambda k: progress.validating(epoch, k))
    row = {"epoch": epoch, "lr": trainer.learning_rate, "train_loss": stats.loss,
           "train_top1_err": stats.top1_err, "val_top1_err": top1, "val_top5_err": top5,
           "epoch_seconds": time.time() - tic, "images_per_second": stats.images / stats.seconds,
           "gpu_memory_mib": stats.gpu_memory_mib,
           "host_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    is_best = top1 is not None and (best is None or top1 < best.val_top1_err)
    best = Score(epoch, top1, top5) if is_best else best
    run.append_metrics(row)
    progress.saving(epoch)
    run.save(net, trainer, RunState(epoch, trainer.optimizer.num_update, config, meta, best), is_best)
    log.info(report.epoch_line(row, config.num_epochs))
    return best


def finish(run, config):
    """The writer's last step: export, summary.json, val_error.png, neon's table."""
    net, exported = run.export_mxnet(config.weights)
    summary = report.summary_of(run.read_metrics(), exported, config.weights, count_parameters(net))
    run.write_summary(summary)
    plot_run(run)
    log.info(report.neon_table(summary))
    log.info(report.closing_line(summary, run))
    return summary
