"""Packing real-format sources into RecordIO: contents, statistics, determinism, atomicity."""
import filecmp
import os

import cv2
import numpy as np
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.data.dataset import read_meta
from gluon_resnet.data.packing import pack, pad_image
from gluon_resnet.data.sources import read_cifar10, read_miniplaces
from gluon_resnet.data.synthetic import cifar_images, write_cifar_binary
from gluon_resnet.errors import UserError

from conftest import as_archives, read_records


def _originals(batches, names):
    imgs = np.concatenate([cifar_images(batches[n][0]) for n in names])
    labels = sum((batches[n][1] for n in names), [])
    return imgs, labels


TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def test_cifar_pack_contents(packed_cifar, cifar_batches):
    meta = read_meta(packed_cifar)
    assert meta.counts == {"train": 60, "val": 20}
    assert meta.classes[0] == "airplane" and meta.num_classes == 10
    assert meta.image_size == [40, 40] and meta.crop_size == 32 and meta.pad_mode == "mean"
    originals, labels = _originals(cifar_batches, TRAIN)
    # The mean is over the unpadded training images.
    np.testing.assert_allclose(meta.mean_rgb, originals.reshape(-1, 3).mean(axis=0), atol=1e-4)

    got_labels, got, _ = read_records(packed_cifar, "train")
    # Training records are shuffled: match each stored image to its original by its unpadded centre.
    by_bytes = {img.tobytes(): (i, y) for i, (img, y) in enumerate(zip(originals, labels))}
    seen = set()
    for img, y in zip(got, got_labels):
        i, label = by_bytes[img[4:36, 4:36].tobytes()]  # PNG is lossless: exact pixels
        assert label == y
        np.testing.assert_array_equal(img, pad_image(originals[i], 4, "mean"))
        seen.add(i)
    assert len(seen) == 60

    val_orig, val_labels = _originals(cifar_batches, ["test_batch"])
    vl, vimgs, _ = read_records(packed_cifar, "val")
    assert vl == val_labels  # validation keeps the source order
    np.testing.assert_array_equal(np.stack(vimgs)[:, 4:36, 4:36], val_orig)


def test_lst_and_mxnet_readers_agree(packed_cifar):
    lines = open(os.path.join(packed_cifar, "val.lst")).read().splitlines()
    idx, label, path = lines[3].split("\t")
    assert idx == "3" and path == "test_batch/00003.png"
    ds = mx.gluon.data.vision.ImageRecordDataset(os.path.join(packed_cifar, "val.rec"))
    img, y = ds[3]
    assert float(label) == y and img.shape == (40, 40, 3)
    assert len(ds) == 20


@pytest.mark.parametrize("mode", ["mean", "zero", "edge", "reflect"])
def test_pad_modes(tmp_path, cifar_tarball, cifar_batches, mode):
    out = str(tmp_path / mode)
    pack(read_cifar10(cifar_tarball), "cifar10", out, pad=2, pad_mode=mode, progress=False)
    _, imgs, _ = read_records(out, "val")
    val_orig, _ = _originals(cifar_batches, ["test_batch"])
    np_mode = {"zero": "constant"}.get(mode, mode)
    for got, orig in zip(imgs, val_orig):
        np.testing.assert_array_equal(got, np.pad(orig, ((2, 2), (2, 2), (0, 0)), mode=np_mode))
    if mode == "zero":
        assert imgs[0][0].max() == 0


def test_neon_mean_padding_uses_row_and_column_means():
    img = np.arange(2 * 3 * 3).reshape(2, 3, 3).astype(np.uint8)
    padded = pad_image(img, 1, "mean")
    assert padded.shape == (4, 5, 3)
    assert padded[0, 1, 0] == round(img[:, 0, 0].mean())  # above column 0: that column's mean


def test_same_inputs_give_byte_identical_outputs(tmp_path, cifar_tarball):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    pack(read_cifar10(cifar_tarball), "cifar10", a, progress=False)
    pack(read_cifar10(cifar_tarball), "cifar10", b, progress=False, workers=2)
    for f in ("train.rec", "train.idx", "train.lst", "val.rec", "dataset.json"):
        assert filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False), f


def test_binary_version_packs_the_same_records(tmp_path, cifar_batches, packed_cifar):
    src = write_cifar_binary(tmp_path / "cifar-10-binary.tar.gz", cifar_batches)
    source = read_cifar10(src)
    assert source.description == "CIFAR-10 (binary version)" and source.classes[-1] == "truck"
    out = str(tmp_path / "bin")
    pack(source, "cifar10", out, progress=False)
    for f in ("train.rec", "val.rec"):
        assert filecmp.cmp(os.path.join(out, f), os.path.join(packed_cifar, f), shallow=False)


def test_png_compression_changes_the_bytes_never_the_batches(tmp_path, cifar_tarball, packed_cifar):
    """The default stores the PNGs uncompressed (zlib level 0: every record at least its raw pixels);
    level 9 is smaller, and ImageRecordIter gives the same batches from both, pixel for pixel."""
    from gluon_resnet.data.integrity import open_dataset
    from gluon_resnet.data.iterators import train_iter
    small = str(tmp_path / "small")
    pack(read_cifar10(cifar_tarball), "cifar10", small, png_compression=9, progress=False)
    labels0, images0, raw0 = read_records(packed_cifar, "train")
    labels9, images9, raw9 = read_records(small, "train")
    assert labels0 == labels9
    for a, b in zip(images0, images9):
        np.testing.assert_array_equal(a, b)
    assert min(map(len, raw0)) >= 40 * 40 * 3 > max(map(len, raw9))
    batches = [[(b.data[0].asnumpy(), b.label[0].asnumpy()) for b in train_iter(d, open_dataset(d), 20, seed=3)]
               for d in (packed_cifar, small)]
    assert len(batches[0]) == 3
    for (x0, y0), (x9, y9) in zip(*batches):
        np.testing.assert_array_equal(x0, x9)
        np.testing.assert_array_equal(y0, y9)
    with pytest.raises(UserError, match="--png-compression must be 0 .none. to 9"):
        pack(read_cifar10(cifar_tarball), "cifar10", str(tmp_path / "bad"), png_compression=10, progress=False)


def test_extracted_folder_reads_like_tarball(tmp_path, cifar_tarball):
    import tarfile
    with tarfile.open(cifar_tarball) as t:
        t.extractall(tmp_path)
    a, b = read_cifar10(str(tmp_path / "cifar-10-batches-py")), read_cifar10(cifar_tarball)
    assert [i.label for i in a.splits["train"]] == [i.label for i in b.splits["train"]]
    np.testing.assert_array_equal(a.splits["val"][5].payload, b.splits["val"][5].payload)


def test_miniplaces_keeps_jpeg_bytes(packed_miniplaces, miniplaces_raw):
    meta = read_meta(packed_miniplaces)
    assert meta.counts == {"train": 12, "val": 6} and meta.encoding == "original bytes"
    assert meta.classes == ["abbey", "bamboo_forest", "kitchen"] and meta.crop_size == 112
    assert meta.family == "miniplaces" and meta.pad == 0
    lst = [line.split("\t") for line in open(os.path.join(packed_miniplaces, "val.lst")).read().splitlines()]
    labels, _, raw = read_records(packed_miniplaces, "val")
    for (_, label, rel), y, buf in zip(lst, labels, raw):
        assert open(os.path.join(miniplaces_raw, "images", rel), "rb").read() == buf
        assert int(float(label)) == y
    assert labels == [k % 3 for k in range(6)]


def test_miniplaces_mean_is_of_decoded_training_images(miniplaces_root, tmp_path):
    out = str(tmp_path / "mp")
    meta = pack(read_miniplaces(miniplaces_root), "miniplaces", out, pad=0, keep_bytes=True, progress=False)
    imgs = [cv2.imread(os.path.join(miniplaces_root, "images", line.split()[0]))[:, :, ::-1]
            for line in open(os.path.join(miniplaces_root, "development_kit", "data", "train.txt"))]
    np.testing.assert_allclose(meta.mean_rgb, np.stack(imgs).reshape(-1, 3).mean(axis=0), atol=1e-4)
    assert meta.image_size == [128, 128]


def test_folder_dataset(tmp_path):
    from gluon_resnet.data.sources import read_folder
    rng = np.random.RandomState(0)
    for split, n in (("train", 3), ("val", 2)):
        for cls in ("cat", "dog"):
            os.makedirs(tmp_path / split / cls)
            for k in range(n):
                cv2.imwrite(str(tmp_path / split / cls / f"{k}.png"), rng.randint(0, 256, (50, 70, 3)).astype(np.uint8))
    meta = pack(read_folder(str(tmp_path)), "folder", str(tmp_path / "out"), size=32, progress=False)
    assert meta.classes == ["cat", "dog"] and meta.counts == {"train": 6, "val": 4}
    assert meta.image_size == [40, 40] and meta.crop_size == 32
    # The source checksum (a resumed run's check) is of the images' contents: one edited in place at the
    # same size changes it, as a re-read of the untouched folder does not.
    assert read_folder(str(tmp_path)).sha256 == meta.source["sha256"]
    image = tmp_path / "train" / "dog" / "1.png"
    data = bytearray(image.read_bytes())
    data[-20] ^= 0xFF
    image.write_bytes(bytes(data))
    assert read_folder(str(tmp_path)).sha256 != meta.source["sha256"]


# ---------------------------------------------------------------- bad input

def test_undecodable_image_is_named_and_nothing_is_left(miniplaces_root, tmp_path):
    bad = os.path.join(miniplaces_root, "images", "val", "00000004.jpg")
    open(bad, "wb").write(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    with pytest.raises(UserError, match=r"val/00000004.jpg does not decode"):
        pack(read_miniplaces(miniplaces_root), "miniplaces", str(out), pad=0, keep_bytes=True, progress=False)
    assert not out.exists()  # train had been written already: all of it is gone


def test_failed_repack_leaves_the_old_pack_intact(miniplaces_root, tmp_path):
    out = tmp_path / "out"
    pack(read_miniplaces(miniplaces_root), "miniplaces", str(out), pad=0, progress=False)
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}
    open(os.path.join(miniplaces_root, "images", "val", "00000002.jpg"), "wb").write(b"junk")
    with pytest.raises(UserError):
        pack(read_miniplaces(miniplaces_root), "miniplaces", str(out), pad=0, progress=False, force=True)
    assert {f: (out / f).read_bytes() for f in os.listdir(out)} == before  # no temp folder, nothing changed


def test_existing_output_needs_force(packed_cifar, cifar_tarball):
    with pytest.raises(UserError, match="already holds a packed dataset.*--force"):
        pack(read_cifar10(cifar_tarball), "cifar10", packed_cifar, progress=False)


def test_miniplaces_straight_from_the_archives(miniplaces_raw, packed_miniplaces, tmp_path):
    source = read_miniplaces(as_archives(miniplaces_raw, tmp_path / "mp"))
    assert source.description == "Mini-Places2 (archives)" and source.classes == ["abbey", "bamboo_forest", "kitchen"]
    out = str(tmp_path / "out")
    pack(source, "miniplaces", out, pad=0, keep_bytes=True, progress=False)
    for f in ("train.rec", "train.idx", "val.rec", "val.lst"):  # the same records as from the extracted tree
        assert filecmp.cmp(os.path.join(out, f), os.path.join(packed_miniplaces, f), shallow=False), f


