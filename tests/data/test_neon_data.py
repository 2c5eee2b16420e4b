"""The data path against neon's: a packed CIFAR image equals the PNG neon's own batch writer made from the same
image (tests/fixtures/neon/batch_writer, run with neon 1.2.1 on real handwritten strokes), and a training crop,
flip and mean subtraction equals neon's loader for the same corner and flip."""
import json
import os

import cv2
import numpy as np
import pytest

from gluon_resnet.data.packing import pack
from gluon_resnet.data.sources import read_cifar10

from tests.conftest import read_records
from tests.model.test_neon import FIXTURES

WRITER = os.path.join(FIXTURES, "batch_writer")


def neon_pngs(split):
    """{(label, index): the 40x40 image neon wrote, RGB}."""
    root = os.path.join(WRITER, "neon", split)
    return {(int(label), int(name[:-4])): cv2.imread(os.path.join(root, label, name), cv2.IMREAD_COLOR)[:, :, ::-1]
            for label in os.listdir(root) for name in os.listdir(os.path.join(root, label))}


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("neon-writer") / "cifar10")
    meta = pack(read_cifar10(os.path.join(WRITER, "cifar-10-python.tar.gz")), "cifar10", out, progress=False)
    return out, meta


def _by_centre(images):
    return {img[4:36, 4:36].tobytes(): img for img in images}


@pytest.mark.parametrize("split, neon_split", [("train", "train"), ("val", "val")])
def test_a_packed_image_is_the_png_neons_batch_writer_made(packed, split, neon_split):
    out, _ = packed
    _, ours, _ = read_records(out, split)
    theirs = _by_centre(neon_pngs(neon_split).values())
    assert len(ours) == len(theirs) == (10 if split == "train" else 2)
    for img in ours:
        neon_img = theirs[img[4:36, 4:36].tobytes()]  # the same 32x32 image
        np.testing.assert_array_equal(img, neon_img)  # and the same padding, to the rounding
    border = ours[0].copy()
    border[4:36, 4:36] = 0
    assert border.any() and len(np.unique(ours[0][0])) > 1  # per-row / per-column means, not a constant


def test_the_mean_is_neons_on_the_right_channels(packed):
    """neon's batch writer computes the per-channel mean and stores it reversed (for OpenCV's BGR planes); its
    loader then reads it back in the other order, so that its B plane lost the R mean: the port subtracts
    each channel's own mean (docs/neon.md measures what the swap changes)."""
    _, meta = packed
    written = json.load(open(os.path.join(WRITER, "neon_mean.json")))["pixel_mean_as_written"]
    assert np.allclose(meta.mean_rgb, written[::-1], rtol=0, atol=5e-5)  # dataset.json keeps 4 decimals
    assert abs(written[0] - written[2]) > 5  # red and blue differ here, so a swap would show


def neon_loader(png_rgb, x, y, flip, mean_fields, inner=32):
    """neon 1.2.1's loader for one image (neon/data/loader/decoder.hpp ImageDecoder::decode, then
    imageloader.py's mean subtraction): OpenCV decodes to BGR; the crop box at corner (x, y) of size `inner`
    (scale_range 0: no resize, as cifar10_msra.py's train set); cv::flip(..., 1) when the flip is drawn;
    cv::split into the B, G, R planes; minus global_mean, which imageloader.py builds from the macrobatch
    meta file's [B_mean, G_mean, R_mean] lines (batch_writer.py writes them from the reversed mean)."""
    bgr = png_rgb[:, :, ::-1]
    crop = bgr[y:y + inner, x:x + inner]
    if flip:
        crop = crop[:, ::-1]
    planes = crop.transpose(2, 0, 1).astype(np.float32)          # B, G, R
    r_mean, g_mean, b_mean = mean_fields                         # the meta file's R_mean, G_mean, B_mean lines
    global_mean = np.array([b_mean, g_mean, r_mean], np.float32)  # imageloader.py: [[B_mean], [G_mean], [R_mean]]
    return planes - global_mean[:, None, None]


def test_a_training_crop_flip_and_mean_equal_neons_loader(packed):
    from gluon_resnet.data.iterators import train_iter
    out, meta = packed
    written = json.load(open(os.path.join(WRITER, "neon_mean.json")))["pixel_mean_as_written"]
    pngs = list(neon_pngs("train").values())
    seen = set()
    for epoch in range(4):
        batch = next(iter(train_iter(out, meta, 10, seed=epoch, threads=1)))
        for img in batch.data[0].asnumpy():                        # RGB planes minus mean_rgb
            ours_raw = np.round(img + np.array(meta.mean_rgb, np.float32)[:, None, None])  # 0-255, R, G, B
            found = [(k, x, y, f) for k, png in enumerate(pngs) for x in range(9) for y in range(9) for f in (0, 1)
                     if np.array_equal(ours_raw, (neon_loader(png, x, y, f, written)
                                                  + _neon_plane_mean(written)[:, None, None])[::-1])]
            assert len(found) == 1, found
            k, x, y, f = found[0]
            seen.add((x, y, f))
            ours, neons = img, neon_loader(pngs[k], x, y, f, written)[::-1]   # both as R, G, B
            # the pixels agree; what each subtracts differs only by neon's swapped R and B means
            shift = np.array(meta.mean_rgb, np.float32) - _neon_plane_mean(written)[::-1]
            np.testing.assert_allclose(ours + shift[:, None, None], neons, rtol=0, atol=1e-4)
    assert len(seen) >= 5 and {f for _, _, f in seen} == {0, 1}  # crops and flips vary


def _neon_plane_mean(written):
    """What neon's loader subtracts from its B, G, R planes: the meta file's B_mean, G_mean, R_mean lines."""
    r_line, g_line, b_line = written
    return np.array([b_line, g_line, r_line], np.float32)
