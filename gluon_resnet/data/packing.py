"""Pack a `Source` into MXNet RecordIO: train/val `.rec` + `.idx` + `.lst` and `dataset.json`.

Output is written to a hidden folder inside `out` and renamed into place at the end (dataset.json
last), so an interrupted or failed pack never leaves a dataset that looks complete.
"""
import multiprocessing
import os
import shutil
import tempfile

import numpy as np

from ..errors import UserError
from ..fileio import digest, replace
from ..recipes import PACKING, RECIPES, Packing, family_of
from .dataset import META_FILE, OUTPUTS, SPLITS, DatasetMeta, split_path, write_meta

PAD_MODES = {"mean": "mean", "zero": "constant", "edge": "edge", "reflect": "reflect"}


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

    def __init__(self, pad, pad_mode, size, keep_bytes, png_compression):
        self.pad, self.pad_mode, self.size, self.keep_bytes = pad, pad_mode, size, keep_bytes
        self.png_compression = png_compression

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
        ok, png = cv2.imencode(".png", np.ascontiguousarray(padded[:, :, ::-1]),  # lossless, stored BGR
                               [cv2.IMWRITE_PNG_COMPRESSION, self.png_compression])
        # Every record is decoded once here, so that nothing undecodable is ever packed.
        if not ok or cv2.imdecode(png, cv2.IMREAD_COLOR) is None:
            raise UserError(f"{item.name}: OpenCV could not encode it as PNG (shape {padded.shape}); "
                            f"check that it is a colour image")
        return png.tobytes(), stats, padded.shape[:2]


def check_out(out, force):
    if os.path.exists(os.path.join(out, META_FILE)) and not force:
        raise UserError(f"{out} already holds a packed dataset ({META_FILE}); pass --force to overwrite it")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"--out {out} is a file, not a folder")


def pack(source, name, out, pad=None, pad_mode="mean", size=None, keep_bytes=None, png_compression=None, workers=1,
         seed=0, force=False, progress=True):
    """Pack `source` into `out`; returns its DatasetMeta. Unset pad / size / keep_bytes / png_compression
    come from the dataset's recipes.PACKING, so the library packs exactly as the command line does."""
    d = PACKING.get(name, Packing())
    pad = d.pad if pad is None else pad
    size = d.size if size is None else size
    keep_bytes = d.keep_bytes if keep_bytes is None else keep_bytes
    png_compression = d.png_compression if png_compression is None else png_compression

    if pad_mode not in PAD_MODES:
        raise UserError(f"--pad-mode must be one of {', '.join(PAD_MODES)}, not {pad_mode!r}")
    if pad < 0:
        raise UserError(f"--pad must be >= 0, not {pad}")
    if png_compression not in range(10):
        raise UserError(f"--png-compression must be 0 (none) to 9 (smallest), not {png_compression!r}")
    check_out(out, force)
    created = not os.path.exists(out)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".packing-", dir=out)
    encoder = _Encoder(pad, pad_mode, size, keep_bytes and pad == 0 and not size, png_compression)
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
    counts, files, shapes, sums, pixels = {}, {}, set(), np.zeros(3), 0
    try:
        for split in SPLITS:
            items = source.splits[split]
            if split == "train":  # shuffled once, so contiguous shards (num_parts) mix the classes
                items = [items[i] for i in np.random.RandomState(seed).permutation(len(items))]
            results = pool.imap(encoder, items, chunksize=64) if pool else map(encoder, items)
            split_shapes, s, n = _write_split(tmp, split, items, results, f"{name} {split}", progress)
            shapes |= split_shapes
            if split == "train":
                sums, pixels = s, n
            counts[split] = len(items)
            files.update({f"{split}.{ext}": digest(split_path(tmp, split, ext)) for ext in ("rec", "idx")})
        family = family_of(name)
        meta = DatasetMeta(
            name=name, family=family, classes=list(source.classes), counts=counts,
            crop_size=size or RECIPES[family].crop,
            # Per-channel RGB mean on the 0-255 scale over the training images, before padding.
            mean_rgb=[round(float(v), 4) for v in sums / max(pixels, 1)],
            image_size=list(shapes.pop()) if len(shapes) == 1 else None,
            pad=pad, pad_mode=pad_mode if pad else None,
            encoding="original bytes" if encoder.keep_bytes else "png",
            source={"description": source.description, "sha256": source.sha256}, shuffle_seed=seed, files=files)
        write_meta(tmp, meta)
        if os.path.exists(os.path.join(out, META_FILE)):
            os.remove(os.path.join(out, META_FILE))  # the old set is incomplete from here on
        for fname in OUTPUTS:  # dataset.json last: its presence marks a complete pack
            replace(os.path.join(tmp, fname), os.path.join(out, fname))
        return meta
    finally:
        if pool:
            pool.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not os.path.exists(os.path.join(out, META_FILE)):
            shutil.rmtree(out, ignore_errors=True)


def _write_split(folder, split, items, results, desc, progress):
    """The encoded `results` of `items` written as `split`'s .rec, .idx and .lst in `folder`; returns (the
    stored image shapes, the per-channel pixel sums, the pixel count)."""
    from tqdm import tqdm

    from ..compat import mx
    recordio = mx.recordio
    shapes, sums, pixels = set(), np.zeros(3), 0
    rec = recordio.MXIndexedRecordIO(split_path(folder, split, "idx"), split_path(folder, split), "w")
    try:
        with open(split_path(folder, split, "lst"), "w") as lst:
            for i, (item, (data, (s, n), shape)) in enumerate(tqdm(zip(items, results), total=len(items), desc=desc,
                                                                   unit="img", disable=not progress)):
                rec.write_idx(i, recordio.pack(recordio.IRHeader(0, float(item.label), i, 0), data))
                lst.write(f"{i}\t{float(item.label):f}\t{item.name}\n")
                shapes.add(tuple(shape))
                sums, pixels = sums + s, pixels + n
    finally:
        rec.close()
    return shapes, sums, pixels


def describe(meta, out, seconds=None):
    """The one-screen report printed after packing."""
    size = lambda f: os.path.getsize(os.path.join(out, f)) / 2**20  # noqa: E731
    lines = [f"packed {meta.name} ({meta.source['description']}) into {out}"
             + (f" in {seconds} s" if seconds is not None else ""),
             f"  classes      {meta.num_classes}: {', '.join(meta.classes[:10])}"
             + (" ..." if meta.num_classes > 10 else "")]
    for s in SPLITS:
        lines.append(f"  {s:<12} {meta.counts[s]:>7,} images  {size(s + '.rec'):8.1f} MiB  {s}.rec / .idx / .lst")
    img = meta.image_size
    lines += [f"  stored       {'x'.join(map(str, img)) if img else 'mixed sizes'} {meta.encoding}"
              + (f", padded {meta.pad} px ({meta.pad_mode})" if meta.pad else ""),
              f"  crop         {meta.crop_size}x{meta.crop_size} ({meta.family} recipe)",
              "  mean RGB     " + " ".join(f"{v:.2f}" for v in meta.mean_rgb),
              f"  source sha256 {meta.source['sha256'][:16]}..."]
    return "\n".join(lines)
