"""Training with neon's recipe: SGD + momentum, weight decay on every trained parameter, the learning
rate dropped at fixed epochs by `MultiFactorScheduler`, data-parallel over any number of devices.

`fit(args)` runs a whole job: it resumes exactly from the newest checkpoint, writes metrics.jsonl and a
checkpoint after every epoch, stops cleanly on Ctrl-C / SIGTERM or a diverged loss, and at the end
exports the final epoch's model (or the best one, `--export best`), writes summary.json and val_error.png.
"""
import argparse
import logging
import math
import os
import resource
import signal
import time
from dataclasses import dataclass

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import devices, report
from .dataset import DatasetMeta, read_meta
from .errors import Interrupted, TrainingDiverged, UserError
from .evaluation import topk_wrong
from .iterators import epoch_seed, train_iter, val_iter
from .models import ModelSpec
from .plots import plot_run
from .run import Run, RunState, Score
from .summary import count_parameters

log = logging.getLogger("gluon_resnet")

# Arguments a run is defined by: a resume must not contradict them (num_epochs may grow).
RUN_KEYS = ("n", "shortcut", "lr", "wd", "mom", "lr_factor", "lr_step_epochs", "batch_size",
            "warmup_epochs", "warmup_lr", "dtype", "seed")
NEVER = 10 ** 12  # MultiFactorScheduler needs a step; one no run reaches means "no drop"


# ---------------------------------------------------------------- configuration

def recipe_defaults(meta):
    r = meta.recipe
    return dict(n=9, shortcut="A", lr=r.lr, wd=r.wd, mom=r.momentum, lr_factor=r.lr_factor,
                lr_step_epochs=[float(e) for e in r.lr_step_epochs], batch_size=r.batch_size, num_epochs=r.num_epochs,
                warmup_epochs=0.0, warmup_lr=None, dtype="float32", seed=0)


@dataclass
class Job:
    """A resolved training command: every option filled, the dataset read, the checkpoint to resume."""
    cfg: argparse.Namespace
    meta: DatasetMeta
    run: Run
    resume_from: RunState = None


def resolve(args):
    """Fill unset arguments (None) from the checkpoint being resumed, else from the dataset's recipe.
    `args` itself is left as it was."""
    cfg = argparse.Namespace(**vars(args))
    meta = read_meta(cfg.data_dir)
    defaults = recipe_defaults(meta)
    spec = ModelSpec(meta.family, cfg.n if cfg.n is not None else defaults["n"])
    run = Run(cfg.save_dir or f"runs/{meta.name}-resnet{spec.depth}")
    state = run.latest()
    if cfg.resume and state is None:
        raise UserError(f"--resume: {run.dir} holds no complete checkpoint; leave out --resume to start a run")
    if state is not None and not cfg.resume:
        if not cfg.force:
            raise UserError(f"{run.dir} already holds a run (epoch {state.epoch} done): pass --resume to "
                            f"continue it, --force to start over, or --save-dir for a new run")
        state = None
    if state is not None:
        saved = state.args
        for key in RUN_KEYS:
            given = getattr(cfg, key)
            if given is not None and given != saved[key]:
                raise UserError(f"--resume: {run.dir} was trained with --{key.replace('_', '-')} "
                                f"{_show(saved[key])}, not {_show(given)}; resume with the same value, or "
                                f"start a new run in another --save-dir")
            setattr(cfg, key, saved[key])
        if cfg.num_epochs is None:
            cfg.num_epochs = saved["num_epochs"]
        _check_same_dataset(state.dataset, meta, run.dir, cfg.data_dir)
    for key, value in defaults.items():
        if getattr(cfg, key) is None:
            setattr(cfg, key, value)
    if cfg.warmup_lr is None:
        cfg.warmup_lr = cfg.lr * 0.1
    cfg.save_dir = run.dir
    if state is not None and cfg.num_epochs <= state.epoch:
        raise UserError(f"--resume: {run.dir} has finished {state.epoch} epochs already; pass a larger "
                        f"--num-epochs to extend the run")
    return Job(cfg, meta, run, state)


def _show(v):
    fmt = lambda x: f"{x:g}" if isinstance(x, float) else str(x)  # noqa: E731
    return ",".join(map(fmt, v)) if isinstance(v, (list, tuple)) else fmt(v)


def _check_same_dataset(saved, meta, save_dir, data_dir):
    for key in ("name", "classes", "counts", "mean_rgb", "crop_size"):
        if getattr(saved, key) != getattr(meta, key):
            raise UserError(f"--resume: {save_dir} was trained on a different dataset than {data_dir} "
                            f"({key} differs); point --data-dir at the original, or start a new run")
    if saved.source.get("sha256") != meta.source.get("sha256"):
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


# Batches between reads of the running loss and error back to the host: the host may queue this many
# steps ahead of the device, so it also bounds how long a stop signal waits for queued work.
SYNC_EVERY = 20


@dataclass
class EpochStats:
    loss: float
    top1_err: float
    images: int
    seconds: float
    gpu_memory_mib: float = None   # peak GPU memory in use; None on the CPU


def train_one_epoch(net, trainer, loss_fn, batches, ctxs, cfg, epoch, total, check_stop, sync_every=SYNC_EVERY):
    """One pass over `batches` (`total` of them). `check_stop()` runs after every batch and raises
    to stop the run there.

    The running loss and error stay on the devices (float64) and are read back every `sync_every`
    batches and at the end: a read after every batch would make the host wait for each step, and on a
    GPU leave the launch queue empty. A diverged loss is therefore caught within `sync_every` batches,
    before the epoch's checkpoint is written."""
    from tqdm import tqdm
    sums = [mx.nd.zeros(2, ctx=c, dtype="float64") for c in ctxs]  # [loss sum, wrong], per device
    seen, peak, synced = 0, None, 0
    start = time.time()

    def read():
        loss_sum, wrong = sum(s.asnumpy() for s in sums)
        if not math.isfinite(loss_sum):
            raise TrainingDiverged(f"the loss became {loss_sum} in epoch {epoch}, batches {synced + 1}-{i + 1} (lr "
                                   f"{trainer.learning_rate:g}): training diverged. The last good checkpoint "
                                   f"is in {cfg.save_dir}; start again with a lower --lr or with --warmup-epochs")
        return loss_sum, wrong

    with tqdm(batches, total=total, desc=f"epoch {epoch}/{cfg.num_epochs}", unit="batch", leave=False,
              disable=None, dynamic_ncols=True) as bar:
        for i, batch in enumerate(bar):
            outs, ys, losses = train_step(net, trainer, loss_fn, batch.data[0], batch.label[0], ctxs, cfg.dtype)
            for s, o, y, l in zip(sums, outs, ys, losses):
                wrong = (o.argmax(axis=1) != y.astype(o.dtype)).sum()
                s += mx.nd.concat(l.sum().astype("float64"), wrong.astype("float64"), dim=0)
            seen += batch.data[0].shape[0]
            if i % 20 == 0:
                used = devices.memory_used_mb(ctxs)
                peak = max(peak or 0, max(used)) if used else peak
            if (i + 1) % sync_every == 0:
                loss_sum, _ = read()
                synced = i + 1
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", img_s=f"{seen / (time.time() - start):.0f}")
            check_stop()
            if i + 1 == total:  # a larger shard has a batch more: every worker stops at the same count
                break
    loss_sum, wrong = read()
    return EpochStats(loss_sum / seen, wrong / seen, seen, time.time() - start, peak)


def validate(net, batches, ctxs, dtype="float32"):
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

def setup_logging(run, rank=0):
    """Log to stderr and the run's train.log; workers other than rank 0 only to stderr, tagged."""
    os.makedirs(run.dir, exist_ok=True)
    log.setLevel(logging.INFO)
    for h in list(log.handlers):
        log.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s " + (f"[worker {rank}] " if rank else "") + "%(message)s", "%H:%M:%S")
    handlers = [logging.StreamHandler()]
    if rank == 0:
        handlers.append(logging.FileHandler(run.log))
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.propagate = False


class StopSignals:
    """Ctrl-C / SIGTERM handlers that only record the signal; `check(where)` raises Interrupted at a
    point where the run can stop cleanly (between batches, or between epochs).

    With `hard_exit_after` (dist kvstore workers), the process also ends that many seconds after the
    signal whatever it is doing: a worker blocked in a kvstore push never returns to Python, where the
    handler would run. Python's C-level handler writes the signal to a wakeup socket at once; a thread
    reading it arms alarm(), and SIGALRM's default action ends the process from the kernel."""

    def __init__(self, resume_command, hard_exit_after=None):
        self.resume_command, self.got, self.hard_exit_after = resume_command, [], hard_exit_after

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
            raise Interrupted(f"stopped by {signal.Signals(self.got[0]).name} {where}. Resume with: "
                              f"{self.resume_command}", self.got[0])


CHECKSUM_KEY = 2 ** 30  # a kvstore key no parameter uses (gluon.Trainer numbers them from 0)
HARD_EXIT_SECONDS = 10  # a dist worker that got SIGTERM / Ctrl-C ends within this, even when blocked


def check_in_sync(net, kvstore, ctx, epoch):
    """Under dist_sync every worker applies the same summed gradients, so all hold the same trainable
    parameters. Each puts (sum, sum of squares) of its own in its own slot of a vector the servers add
    up (x + 0 is exact, whatever precision the servers add in), so every worker sees everyone's and
    compares. Returns this worker's checksum (the sum); raises JobError when the workers differ."""
    arrays = [p.data(ctx).asnumpy().astype(np.float64) for p in net.collect_params().values()
              if p.grad_req != "null"]
    mine = np.zeros((kvstore.num_workers, 2))
    mine[kvstore.rank] = sum(a.sum() for a in arrays), sum((a * a).sum() for a in arrays)
    table = mx.nd.zeros(mine.size, dtype="float64")
    kvstore.push(CHECKSUM_KEY, mx.nd.array(mine.ravel(), dtype="float64"))
    kvstore.pull(CHECKSUM_KEY, out=table)
    table = table.asnumpy().reshape(mine.shape)
    if not (table == table[kvstore.rank]).all():
        from .errors import JobError
        raise JobError(f"worker {kvstore.rank}'s parameters differ from the others' after epoch {epoch} "
                       f"(parameter sums {', '.join(f'{v:.10g}' for v in table[:, 0])} on workers 0-"
                       f"{kvstore.num_workers - 1}): the workers are out of sync")
    return float(table[kvstore.rank, 0])


def resume_command(cfg, workers=1):
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


def fit(args):
    """Train (or resume) a run; returns its report.Summary (None on workers other than rank 0)."""
    job = resolve(args)
    cfg, meta, run = job.cfg, job.meta, job.run
    ctxs = devices.contexts(cfg.gpus, cfg.cpus)
    devices.check_dtype(cfg.dtype, ctxs)
    kvstore, rank, workers = devices.make_kvstore(cfg.kv_store, ctxs)
    setup_logging(run, rank)
    if job.resume_from is None and rank == 0:
        run.clear()  # a new run (with --force over an old one)

    mx.random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    spec = ModelSpec(meta.family, cfg.n, cfg.shortcut, meta.num_classes)
    net = spec.build(ctx=ctxs)
    if cfg.dtype != "float32":
        net.cast(cfg.dtype)
    if ctxs[0].device_type == "gpu":
        # On GPUs the static graph is the fast path. On the CPU, imperative steps measured 1.22x the
        # hybridized ones (benchmarks/bench.py: MXNet's hybridized BatchNorm backward falls back to slow
        # oneDNN reference kernels). Export hybridizes a copy either way.
        net.hybridize(static_alloc=True, static_shape=True)
    iters = iters_per_epoch(meta.counts["train"], cfg.batch_size, workers)
    trainer = make_trainer(net, cfg, iters, kvstore)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    start_epoch, best = 0, None
    if job.resume_from is not None:
        params, states = run.params_and_states(job.resume_from)
        net.load_parameters(params, ctx=ctxs)
        trainer.load_states(states)
        start_epoch, best = job.resume_from.epoch, job.resume_from.best
        run.rewind_metrics(start_epoch)
        log.info(f"resuming {run.dir} after epoch {start_epoch} (update {job.resume_from.num_update})")
    log.info(f"{spec.name} (n={cfg.n}, shortcut {cfg.shortcut}, {count_parameters(net):,} parameters) on "
             f"{meta.name}: {meta.counts['train']:,} train / {meta.counts['val']:,} val images, "
             f"{len(ctxs)} x {ctxs[0].device_type}" + (f" on each of {workers} workers" if workers > 1 else "")
             + (f", batch {cfg.batch_size} per worker ({cfg.batch_size * workers} in all)" if workers > 1
                else f", batch {cfg.batch_size}") + f", lr {cfg.lr:g} x{cfg.lr_factor:g} at "
             f"epochs {_show(cfg.lr_step_epochs) or '-'}, wd {cfg.wd:g}, {cfg.num_epochs} epochs")

    dist = not isinstance(kvstore, str)
    if dist:
        # gluon.Trainer broadcasts rank 0's parameters lazily, inside the first step, where the engine may
        # order that pull after the first gradient push: a worker then starts from summed gradients
        # instead of weights (seen under --launcher ssh, caught by check_in_sync). Broadcast now, and
        # let nobody push a gradient before every worker holds its copy.
        trainer._init_kvstore()
        trainer._init_params()
        mx.nd.waitall()
        kvstore._barrier()
    in_sync = dist and kvstore.type in ("dist_sync", "dist_device_sync")
    if in_sync:
        kvstore.init(CHECKSUM_KEY, mx.nd.zeros(2 * workers, dtype="float64"))  # check_in_sync's key
    with StopSignals(resume_command(cfg, workers), HARD_EXIT_SECONDS if dist else None) as stop:
        for epoch in range(start_epoch + 1, cfg.num_epochs + 1):
            # A signal that came during validation or checkpointing: epoch - 1 is complete.
            stop.check(f"after epoch {epoch - 1}, which is saved in {run.dir}")
            tic = time.time()
            batches = train_iter(cfg.data_dir, meta, cfg.batch_size, seed=epoch_seed(cfg.seed, epoch),
                                 threads=cfg.data_threads, num_parts=workers, part_index=rank)
            stats = train_one_epoch(net, trainer, loss_fn, batches, ctxs, cfg, epoch, iters, lambda: stop.check(
                f"during epoch {epoch}; the last complete checkpoint is epoch {epoch - 1} in {run.dir}"))
            del batches
            if in_sync:
                checksum = check_in_sync(net, kvstore, ctxs[0], epoch)
                log.info(f"epoch {epoch}: parameter checksum {checksum:.10g}, the same on all {workers} workers")
            if rank != 0:  # rank 0 validates and writes; the others go straight on
                log.info(f"epoch {epoch:3d}/{cfg.num_epochs}  loss {stats.loss:.4f}  "
                         f"{stats.images / stats.seconds:.0f} img/s")
                continue
            top1 = top5 = None
            if epoch % cfg.eval_every == 0 or epoch == cfg.num_epochs:
                top1, top5 = validate(net, val_iter(cfg.data_dir, meta, cfg.batch_size, threads=cfg.data_threads),
                                      ctxs, cfg.dtype)
            row = {"epoch": epoch, "lr": trainer.learning_rate, "train_loss": stats.loss,
                   "train_top1_err": stats.top1_err, "val_top1_err": top1, "val_top5_err": top5,
                   "epoch_seconds": time.time() - tic, "images_per_second": stats.images / stats.seconds,
                   "gpu_memory_mib": stats.gpu_memory_mib,
                   "host_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            is_best = top1 is not None and (best is None or top1 < best.val_top1_err)
            if is_best:
                best = Score(epoch, top1, top5)
            run.append_metrics(row)
            run.save(net, trainer, RunState(epoch, trainer.optimizer.num_update,
                                            {k: getattr(cfg, k) for k in RUN_KEYS + ("num_epochs", "data_dir")},
                                            meta, best), is_best)
            log.info(report.epoch_line(row, cfg.num_epochs))

    if rank != 0:
        return None
    net, exported = run.export_mxnet(cfg.export)
    summary = report.summarize(run.read_metrics(), exported, cfg.export, count_parameters(net))
    run.write_summary(summary)
    plot_run(run)
    log.info(report.neon_table(summary))
    log.info(report.closing_line(summary, run))
    return summary
