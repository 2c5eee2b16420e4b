"""A training job with neon's recipe (its steps: steps.py).

`fit(config)` runs a whole job: it resumes exactly from the newest checkpoint, writes metrics.jsonl and a
checkpoint after every epoch, stops cleanly on Ctrl-C / SIGTERM or a diverged loss, and at the end
exports the final epoch's model (or the best one, `--weights best`), writes summary.json and val_error.png.
"""
import logging
import os
import resource
import signal
import time
from dataclasses import dataclass, replace

import numpy as np

from ..compat import OPENMP, mx
from ..data.dataset import DatasetMeta
from ..data.integrity import reading
from ..data.iterators import epoch_seed, train_iter, val_iter
from ..errors import Interrupted, TrainingDiverged, UserError
from ..model.precision import bf16_outlook, trace_in_bf16
from ..model.resnet import ModelSpec
from ..model.summary import count_parameters
from ..runs.config import TrainConfig, show
from ..runs.folder import Run, RunState, Score, load_parameters
from . import devices, report
from .plots import plot_run
from .progress import Reporter
from .start import next_step, prepare_run
from .steps import iters_per_epoch, make_trainer, train_one_epoch, validate
from .workers import WorkerGroup

autograd, gluon = mx.autograd, mx.gluon

log = logging.getLogger("gluon_resnet")

# ---------------------------------------------------------------- the whole job

def setup_logging(run, group):
    """Log to stderr, and the writer (rank 0) also to the run's train.log; other ranks are tagged. The
    handlers a previous fit() in this process added are replaced; a library user's own stay."""
    log.setLevel(logging.INFO)
    for h in [h for h in log.handlers if getattr(h, "gluon_resnet_run", False)]:
        log.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s " + ("" if group.is_writer else f"[worker {group.rank}] ") + "%(message)s",
                            "%H:%M:%S")
    handlers = [logging.StreamHandler()]
    if group.is_writer:
        os.makedirs(run.dir, exist_ok=True)
        handlers.append(logging.FileHandler(run.log))
    for h in handlers:
        h.setFormatter(fmt)
        h.gluon_resnet_run = True
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
        loop = _Loop(config, meta, run, ctxs, group, net, trainer, loss_fn, iters, stop, progress)
        for epoch in range(start_epoch + 1, config.num_epochs + 1):
            # A signal that came during validation or checkpointing: epoch - 1 is complete.
            stop.check(f"after epoch {epoch - 1}, which is saved in {run.dir}")
            tic = time.time()
            progress.training(epoch, 0, iters, first=epoch == start_epoch + 1)
            stats = _train_epoch(loop, epoch)
            checksum = group.check_in_sync(net, ctxs[0], epoch)
            if checksum is not None:
                log.info(f"epoch {epoch}: parameter checksum {checksum:.10g}, the same on all {group.size} workers")
            if group.is_writer:  # rank 0 validates and writes; the others go straight on
                best = _validate_and_save(loop, epoch, stats, tic, best)
            else:
                log.info(f"epoch {epoch:3d}/{config.num_epochs}  loss {stats.loss:.4f}  "
                         f"{stats.images / stats.seconds:.0f} img/s")
        # A stop asked for during the last epoch's validation or checkpoint: the run is saved, not finished.
        stop.check(f"after epoch {config.num_epochs}, the last, which is saved in {run.dir} (not yet exported)")
    if not group.is_writer:
        progress.finishing(config.num_epochs, "done")
        return None
    return finish(run, config, progress)


def _describe(config, meta, net, ctxs, group):
    return (f"{ModelSpec(meta.family, config.n).name} (n={config.n}, shortcut {config.shortcut}, "
            f"{count_parameters(net):,} parameters) on {meta.name}: {meta.counts['train']:,} train / "
            f"{meta.counts['val']:,} val images, {len(ctxs)} x {ctxs[0].device_type}"
            f"{f' ({OPENMP})' if ctxs[0].device_type == 'cpu' else ''}, "
            f"{'static graph' if _static_graph(config, ctxs) else 'imperative'} {config.dtype}, "
            f"{group.describe(config.batch_size)}, lr {config.lr:g} x{config.lr_factor:g} at epochs "
            f"{show(config.lr_step_epochs) or '-'}, wd {config.wd:g}, {config.num_epochs} epochs")


@dataclass(frozen=True)
class _Loop:
    """What each epoch of fit()'s loop works with, built once (as torchvision's train_one_epoch takes `args`)."""
    config: TrainConfig
    meta: DatasetMeta
    run: Run
    ctxs: list
    group: WorkerGroup
    net: object
    trainer: object
    loss_fn: object
    iters: int             # updates per epoch of this worker
    stop: StopSignals
    progress: Reporter


def _train_epoch(loop, epoch):
    """This worker's shard of the training split, once, as train_one_epoch, each batch reported; a damaged
    record and a diverged loss end the run with one line."""
    config, run, iters = loop.config, loop.run, loop.iters

    def check_stop(done):
        loop.progress.training(epoch, done, iters)
        loop.stop.check(f"during epoch {epoch} (after batch {done} of {iters}); the last complete checkpoint is "
                        f"epoch {epoch - 1} in {run.dir}")
    batches = train_iter(config.data_dir, loop.meta, config.batch_size, seed=epoch_seed(config.seed, epoch),
                         threads=config.data_threads, num_parts=loop.group.size, part_index=loop.group.rank)
    try:
        with reading(config.data_dir, "train"):
            return train_one_epoch(loop.net, loop.trainer, loop.loss_fn, batches, loop.ctxs, epoch, iters,
                                   check_stop, config.dtype, loop.group.grad_scale(config.batch_size),
                                   desc=f"epoch {epoch}/{config.num_epochs}")
    except TrainingDiverged as e:
        raise TrainingDiverged(f"{e}. The last good checkpoint is in {run.dir}; start again with a lower --lr "
                               f"or with --warmup-epochs") from None


def _validate_and_save(loop, epoch, stats, tic, best):
    """The writer's end of an epoch: validation (every eval_every epochs and after the last), the metrics
    row, the checkpoint, the log line, each step reported. Returns the best Score so far."""
    config, meta, net, trainer = loop.config, loop.meta, loop.net, loop.trainer
    top1 = top5 = None
    if epoch % config.eval_every == 0 or epoch == config.num_epochs:
        with reading(config.data_dir, "val"):  # a val split smaller than a batch: one batch of it
            batches = val_iter(config.data_dir, meta, min(config.batch_size, meta.counts["val"]),
                               threads=config.data_threads)
            top1, top5 = validate(net, batches, loop.ctxs, config.dtype,
                                  lambda k: loop.progress.validating(epoch, k))
    row = {"epoch": epoch, "lr": trainer.learning_rate, "train_loss": stats.loss,
           "train_top1_err": stats.top1_err, "val_top1_err": top1, "val_top5_err": top5,
           "epoch_seconds": time.time() - tic, "images_per_second": stats.images / stats.seconds,
           "gpu_memory_mib": stats.gpu_memory_mib,
           "host_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    is_best = top1 is not None and (best is None or top1 < best.val_top1_err)
    best = Score(epoch, top1, top5) if is_best else best
    loop.run.append_metrics(row)
    loop.progress.saving(epoch)
    loop.run.save(net, trainer, RunState(epoch, trainer.optimizer.num_update, config, meta, best), is_best)
    log.info(report.epoch_line(row, config.num_epochs))
    return best


def finish(run, config, progress):
    """The writer's last step: export, summary.json, val_error.png, neon's table, each step reported."""
    progress.finishing(config.num_epochs, "exporting the model")
    net, exported = run.export_mxnet(config.weights)
    progress.finishing(config.num_epochs, "writing summary.json")
    summary = report.summary_of(run.read_metrics(), exported, config.weights, count_parameters(net))
    run.write_summary(summary)
    progress.finishing(config.num_epochs, "plotting val_error.png")
    plot_run(run)
    progress.finishing(config.num_epochs, "done")
    log.info(report.neon_table(summary))
    log.info(report.closing_line(summary, run))
    return summary
