"""Input pipelines over a packed folder: `mx.io.ImageRecordIter` for training and validation (crop,
flip, scale jitter and mean subtraction in MXNet's C++ threads), and a multiscale reader for evaluation.

All statistics (mean, crop size, classes) come from the folder's dataset.json (a DatasetMeta).

Make a new ImageRecordIter for every pass and never call reset(): in MXNet 1.9 reset() on a fresh
iterator drops the first batch, and the pass after a padded last batch skips the records that padded
it. A per-epoch seed (`epoch_seed`) also makes epoch e reproducible, which exact resume needs.
"""
import numpy as np

from ..compat import mx
from .dataset import split_path
from .integrity import reading


def epoch_seed(seed, epoch):
    """The shuffle seed of one epoch: distinct for every (seed, epoch) pair of any realistic run."""
    return seed * 100003 + epoch


def _record_iter(data_dir, meta, split, batch_size, threads, num_parts, part_index, **kw):
    crop = meta.crop_size
    r, g, b = meta.mean_rgb
    return mx.io.ImageRecordIter(
        path_imgrec=split_path(data_dir, split), path_imgidx=split_path(data_dir, split, "idx"),
        data_shape=(3, crop, crop), batch_size=batch_size, mean_r=r, mean_g=g, mean_b=b,
        preprocess_threads=threads, num_parts=num_parts, part_index=part_index, verbose=False,
        # The prefetching iterator (ctx='gpu', the default, also right for CPU training) leaks each
        # prefetched batch beyond the first when destroyed, a MiB or more per new iterator with the
        # default buffer of 4; one batch ahead leaks nothing. ctx='cpu' would not prefetch at all.
        prefetch_buffer=1, **kw)


def train_iter(data_dir, meta, batch_size, seed=0, threads=4, num_parts=1, part_index=0):
    """One epoch of training batches in an order drawn from `seed` (pass `epoch_seed(seed, epoch)`),
    with the recipe's augmentation: random crop, flip, scale jitter, mean subtraction."""
    recipe = meta.recipe
    # No seed_aug: MXNet 1.9 reseeds the augmenter with it for every batch, so the i-th image of every
    # batch would get the same crop and flip. The default per-thread generators are fixed, so the
    # batches still depend on `seed` alone.
    return _record_iter(data_dir, meta, "train", batch_size, threads, num_parts, part_index,
                        shuffle=True, seed=seed, rand_crop=True, rand_mirror=True,
                        min_random_scale=recipe.min_random_scale, max_random_scale=recipe.max_random_scale)


def val_iter(data_dir, meta, batch_size, threads=4, num_parts=1, part_index=0):
    """Validation batches in record order: the centre crop (CIFAR: the original image), or for
    Mini-Places2 the whole image resized to the crop size.

    The last batch wraps around to the first records and says so in `batch.pad`: skip that many.
    (round_batch=False is worse in MXNet 1.9: pad stays 0 and the tail holds garbage labels.)"""
    extra = {"resize": meta.crop_size} if meta.family == "miniplaces" else {}
    return _record_iter(data_dir, meta, "val", batch_size, threads, num_parts, part_index,
                        shuffle=False, **extra)


def whole_image(img, meta):
    """The image as it was before packing: the stored one minus its padding (HWC NDArray)."""
    pad = meta.pad or 0
    return img[pad:img.shape[0] - pad, pad:img.shape[1] - pad] if pad else img


def at_scale(img, scale):
    """Resize the shorter side to `scale` and take the centre square (bilinear, as ImageRecordIter's
    `resize`); a square image is simply resized whole, one already at `scale` is left untouched."""
    if img.shape[0] == img.shape[1] == scale:
        return img
    img = mx.image.resize_short(img, scale, interp=1)
    return mx.image.center_crop(img, (scale, scale), interp=1)[0]


def multiscale_batches(data_dir, meta, scales, batch_size=100, split="val", max_images=None):
    """Yield (labels, {scale: NCHW float32 numpy}) over a split in record order: each image decoded
    once, restored to its unpadded size, resized to every scale, minus the dataset mean.

    Decoding and resizing use MXNet's own OpenCV, so the native scale matches `val_iter` exactly.
    One reader for MXNet and onnxruntime evaluation: both see the same pixels."""
    mean = np.array(meta.mean_rgb, np.float32).reshape(1, 3, 1, 1)
    total = meta.counts[split] if max_images is None else min(max_images, meta.counts[split])
    reader = mx.recordio.MXRecordIO(split_path(data_dir, split), "r")
    try:
        with reading(data_dir, split):  # a record that does not decode: one line naming it
            done = 0
            while done < total:
                labels, images = [], {s: [] for s in scales}
                for _ in range(min(batch_size, total - done)):
                    header, buf = mx.recordio.unpack(reader.read())
                    img = whole_image(mx.image.imdecode(buf), meta)
                    for s in scales:
                        images[s].append(at_scale(img, s).asnumpy())
                    labels.append(int(np.asarray(header.label).flat[0]))
                done += len(labels)
                yield (np.array(labels),
                       {s: np.stack(v).transpose(0, 3, 1, 2).astype(np.float32) - mean for s, v in images.items()})
    finally:
        reader.close()
