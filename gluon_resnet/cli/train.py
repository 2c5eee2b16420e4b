"""Train a neon model-zoo ResNet on a packed dataset with neon's recipe.

    python tools/train.py --gpus 0,1 --n 9        # CIFAR-10 ResNet-56 on two GPUs
    python tools/train.py --cpus 2 --n 3          # ResNet-20, data-parallel over two CPU contexts

Unset options come from the dataset's recipe (dataset.json names it), or from the run being resumed.
"""
from . import main_guard

# TrainConfig fields that no option sets: the number of workers is the launcher's (-n).
NOT_OPTIONS = ("workers",)
# Set by tools/launch.py on its workers: its own command, which a worker prints before its resume command.
LAUNCH_ENV = "GLUON_RESNET_LAUNCH"


def parse_args(argv=None):
    from .options import train_parser
    return train_parser(__doc__).parse_args(argv)


def given(args):
    """{TrainConfig field: value} of the options given on the command line (unset ones are None)."""
    from dataclasses import fields

    from ..runs.config import TrainConfig
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig)
            if f.name not in ("save_dir", *NOT_OPTIONS) and getattr(args, f.name) is not None}


def save_dir_of(args):
    """--save-dir, or the default for the dataset and depth the options name."""
    if args.save_dir is not None:
        return args.save_dir
    from ..data.dataset import read_meta
    from ..recipes import TRAINING
    from ..train.start import default_save_dir
    return default_save_dir(read_meta(args.data_dir or TRAINING["data_dir"]), args.n or TRAINING["n"])


def config_of(args):
    """The TrainConfig the options ask for: at --resume the run's own with the options given again,
    otherwise a new one from them and the dataset's defaults."""
    from ..train.start import new_config, resumed_config
    if args.resume:
        return resumed_config(save_dir_of(args), **given(args))
    return new_config(save_dir=args.save_dir, **given(args))


@main_guard
def main(argv=None):
    args = parse_args(argv)
    import os
    config = config_of(args)  # the dataset's and the resumed run's mistakes, said before MXNet loads

    from ..train.training import fit
    return fit(config, resume=args.resume, force=args.force, launch=os.environ.get(LAUNCH_ENV, ""))
