"""A training run's start and next step, before MXNet loads: the TrainConfig of a new or a resumed run, the
checks made before anything trains (a run not overwritten, a resumed one unchanged and on its own dataset),
and the command to run after a stop. A command's mistakes are said here in one line, in a fraction of the
second that importing MXNet takes."""
import os
from dataclasses import fields

from ..data.dataset import read_meta
from ..data.integrity import open_dataset
from ..errors import UserError
from ..recipes import TRAINING
from ..runs.config import TrainConfig
from ..runs.folder import Run


def default_save_dir(meta, n):
    """runs/<dataset>-resnet<depth>: where a run goes unless told otherwise."""
    from ..model.resnet import ModelSpec  # the depth is the network's: MXNet loads only when it is asked
    return f"runs/{meta.name}-resnet{ModelSpec(meta.family, n).depth}"


def new_config(data_dir=None, save_dir=None, **given):
    """A new run's TrainConfig: the options `given` ({field: value}) over the defaults of the dataset in
    `data_dir` (its recipe, then recipes.TRAINING); `save_dir` unset: default_save_dir."""
    data_dir = data_dir or TRAINING["data_dir"]
    meta = read_meta(data_dir)
    save_dir = save_dir or default_save_dir(meta, given.get("n", TRAINING["n"]))
    return TrainConfig.for_recipe(meta.recipe, data_dir, save_dir, **given)


def resumed_config(save_dir, **given):
    """The config of the run in `save_dir` (its newest intact checkpoint's) with the options `given` again
    applied: refused in one line where they would change the training (TrainConfig.resumed_with)."""
    run = Run(save_dir)
    state = _newest_state(run)
    return state.config.resumed_with(given, state.epoch, finished=os.path.exists(run.summary))


def _newest_state(run):
    state = run.last_checkpoint()  # the newest intact checkpoint; damaged newer ones are named and skipped
    if state is None:
        raise UserError(f"--resume: {run.dir} holds no complete checkpoint; leave out --resume to start a run")
    return state


def prepare_run(config, resume, force):
    """(config, dataset, Run, checkpoint to resume or None) of the run `config` asks for, checked: a new
    run does not overwrite another unless `force`; a resumed one changes nothing that it was trained with."""
    run = Run(config.save_dir)
    if not resume:
        done = run.epochs() if os.path.isdir(run.dir) else []
        if done and not force:
            raise UserError(f"{run.dir} already holds a run (epoch {done[-1]} done): pass --resume to "
                            f"continue it, --force to start over, or --save-dir for a new run")
        return config, open_dataset(config.data_dir), run, None
    state = _newest_state(run)
    changed = {f.name: getattr(config, f.name) for f in fields(TrainConfig)
               if f.name not in ("save_dir", "workers") and getattr(config, f.name) != getattr(state.config, f.name)}
    config = state.config.resumed_with(changed, state.epoch, finished=os.path.exists(run.summary))
    meta = open_dataset(config.data_dir)
    _check_same_dataset(state.dataset, meta, run.dir, config.data_dir)
    return config, meta, run, state


def _check_same_dataset(saved, meta, save_dir, data_dir):
    for key in ("name", "classes", "counts", "mean_rgb", "crop_size"):
        if getattr(saved, key) != getattr(meta, key):
            raise UserError(f"--resume: {save_dir} was trained on a different dataset than {data_dir} "
                            f"({key} differs); point --data-dir at the original, or start a new run")
    if saved.source.get("sha256") != meta.source.get("sha256"):
        raise UserError(f"--resume: {data_dir} was packed from another source than the one {save_dir} was "
                        f"trained on (source checksum differs); start a new run in another --save-dir")


def next_step(run, config, launch=""):
    """What to run after a stop, as message parts: the resume command (`launch`: see
    TrainConfig.resume_command), or, before any epoch is saved, the same command."""
    if run.epochs():
        return ("Resume with: ", config.resume_command(launch))
    return ("No epoch was complete: run the same command again",)
