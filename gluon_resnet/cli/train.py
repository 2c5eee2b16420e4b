"""Train a neon model-zoo ResNet on a packed dataset with neon's recipe.

    python tools/train.py --gpus 0,1 --n 9        # CIFAR-10 ResNet-56 on two GPUs
    python tools/train.py --cpus 2 --n 3          # ResNet-20, data-parallel over two CPU contexts

Unset options come from the dataset's recipe (dataset.json names it), or from the run being resumed.
"""
from . import main_guard


def parse_args(argv=None):
    from .options import train_parser
    return train_parser(__doc__).parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..train.training import fit
    return fit(args)
