"""Every number of neon's two recipes, in one place: neon's `examples/cifar10_msra.py` and the model
zoo's Mini-Places2 DeepResNet (README tables, training and evaluation scripts), He et al. 2015.

A packed dataset names its family in dataset.json; training and evaluation read their defaults here.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    family: str             # "cifar" (CifarResNet) or "miniplaces" (MiniPlacesResNet)
    crop: int               # training / single-scale input size
    lr: float
    wd: float
    num_epochs: int
    lr_step_epochs: tuple
    eval_scales: tuple      # multiscale evaluation: whole image resized to each
    min_random_scale: float = 1.0   # scale jitter before the random crop
    max_random_scale: float = 1.0
    momentum: float = 0.9
    batch_size: int = 128
    lr_factor: float = 0.1


RECIPES = {
    # Random 32x32 crops of the 40x40 padded image + flips; validation is the centre crop.
    # Multiscale: the original 32x32 image at 1, 1.25 and 1.5 times its size.
    "cifar": Recipe("cifar", 32, 0.1, 1e-4, 180, (90, 135), (32, 40, 48)),
    # Scale jitter s in [128, 240] (factor 1.0-1.875), random 112x112 crop + flip;
    # validation: the whole 128x128 image resized to 112.
    "miniplaces": Recipe("miniplaces", 112, 0.1, 5e-4, 80, (40, 70), (112, 128, 160, 240),
                         min_random_scale=1.0, max_random_scale=240 / 128),
}


def family_of(dataset):
    """Mini-Places2 has its own family; every other packed dataset uses the CIFAR recipe."""
    return "miniplaces" if dataset == "miniplaces" else "cifar"
