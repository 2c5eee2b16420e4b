"""Pack a `Source` into MXNet RecordIO: train/val `.rec` + `.idx` + `.lst` and `dataset.json`.

Output is written to a hidden folder inside `out` and renamed into place at the end (dataset.json
last), so an interrupted or failed pack never leaves a dataset that looks complete.
"""
import json
import multiprocessing
import os
import shutil
import tempfile
import time

import numpy as np

from .errors import UserError
from .recipes import RECIPES, family_of

PAD_MODES = {"mean": "mean", "zero": "constant", "edge": "edge", "reflect": "reflect"}
SPLITS = ("train", "val")
OUTPUTS = [f"{s}.{ext}" for s in SPLITS for ext in ("rec", "idx", "lst")] + ["dataset.json"]
FORMAT_VERSION = 1


def pad_image(img, pad, mode):
    """Pad H and W by `pad` pixels. neon used np.pad mode='mean' (per-row / per-column means)."""
    if pad == 0:
        return img
    return np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode=PAD_MODES[mode])


def resize_square(img, size):
    """Shorter side to `size`, then the centre `size` x `size` square."""
    import cv2
    h, w = img.shape[:2]
    s = size / min(h, w)
    img = cv2.resize(img, (max(size, round(w * s)), max(size, round(h * s))), interpolation=cv2.INTER_AREA)
    y, x = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    return img[y:y + size, x:x + size]


class _Encoder:
    """Turns one Item into (record bytes, per-channel pixel sums and pixel count before padding,
    stored shape). Runs in worker processes."""

    def __init__(self, pad, pad_mode, size, keep_bytes):
        self.pad, self.pad_mode, self.size, self.keep_bytes = pad, pad_mode, size, keep_bytes

    def __call__(self, item):
        import cv2
        cv2.setNumThreads(1)
        rgb = raw = None
        if isinstance(item.payload, str):
            with open(item.payload, "rb") as f:
                raw = f.read()
        elif isinstance(item.payload, bytes):
            raw = item.payload
        else:
            rgb = item.payload
        if raw is not None:
            bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:
                where = item.payload if isinstance(item.payload, str) else item.name
                raise UserError(f"{where} does not decode as an image; remove it or replace it")
            rgb = bgr[:, :, ::-1]
        if self.size:
            rgb = resize_square(rgb, self.size)
        stats = rgb.reshape(-1, 3).sum(axis=0, dtype=np.float64), rgb.shape[0] * rgb.shape[1]
        if raw is not None and self.keep_bytes:
            return raw, stats, rgb.shape[:2]
        padded = pad_image(rgb, self.pad, self.pad_mode)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(padded[:, :, ::-1]))  # lossless, stored BGR
        return png.tobytes(), stats, padded.shape[:2]


def check_out(out, force):
    if os.path.exists(os.path.join(out, "dataset.json")) and not force:
        raise UserError(f"{out} already holds a packed dataset (dataset.json); pass --force to overwrite it")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"--out {out} is a file, not a folder")


def pack(source, name, out, pad=4, pad_mode="mean", size=None, keep_bytes=False, workers=1,
         seed=0, force=False, progress=True):
    """Pack `source` into `out`; returns the dataset.json dict."""
    from mxnet import recordio
    from tqdm import tqdm

    if pad_mode not in PAD_MODES:
        raise UserError(f"--pad-mode must be one of {', '.join(PAD_MODES)}, not {pad_mode!r}")
    if pad < 0:
        raise UserError(f"--pad must be >= 0, not {pad}")
    check_out(out, force)
    created = not os.path.exists(out)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".packing-", dir=out)
    encoder = _Encoder(pad, pad_mode, size, keep_bytes and pad == 0 and not size)
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
    start, counts, shapes, sums, pixels = time.time(), {}, set(), np.zeros(3), 0
    try:
        for split in SPLITS:
            items = source.splits[split]
            if split == "train":  # shuffled once, so contiguous shards (num_parts) mix the classes
                items = [items[i] for i in np.random.RandomState(seed).permutation(len(items))]
            rec = recordio.MXIndexedRecordIO(os.path.join(tmp, f"{split}.idx"), os.path.join(tmp, f"{split}.rec"), "w")
            results = pool.imap(encoder, items, chunksize=64) if pool else map(encoder, items)
            with open(os.path.join(tmp, f"{split}.lst"), "w") as lst:
                for i, (item, (data, (s, n), shape)) in enumerate(tqdm(zip(items, results), total=len(items),
                                                                  desc=f"{name} {split}", unit="img",
                                                                  disable=not progress)):
                    rec.write_idx(i, recordio.pack(recordio.IRHeader(0, float(item.label), i, 0), data))
                    lst.write(f"{i}\t{float(item.label):f}\t{item.name}\n")
                    shapes.add(tuple(shape))
                    if split == "train":
                        sums, pixels = sums + s, pixels + n
            rec.close()
            counts[split] = len(items)
        family = family_of(name)
        stored = list(shapes.pop()) if len(shapes) == 1 else None
        meta = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "family": family,
            "classes": list(source.classes),
            "num_classes": len(source.classes),
            "counts": counts,
            "image_size": stored,
            "crop_size": size or RECIPES[family].crop,
            # Per-channel RGB mean on the 0-255 scale over the training images, before padding.
            "mean_rgb": [round(float(v), 4) for v in sums / max(pixels, 1)],
            "pad": pad,
            "pad_mode": pad_mode if pad else None,
            "encoding": "original bytes" if encoder.keep_bytes else "png",
            "source": {"description": source.description, "sha256": source.sha256},
            "shuffle_seed": seed,
        }
        with open(os.path.join(tmp, "dataset.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        if os.path.exists(os.path.join(out, "dataset.json")):
            os.remove(os.path.join(out, "dataset.json"))  # the old set is incomplete from here on
        for fname in OUTPUTS:  # dataset.json last: its presence marks a complete pack
            os.replace(os.path.join(tmp, fname), os.path.join(out, fname))
        meta["seconds"] = round(time.time() - start, 1)
        return meta
    finally:
        if pool:
            pool.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not os.path.exists(os.path.join(out, "dataset.json")):
            shutil.rmtree(out, ignore_errors=True)


def summary(meta, out):
    """The one-screen report printed after packing."""
    size = lambda f: os.path.getsize(os.path.join(out, f)) / 2**20  # noqa: E731
    lines = [f"packed {meta['name']} ({meta['source']['description']}) into {out} in {meta.get('seconds', '?')} s",
             f"  classes      {meta['num_classes']}: {', '.join(meta['classes'][:10])}"
             + (" ..." if meta["num_classes"] > 10 else "")]
    for s in SPLITS:
        lines.append(f"  {s:<12} {meta['counts'][s]:>7,} images  {size(s + '.rec'):8.1f} MiB  {s}.rec / .idx / .lst")
    img = meta["image_size"]
    lines += [f"  stored       {'x'.join(map(str, img)) if img else 'mixed sizes'} {meta['encoding']}"
              + (f", padded {meta['pad']} px ({meta['pad_mode']})" if meta["pad"] else ""),
              f"  crop         {meta['crop_size']}x{meta['crop_size']} ({meta['family']} recipe)",
              "  mean RGB     " + " ".join(f"{v:.2f}" for v in meta["mean_rgb"]),
              f"  source sha256 {meta['source']['sha256'][:16]}..."]
    return "\n".join(lines)


def read_meta(data_dir):
    """dataset.json of a packed folder, with an actionable error when it is missing or unreadable."""
    path = os.path.join(data_dir, "dataset.json")
    if not os.path.isfile(path):
        raise UserError(f"{data_dir} is not a packed dataset (no dataset.json): run "
                        f"`python tools/im2rec_pack.py --dataset ... --out {data_dir}` first")
    try:
        with open(path) as f:
            meta = json.load(f)
    except ValueError as e:
        raise UserError(f"{path} is not valid JSON ({e}); pack the dataset again with --force") from None
    missing = [k for k in ("name", "family", "classes", "mean_rgb", "crop_size", "counts") if k not in meta]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}; pack the dataset again with --force")
    for split in SPLITS:
        if not os.path.isfile(os.path.join(data_dir, f"{split}.rec")):
            raise UserError(f"{data_dir}/{split}.rec is missing; pack the dataset again with --force")
    return meta
