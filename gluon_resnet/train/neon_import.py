"""A neon model file as a run folder: its weights as the checkpoint of neon's epoch, neon's momentum buffers as
the trainer's states on neon's learning-rate schedule, and imported.json saying where it came from. Every
later stage (evaluate, export, quantize, verify, predict, train --resume) reads it like a trained run.
The file and the dataset are checked before MXNet loads: a bad file is said in a fraction of a second.
"""
import os
import shutil
from dataclasses import dataclass

from ..data.dataset import DatasetMeta
from ..data.integrity import open_dataset
from ..errors import Command, UserError
from ..fileio import write_json
from ..model import neon
from ..recipes import KNOWN_DATASETS, RECIPES
from ..runs.config import TrainConfig
from ..runs.folder import Run, RunState

# model.neon's parameter kinds, as the ends of Gluon's parameter names
_SUFFIX = {"conv_weight": "weight", "dense_weight": "weight", "gamma": "gamma", "beta": "beta",
           "running_mean": "running_mean", "running_var": "running_var"}


@dataclass(frozen=True)
class NeonImport:
    model_file: str
    save_dir: str
    data_dir: str = None     # a packed dataset: class names, mean, split sizes (and what --resume trains on)
    dataset: str = None      # without data_dir: "cifar10" or "miniplaces", the recipe's defaults
    channels: str = "bgr"    # neon's ImageLoader gave the network BGR planes; "rgb" for arrays in RGB order
    batch_size: int = None   # neon's files hold none: the recipe's (neon's 128) unless given
    force: bool = False


def default_meta(name, family):
    """The DatasetMeta of a dataset known by name, for a run imported without its packed data."""
    if name not in KNOWN_DATASETS:
        raise UserError(f"--dataset must be one of {', '.join(KNOWN_DATASETS)}, not {name!r}")
    known = KNOWN_DATASETS[name]
    if known["family"] != family:
        raise UserError(f"--dataset {name} is for the {known['family']} network, not the {family} one the file holds")
    return DatasetMeta(name=name, crop_size=RECIPES[family].crop,
                       source={"description": "the recipe's defaults (imported without a packed dataset)"}, **known)


def import_neon(cfg: NeonImport):
    """Write the run folder `cfg.save_dir` from the neon file `cfg.model_file`; returns (Run, NeonModel)."""
    model = neon.read(cfg.model_file, cfg.channels)
    if cfg.data_dir:
        meta = open_dataset(cfg.data_dir)
    else:
        meta = default_meta(cfg.dataset or ("cifar10" if model.family == "cifar" else "miniplaces"), model.family)
    if meta.family != model.family or meta.num_classes != model.classes:
        raise UserError(f"{cfg.model_file} holds a {neon.network_name(model.family, model.n)} of {model.classes} "
                        f"classes, but {cfg.data_dir or meta.name} is a {meta.family} dataset of {meta.num_classes}")
    run = Run(cfg.save_dir)
    done = run.epochs() if os.path.isdir(run.dir) else []
    if done and not cfg.force:
        raise UserError(f"{run.dir} already holds a run (epoch {done[-1]}); pass --force to replace it, or another "
                        f"--save-dir")
    from .steps import iters_per_epoch  # MXNet loads here, once the inputs are known to be good
    config = _config(model, meta, cfg)
    net = _network(model, meta)
    iters = iters_per_epoch(meta.counts["train"], config.batch_size)
    num_update = model.epoch_index * iters
    states = _States(net, config, iters, model.momentum, num_update)
    made = not os.path.isdir(run.dir)
    os.makedirs(run.dir, exist_ok=True)
    try:
        run.clear()
        run.save(net, states, RunState(model.epoch_index, num_update, config, meta), is_best=False)
        _record(run, model, cfg, meta)
    except BaseException:  # a full disk, Ctrl-C: no half-imported run stays behind
        run.clear()
        if made:
            shutil.rmtree(run.dir, ignore_errors=True)
        raise
    return run, model


def _record(run, model, cfg, meta):
    write_json(run.imported, {
        "from": "neon", "file": os.path.abspath(cfg.model_file), "sha256": model.sha256,
        "neon_version": model.neon_version, "epoch_index": model.epoch_index, "dtype": model.dtype,
        "network": neon.network_name(model.family, model.n), "n": model.n, "classes": model.classes,
        "channels": cfg.channels, "momentum": model.momentum is not None, "optimizer": model.optimizer,
        "dataset": cfg.data_dir or f"{meta.name} (the recipe's defaults)"})


def _config(model, meta, cfg):
    """The run's TrainConfig: the dataset's recipe, with neon's optimizer and schedule where the file has them,
    and the batch size asked for (neon's files hold none)."""
    opt = dict(model.optimizer)
    every = opt.pop("lr_step_every", None)
    num_epochs = max(meta.recipe.num_epochs, model.epoch_index)
    if every:  # neon's Schedule(step_config=N): a drop every N epochs
        opt["lr_step_epochs"] = tuple(float(e) for e in range(every, num_epochs, every))
    given = {"batch_size": cfg.batch_size} if cfg.batch_size else {}
    return TrainConfig.for_recipe(meta.recipe, cfg.data_dir or "", cfg.save_dir, n=model.n, shortcut="A",
                                  num_epochs=num_epochs, **opt, **given)


def _network(model, meta):
    """The port's network holding the file's parameters (float32)."""
    from ..compat import mx
    from ..model.resnet import ModelSpec
    net = ModelSpec(meta.family, model.n, "A", model.classes).build(ctx=mx.cpu())
    params = list(net.collect_params().values())
    if len(params) != len(model.params):
        raise RuntimeError(f"{len(model.params)} parameters read for {len(params)} in the network")
    for p, (kind, array) in zip(params, model.params):
        if not p.name.endswith(_SUFFIX[kind]) or p.shape != array.shape:
            raise RuntimeError(f"{kind} {array.shape} read for {p.name} {p.shape}")
        p.set_data(mx.nd.array(array, dtype="float32"))
    return net


class _States:
    """The trainer's states of the imported epoch (Run.save calls save_states): the optimizer fit() makes for
    the config, at update `num_update` of its schedule, holding neon's velocities (zeros where the file has
    none: neon's own start)."""

    def __init__(self, net, config, iters, momentum, num_update):
        from ..compat import mx
        from .steps import make_trainer
        optimizer = make_trainer(net, config, iters).optimizer
        optimizer.begin_num_update = optimizer.num_update = num_update
        self.updater = mx.optimizer.get_updater(optimizer)
        index = {p.name: i for i, p in optimizer.param_dict.items()}  # the trainer's numbering of the parameters
        trained = [(index[p.name], p) for p in net.collect_params().values() if p.grad_req != "null"]
        velocities = momentum or [None] * len(trained)
        if len(velocities) != len(trained):
            raise RuntimeError(f"{len(velocities)} momentum buffers read for {len(trained)} trained parameters")
        for (i, p), v in zip(trained, velocities):
            state = optimizer.create_state_multi_precision(i, p.data())
            if v is not None:
                state[:] = mx.nd.array(v, dtype=state.dtype)
            self.updater.states[i] = state
            self.updater.states_synced[i] = False

    def save_states(self, path):  # the bytes gluon.Trainer.save_states writes without a kvstore
        with open(path, "wb") as f:
            f.write(self.updater.get_states(dump_optimizer=True))


def next_steps(run, cfg):
    """What to run with the imported run, as message parts."""
    parts = ["Evaluate with `", Command("tools/evaluate.py", "--save-dir", run.dir,
                                        *(() if cfg.data_dir else ("--data-dir", "DATA"))), "`"]
    if cfg.data_dir:
        parts += ["; continue training with `", Command("tools/train.py", "--save-dir", run.dir, "--resume"), "`"]
    return parts
