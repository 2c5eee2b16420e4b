"""Readers for raw datasets in the formats their publishers ship.

Each reader returns a `Source`: class names, and per split a list of `Item`s whose payload is either
an RGB uint8 array (decoded already) or the path of an image file (read and checked by the packer).
"""
import hashlib
import io
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..fileio import digest

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MINIPLACES_URL = "https://github.com/CSAILVision/miniplaces"
DIGITS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


@dataclass
class Item:
    name: str        # relative path, for .lst files and error messages
    label: int
    payload: object  # np.ndarray (H, W, 3) RGB uint8, a file path, or an encoded image's bytes


@dataclass
class Source:
    classes: list
    splits: dict                  # "train" / "val" -> [Item]
    description: str              # what was read, for dataset.json
    sha256: str
    ignored: tuple = ()           # entries skipped as not data (hidden files, README.txt, ...)
    split_note: str = None        # how val was drawn, when the source had no val split of its own


def sha256_of(path):
    return digest(path)["sha256"]


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _sha256_of_files(paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode() + b"\0" + sha256_of(p).encode())
    return h.hexdigest()


def _read_tar(path, keep, url):
    """{member name: bytes} of the members `keep(name)` accepts, in one pass over a (gzipped) tar."""
    try:
        with tarfile.open(path, "r:*") as tar:
            return {m.name: tar.extractfile(m).read() for m in tar if m.isfile() and keep(m.name)}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise UserError(f"{path} is corrupt or truncated ({type(e).__name__}: {e}); download it again "
                        f"from {url}") from None


# ---------------------------------------------------------------- CIFAR-10 (python and binary)

_CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def _cifar_members(src):
    """Map member basename -> bytes for a CIFAR-10 tarball or extracted folder."""
    if os.path.isdir(src):
        found = {}
        for root, _, files in os.walk(src):
            for f in files:
                found.setdefault(f, os.path.join(root, f))
        return {k: (lambda p=p: _read_bytes(p)) for k, p in found.items()}, sorted(found.values())
    members = _read_tar(src, lambda name: True, CIFAR10_URL)
    return {os.path.basename(k): (lambda v=v: v) for k, v in members.items()}, [src]


def _rows_to_images(rows, where):
    rows = np.asarray(rows)
    if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != 3072:
        raise UserError(f"{where}: expected uint8 rows of 3072 values (32x32 RGB), got {rows.dtype} "
                        f"{rows.shape}; is this the CIFAR-10 python version?")
    # Each row holds the R plane, then G, then B, each 32x32 row-major.
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _check_labels(labels, n_images, num_classes, where):
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (n_images,):
        raise UserError(f"{where}: {labels.size} labels for {n_images} images")
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise UserError(f"{where}: record {bad[0]} has label {labels[bad[0]]}, outside 0-{num_classes - 1}")
    return labels


def read_cifar10(src):
    """The official `cifar-10-python.tar.gz` / `cifar-10-binary.tar.gz`, or either extracted."""
    if not os.path.exists(src):
        raise UserError(f"CIFAR-10 not found at {src}: download {CIFAR10_URL} into {os.path.dirname(src) or '.'}"
                        f"/ (or pass --src), or use --dataset digits, which needs no download")
    members, hashed = _cifar_members(src)
    if "batches.meta" in members:
        return _read_cifar_python(src, members, hashed)
    if "batches.meta.txt" in members:
        return _read_cifar_binary(src, members, hashed)
    raise UserError(f"{src} holds neither batches.meta (python version) nor batches.meta.txt (binary "
                    f"version); expected the CIFAR-10 archive from {CIFAR10_URL}")


def _unpickle(members, name, src):
    if name not in members:
        raise UserError(f"{src} lacks {name}; the archive is incomplete, download it again from {CIFAR10_URL}")
    try:
        # latin1 reads the numpy arrays inside the Python 2 pickles the dataset ships.
        obj = pickle.load(io.BytesIO(members[name]()), encoding="latin1")
    except Exception as e:  # truncated or garbled pickle: many exception types are possible
        raise UserError(f"{src}: {name} is not a readable pickle ({type(e).__name__}: {e}); "
                        f"download the archive again") from None
    if not isinstance(obj, dict):
        raise UserError(f"{src}: {name} holds a {type(obj).__name__}, expected a dict")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_splits(classes, read_batch):
    """train (data_batch_1-5) and val (test_batch) items; `read_batch(name)` gives (rows, labels, where)."""
    splits = {}
    for split, names in (("train", _CIFAR_TRAIN), ("val", ["test_batch"])):
        items = []
        for name in names:
            rows, labels, where = read_batch(name)
            images = _rows_to_images(rows, where)
            labels = _check_labels(labels, len(images), len(classes), where)
            items += [Item(f"{name}/{i:05d}.png", int(y), img) for i, (img, y) in enumerate(zip(images, labels))]
        splits[split] = items
    return splits


def _read_cifar_python(src, members, hashed):
    names = _unpickle(members, "batches.meta", src)["label_names"]
    classes = [c.decode() if isinstance(c, bytes) else c for c in names]

    def read_batch(name):
        batch = _unpickle(members, name, src)
        if "data" not in batch or "labels" not in batch:
            raise UserError(f"{src}: {name} lacks 'data' or 'labels'; is this CIFAR-10 (not CIFAR-100)?")
        return batch["data"], batch["labels"], f"{src}: {name}"
    return Source(classes, _cifar_splits(classes, read_batch), "CIFAR-10 (python version)", _sha256_of_files(hashed))


def _read_cifar_binary(src, members, hashed):
    classes = [c for c in members["batches.meta.txt"]().decode().split() if c]

    def read_batch(name):
        if name + ".bin" not in members:
            raise UserError(f"{src} lacks {name}.bin; download the archive again")
        raw = np.frombuffer(members[name + ".bin"](), np.uint8)
        if raw.size % 3073:
            raise UserError(f"{src}: {name}.bin is truncated ({raw.size} bytes, not a multiple of 3073)")
        raw = raw.reshape(-1, 3073)  # <1 label byte><3072 pixel bytes>
        return raw[:, 1:], raw[:, 0], f"{src}: {name}.bin"
    return Source(classes, _cifar_splits(classes, read_batch), "CIFAR-10 (binary version)", _sha256_of_files(hashed))


# ---------------------------------------------------------------- Mini-Places2

DEVKIT_FILES = ("categories.txt", "train.txt", "val.txt")


def _find_devkit(src):
    for d in (os.path.join(src, "data"), os.path.join(src, "development_kit", "data"), src):
        if os.path.isfile(os.path.join(d, "categories.txt")):
            return d
    raise UserError(f"no categories.txt under {src}/data, {src}/development_kit/data or {src}: extract "
                    f"development_kit.tar.gz there (see {MINIPLACES_URL})")


def _parse_categories(text, where):
    classes = []
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) != len(classes):
            raise UserError(f"{where} line {lineno}: expected '/x/name {len(classes)}', got {line.strip()!r}")
        classes.append(parts[0].split("/", 2)[-1])  # "/a/abbey" -> "abbey"
    return classes


def _parse_list(text, where, num_classes, exists, image_root):
    """Items of a development-kit list (`<path> <label>` lines), each checked against `exists`."""
    items = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise UserError(f"{where} line {lineno}: expected '<image path> <label>', got {line.strip()!r}")
        rel, label = parts[0], int(parts[1])
        if not 0 <= label < num_classes:
            raise UserError(f"{where} line {lineno}: label {label} outside 0-{num_classes - 1}")
        if not exists(rel):
            raise UserError(f"{where} line {lineno}: {os.path.join(image_root, rel)} does not exist; is images/ "
                            f"extracted from data.tar.gz next to the development kit?")
        items.append(Item(rel, label, os.path.join(image_root, rel)))
    return items


def read_miniplaces(src):
    """The Mini-Places2 root as MIT distributes it: images/{train,val}/ plus the development kit lists,
    either extracted or still as data.tar.gz + development_kit.tar.gz."""
    if not os.path.isdir(src):
        raise UserError(f"Mini-Places2 not found at {src}: get data.tar.gz and development_kit.tar.gz from "
                        f"{MINIPLACES_URL} and put them (or what they extract to) in {src}, or pass --src")
    image_root = os.path.join(src, "images")
    tars = [os.path.join(src, f) for f in ("data.tar.gz", "development_kit.tar.gz")]
    if not os.path.isdir(image_root) and all(map(os.path.isfile, tars)):
        return _read_miniplaces_tarballs(src, *tars)
    devkit = _find_devkit(src)
    if not os.path.isdir(image_root):
        raise UserError(f"{image_root} does not exist: extract data.tar.gz into {src}")
    paths = [os.path.join(devkit, f) for f in DEVKIT_FILES]
    for path in paths[1:]:
        if not os.path.isfile(path):
            raise UserError(f"{path} does not exist: the development kit is incomplete")
    texts = [_read_bytes(p).decode() for p in paths]
    classes = _parse_categories(texts[0], paths[0])
    exists = lambda rel: os.path.isfile(os.path.join(image_root, rel))  # noqa: E731
    splits = {split: _parse_list(text, path, len(classes), exists, image_root)
              for split, text, path in zip(("train", "val"), texts[1:], paths[1:])}
    return Source(classes, splits, "Mini-Places2", _sha256_of_files(paths))


def _read_miniplaces_tarballs(src, data_tar, devkit_tar):
    """Straight from the archives: the lists from the development kit, then one pass over data.tar.gz
    keeping the listed train/val JPEG bytes in memory (about 0.5 GB for the full set)."""
    found = _read_tar(devkit_tar, lambda n: os.path.basename(n) in DEVKIT_FILES and "/data/" in f"/{n}",
                      MINIPLACES_URL)
    texts = {}
    for name, data in found.items():
        texts.setdefault(os.path.basename(name), (name, data.decode()))
    missing = [f for f in DEVKIT_FILES if f not in texts]
    if missing:
        raise UserError(f"{devkit_tar} lacks data/{missing[0]}; download it again from {MINIPLACES_URL}")
    where = {f: f"{devkit_tar}:{texts[f][0]}" for f in DEVKIT_FILES}
    classes = _parse_categories(texts["categories.txt"][1], where["categories.txt"])
    listed = {line.split()[0] for f in ("train.txt", "val.txt") for line in texts[f][1].splitlines() if line.strip()}
    images = {name[len("images/"):]: data for name, data in
              _read_tar(data_tar, lambda n: n.startswith("images/") and n[len("images/"):] in listed,
                        MINIPLACES_URL).items()}
    root = f"{data_tar}:images"
    splits = {}
    for split in ("train", "val"):
        items = _parse_list(texts[f"{split}.txt"][1], where[f"{split}.txt"], len(classes), images.__contains__, root)
        splits[split] = [Item(it.name, it.label, images[it.name]) for it in items]
    return Source(classes, splits, "Mini-Places2 (archives)", _sha256_of_files([data_tar, devkit_tar]))


# ---------------------------------------------------------------- a folder of class folders

def _entries(path):
    """(visible folders, other entries) of a folder; hidden entries (.DS_Store, ._x, .git) are others."""
    names = sorted(os.listdir(path))
    dirs = [n for n in names if not n.startswith(".") and os.path.isdir(os.path.join(path, n))]
    return dirs, [os.path.join(path, n) for n in names if n not in dirs]


def _images(folder, name_prefix, label, ignored):
    """Items of the image files in one class folder; anything else goes to `ignored`."""
    items = []
    for f in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, f)
        if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".") and os.path.isfile(path):
            items.append(Item(f"{name_prefix}/{f}", label, path))
        else:
            ignored.append(path)
    return items


def read_folder(src, val_fraction=0.2, seed=0):
    """Images in class folders: `src/train/<class>/*` and `src/val/<class>/*`, or a plain
    `src/<class>/*`, whose images are split per class, `val_fraction` of each to val, drawn with
    `seed` (the same split every time). Classes are the sorted (train) folder names. Files beside the
    class folders (README.txt, Thumbs.db), hidden entries (.DS_Store, dot-folders) and files that are
    not images are left out and counted in `ignored`."""
    if not os.path.isdir(src):
        raise UserError(f"--src {src} is not a folder of class folders")
    has_train, has_val = (os.path.isdir(os.path.join(src, s)) for s in ("train", "val"))
    if has_train != has_val:
        raise UserError(f"{src} holds {'train' if has_train else 'val'}/ without "
                        f"{'val' if has_train else 'train'}/: give both, or put the class folders in {src} itself")
    train_dir = os.path.join(src, "train") if has_train else src
    classes, ignored = _entries(train_dir)
    if not classes:
        raise UserError(f"{train_dir} has no class folders (one folder of images per class)")
    splits = {}
    if has_train:
        for split in ("train", "val"):
            folders, others = _entries(os.path.join(src, split))
            ignored += others if split == "val" else []
            extra = sorted(set(folders) - set(classes))
            if extra:
                raise UserError(f"{src}/{split} has class folders not in train/: {', '.join(extra[:5])}")
            splits[split] = [it for label, cls in enumerate(classes)
                             for it in _images(os.path.join(src, split, cls), f"{split}/{cls}", label, ignored)]
        split_note = None
    else:
        rng = np.random.RandomState(seed)
        splits = {"train": [], "val": []}
        for label, cls in enumerate(classes):
            items = _images(os.path.join(src, cls), cls, label, ignored)
            order = rng.permutation(len(items))
            n_val = int(round(val_fraction * len(items))) if len(items) > 1 else 0
            splits["val"] += sorted((items[i] for i in order[:n_val]), key=lambda it: it.name)
            splits["train"] += sorted((items[i] for i in order[n_val:]), key=lambda it: it.name)
        split_note = (f"split {100 * val_fraction:g} % of each class folder into val (seed {seed}; the same "
                      f"split every time)")
    for split, items in splits.items():
        if not items:
            where = os.path.join(src, split) if has_train else src
            raise UserError(f"{where} gives no {split} images ({', '.join(IMAGE_EXTENSIONS)})"
                            + ("" if has_train else "; a class folder needs 2 images or more to give val any"))
    listing = [f"{it.name}:{sha256_of(it.payload)}" for split in ("train", "val") for it in splits[split]]
    if split_note:
        listing.append(split_note)
    checksum = hashlib.sha256("\n".join(listing).encode()).hexdigest()
    return Source(classes, splits, f"folder {os.path.basename(os.path.abspath(src))}", checksum, tuple(ignored),
                  split_note)


# ---------------------------------------------------------------- the embedded digits

def read_digits(src=None, size=32):
    """The 1,797 real 8x8 handwritten digits of UCI's optdigits (embedded in the package, see
    digits/README.md), scaled to `size` x `size` RGB, with the fixed stratified split of digits/val.txt."""
    import gzip

    import cv2

    with gzip.open(os.path.join(DIGITS_DIR, "optdigits.csv.gz")) as f:
        table = np.loadtxt(f, delimiter=",")
    images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    with open(os.path.join(DIGITS_DIR, "val.txt")) as f:
        val = {int(line) for line in f}
    gray = np.round(images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 ink levels -> 0..255
    up = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR) for g in gray])
    rgb = np.repeat(up[..., None], 3, axis=-1)
    splits = {s: [Item(f"digits/{i:04d}.png", int(target[i]), rgb[i]) for i in range(len(rgb)) if (i in val) == is_val]
              for s, is_val in (("train", False), ("val", True))}
    checksum = hashlib.sha256(images.tobytes() + target.tobytes()).hexdigest()
    return Source([str(c) for c in range(10)], splits, "UCI optdigits (embedded)", checksum)


READERS = {"cifar10": read_cifar10, "miniplaces": read_miniplaces, "folder": read_folder, "digits": read_digits}
DEFAULT_SRC = {"cifar10": "data/raw/cifar-10-python.tar.gz", "miniplaces": "data/raw/miniplaces"}
