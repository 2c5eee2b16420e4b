"""ImageRecordIter pipelines and the multiscale reader, checked pixel by pixel against the records."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from gluon_resnet.compat import mx
from gluon_resnet.data.dataset import read_meta
from gluon_resnet.data.iterators import multiscale_batches, train_iter, val_iter

from conftest import read_records


def _epoch(it):
    """All (data, labels) of one pass over a fresh iterator, without the last batch's padding."""
    data, labels = [], []
    for b in it:
        n = b.data[0].shape[0] - b.pad
        data.append(b.data[0].asnumpy()[:n])
        labels.append(b.label[0].asnumpy()[:n])
    return np.concatenate(data), np.concatenate(labels)


def _locate(crop, windows):
    """(record, dy, dx, flipped) of the first window equal to `crop` (CHW), or None. The windows whose first
    row of channel 0 matches are compared whole."""
    for flipped, c in ((False, crop), (True, crop[:, :, ::-1])):
        for hit in np.argwhere(np.all(np.abs(windows[:, :, :, 0, 0, :] - c[0, 0]) < 1e-3, axis=-1)):
            if np.all(np.abs(windows[tuple(hit)] - c) < 1e-3):
                return (*hit, flipped)
    return None


def test_train_crops_flips_and_mean(packed_cifar):
    meta = read_meta(packed_cifar)
    mean = np.array(meta.mean_rgb, np.float32).reshape(3, 1, 1)
    labels, stored, _ = read_records(packed_cifar, "train")
    stored = np.stack(stored).transpose(0, 3, 1, 2).astype(np.float32)     # N, 3, 40, 40
    windows = sliding_window_view(stored, (32, 32), axis=(2, 3)).transpose(0, 2, 3, 1, 4, 5)  # N, 9, 9, 3, 32, 32
    flips, per_record = [], {}
    for epoch in range(4):
        data, y = _epoch(train_iter(packed_cifar, meta, batch_size=20, seed=3 + epoch))
        assert data.shape == (60, 3, 32, 32)
        for crop, label in zip(data, y):
            found = _locate(crop + mean, windows)
            assert found is not None, "a crop that is not inside its padded image"
            rec, dy, dx, flipped = found
            assert labels[rec] == label
            src = windows[rec, dy, dx][:, :, ::-1] if flipped else windows[rec, dy, dx]
            np.testing.assert_array_equal(crop, src - mean)  # mean subtraction is exact
            flips.append(flipped)
            per_record.setdefault(rec, []).append((dy, dx, flipped))
    assert 0.38 < np.mean(flips) < 0.62, np.mean(flips)  # 240 draws of p = 0.5
    assert len({o[:2] for v in per_record.values() for o in v}) > 30  # of 81 offsets
    # Each image is cropped anew every epoch (with seed_aug, MXNet would repeat crops by batch slot).
    assert sum(len(set(v)) >= 3 for v in per_record.values()) > 0.8 * len(per_record)


def test_each_epoch_seed_gives_a_new_order(packed_cifar):
    meta = read_meta(packed_cifar)
    (_, a), (_, b) = (_epoch(train_iter(packed_cifar, meta, batch_size=20, seed=s)) for s in (0, 1))
    assert sorted(a) == sorted(b) and not np.array_equal(a, b)


def test_same_seed_same_batches(packed_cifar):
    meta = read_meta(packed_cifar)
    runs = [_epoch(train_iter(packed_cifar, meta, 20, seed=s)) for s in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_validation_is_the_original_minus_mean(packed_cifar, cifar_batches):
    from gluon_resnet.data.synthetic import cifar_images
    meta = read_meta(packed_cifar)
    data, labels = _epoch(val_iter(packed_cifar, meta, batch_size=8))
    rows, val_labels = cifar_batches["test_batch"]
    assert data.shape == (20, 3, 32, 32) and labels.tolist() == val_labels  # last batch's pad is dropped
    expected = cifar_images(rows).transpose(0, 3, 1, 2).astype(np.float32) \
        - np.array(meta.mean_rgb, np.float32).reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(data, expected)


@pytest.mark.parametrize("split_fn", ["train", "val"])
def test_shards_partition_the_data(packed_cifar, split_fn):
    meta = read_meta(packed_cifar)
    make = (lambda **kw: train_iter(packed_cifar, meta, 4, seed=1, **kw)) if split_fn == "train" else \
        (lambda **kw: val_iter(packed_cifar, meta, 4, **kw))
    whole, _ = _epoch(make())
    parts = [_epoch(make(num_parts=3, part_index=i))[0] for i in range(3)]
    if split_fn == "val":
        sigs = [{p.tobytes() for p in part} for part in parts]
        assert sum(map(len, sigs)) == len(whole) == len(set().union(*sigs))
        assert set().union(*sigs) == {w.tobytes() for w in whole}
    else:
        assert sum(len(p) for p in parts) == len(whole) == 60
        labels, _, _ = read_records(packed_cifar, "train")
        part_labels = sorted(np.concatenate([_epoch(make(num_parts=3, part_index=i))[1] for i in range(3)]))
        assert part_labels == sorted(labels)


def test_miniplaces_train_is_scale_jittered_112_crops(packed_miniplaces):
    meta = read_meta(packed_miniplaces)
    data, labels = _epoch(train_iter(packed_miniplaces, meta, batch_size=4, seed=0))
    assert data.shape == (12, 3, 112, 112) and sorted(labels) == sorted([k // 4 for k in range(12)])
    again, _ = _epoch(train_iter(packed_miniplaces, meta, batch_size=4, seed=1))
    assert not np.array_equal(np.sort(data.reshape(12, -1), 0), np.sort(again.reshape(12, -1), 0))


@pytest.mark.parametrize("packed", ["packed_cifar", "packed_miniplaces"])
def test_multiscale_native_scale_equals_val_iterator(packed, request):
    data_dir = request.getfixturevalue(packed)
    meta = read_meta(data_dir)
    crop = meta.crop_size
    data, labels = _epoch(val_iter(data_dir, meta, batch_size=4))
    got = list(multiscale_batches(data_dir, meta, (crop, 2 * crop), batch_size=4))
    np.testing.assert_array_equal(np.concatenate([g[1][crop] for g in got]), data)
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), labels)
    assert got[0][1][2 * crop].shape == (4, 3, 2 * crop, 2 * crop)


def test_multiscale_resizes_the_unpadded_image(packed_cifar, cifar_batches):
    from gluon_resnet.data.synthetic import cifar_images
    meta = read_meta(packed_cifar)
    labels, batch = next(multiscale_batches(packed_cifar, meta, (48,), batch_size=3))
    original = mx.nd.array(cifar_images(cifar_batches["test_batch"][0])[1], dtype="uint8")
    expected = mx.image.imresize(original, 48, 48, interp=1).asnumpy().transpose(2, 0, 1) \
        - np.array(meta.mean_rgb, np.float32).reshape(3, 1, 1)
    np.testing.assert_array_equal(batch[48][1], expected)
    assert len(list(multiscale_batches(packed_cifar, meta, (32,), batch_size=7, max_images=9))) == 2
