"""A packed dataset folder: train/val `.rec` + `.idx` + `.lst`, and `dataset.json` describing them.

`DatasetMeta` is dataset.json as a typed record; every module reads its fields, not string keys.
"""
import json
import os
from dataclasses import asdict, dataclass, field, fields

from ..errors import Command, UserError
from ..recipes import RECIPES

SPLITS = ("train", "val")
META_FILE = "dataset.json"
OUTPUTS = [f"{s}.{ext}" for s in SPLITS for ext in ("rec", "idx", "lst")] + [META_FILE]  # META_FILE last
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DatasetMeta:
    name: str                  # cifar10, miniplaces, digits or folder
    family: str                # the recipe: "cifar" or "miniplaces"
    classes: list
    counts: dict               # {"train": N, "val": M}
    crop_size: int             # training / single-scale input size
    mean_rgb: list             # per-channel mean of the training images, 0-255, before padding
    image_size: list = None    # stored H, W when every image has one size
    pad: int = 0               # pixels of padding stored around each image
    pad_mode: str = None
    encoding: str = "png"      # "png" or "original bytes"
    source: dict = field(default_factory=dict)   # description, sha256
    shuffle_seed: int = 0
    format_version: int = FORMAT_VERSION
    files: dict = None         # {"train.rec": {"bytes", "sha256"}, ...}: what the packer wrote

    @property
    def num_classes(self):
        return len(self.classes)

    @property
    def recipe(self):
        return RECIPES[self.family]

    def to_dict(self):
        return {**asdict(self), "num_classes": self.num_classes}

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def split_path(data_dir, split, ext="rec"):
    return os.path.join(data_dir, f"{split}.{ext}")


def write_meta(folder, meta):
    with open(os.path.join(folder, META_FILE), "w") as f:
        json.dump(meta.to_dict(), f, indent=2)
        f.write("\n")


def read_meta(data_dir):
    """dataset.json of a packed folder, with an actionable error when it is missing or unreadable. The
    record files are not read: integrity.open_dataset checks them too."""
    if not data_dir:
        raise UserError("no packed dataset is known for this run (it was imported without one): pass --data-dir")
    path = os.path.join(data_dir, META_FILE)
    if os.path.isfile(data_dir):
        raise UserError(f"{data_dir} is a file; --data-dir takes the folder tools/im2rec_pack.py wrote")
    if not os.path.isfile(path):
        raise UserError(f"{data_dir} is not a packed dataset (no {META_FILE}): run `",
                        Command("tools/im2rec_pack.py", "--dataset", "...", "--out", data_dir), "` first")
    try:
        with open(path) as f:
            raw = json.load(f)
    except ValueError as e:
        raise UserError(f"{path} is not valid JSON ({e}); pack the dataset again with --force") from None
    except OSError as e:
        raise UserError(f"{path} cannot be read ({e.strerror})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} is not a dataset description; pack the dataset again with --force")
    missing = [k for k in ("name", "family", "classes", "mean_rgb", "crop_size", "counts") if k not in raw]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}; pack the dataset again with --force")
    for split in SPLITS:
        if not os.path.isfile(split_path(data_dir, split)):
            raise UserError(f"{split_path(data_dir, split)} is missing; pack the dataset again with --force")
    if raw.get("format_version", 1) > FORMAT_VERSION:
        raise UserError(f"{path} was written by a newer gluon-resnet (format {raw['format_version']}); update "
                        f"this one, or pack the dataset again with it")
    return DatasetMeta.from_dict(raw)
