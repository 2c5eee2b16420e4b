"""Every default, in one place: the numbers of neon's two recipes (neon's `examples/cifar10_msra.py` and
the model zoo's Mini-Places2 DeepResNet: README tables, training and evaluation scripts; He et al. 2015),
how each dataset is packed, and the training options that no recipe sets.

A packed dataset names its family in dataset.json; packing, training, evaluation and the command lines'
help texts read their defaults here.
"""
import os
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


@dataclass(frozen=True)
class Packing:
    pad: int = 4              # CIFAR: 32x32 stored as 40x40 for the random 32x32 crops
    size: int = None          # resize to size x size before padding (None: keep)
    keep_bytes: bool = False  # store the original encoded bytes instead of PNG
    # zlib level of the PNGs: 0 stores the pixels uncompressed (with PNG's checksums), which
    # ImageRecordIter decodes 2-2.4x faster than OpenCV's default level; 9 is smallest.
    png_compression: int = 0


# How each dataset is packed unless told otherwise.
PACKING = {
    "cifar10": Packing(),
    "digits": Packing(),
    "folder": Packing(size=32),
    # 128x128 JPEGs stored as they come: no padding, no re-encoding.
    "miniplaces": Packing(pad=0, keep_bytes=True),
}

# The training options that do not come from the dataset's recipe.
TRAINING = dict(data_dir="data/cifar10", data_threads=min(4, os.cpu_count() or 1), n=9, shortcut="A", gpus="",
                cpus=1, kv_store="device", dtype="float32", seed=0, warmup_epochs=0.0, eval_every=1, weights="final",
                hybridize=True)
WARMUP_LR = 0.1  # an unset --warmup-lr is lr times this

# After SIGTERM (Ctrl-C, a failed role, Slurm's scancel) a role of a dist job has this many seconds to end
# before it is killed: by the launcher's SIGKILL, or by a worker's own alarm when it is blocked in the
# kvstore. launch.py --stop-grace sets it for one job; every role gets it in STOP_GRACE_ENV.
STOP_GRACE = 10
STOP_GRACE_ENV = "GLUON_RESNET_STOP_GRACE"

# A dist job whose workers all make no progress (a batch, a validation batch, a checkpoint) for STALL_TIMEOUT
# seconds is ended, naming the worker that stopped first; a warning comes after STALL_WARN. The slowest step
# between two reports measured (docs/distributed.md) is well below both. launch.py --stall-warn /
# --stall-timeout set them for one job (0: off). Each worker reports to the launcher's address in PROGRESS_ENV
# under its role's name in ROLE_ENV.
STALL_WARN, STALL_TIMEOUT = 25, 50
PROGRESS_ENV, ROLE_ENV = "GLUON_RESNET_PROGRESS", "GLUON_RESNET_ROLE"


# What a dataset is when no packed copy of it is at hand (a model imported from neon without --data-dir):
# CIFAR-10's class names (its batches.meta), split sizes and RGB means (RECIPE.md); Mini-Places2's 100 classes
# by number (its categories.txt names them) and the means neon's batch writer gave it (ImageNet's, in RGB order).
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
KNOWN_DATASETS = {
    "cifar10": dict(family="cifar", classes=CIFAR10_CLASSES, counts={"train": 50000, "val": 10000},
                    mean_rgb=[125.3, 123.0, 113.9], image_size=[40, 40], pad=4, pad_mode="mean"),
    "miniplaces": dict(family="miniplaces", classes=[str(i) for i in range(100)], counts={"train": 100000, "val": 10000},
                       mean_rgb=[126.80609131, 119.21331787, 104.41227722], image_size=[128, 128], pad=0),
}


def training_defaults(recipe):
    """{TrainConfig field: default} for a dataset of `recipe`'s family (warmup_lr follows lr)."""
    return {**TRAINING, "lr": recipe.lr, "wd": recipe.wd, "mom": recipe.momentum, "lr_factor": recipe.lr_factor,
            "lr_step_epochs": recipe.lr_step_epochs, "batch_size": recipe.batch_size,
            "num_epochs": recipe.num_epochs}
