"""Raw dataset readers: the publishers' formats, and what they say about broken or missing input."""
import os

import numpy as np
import pytest

from gluon_resnet.data.sources import read_cifar10, read_digits, read_miniplaces
from gluon_resnet.data.synthetic import write_cifar_python, write_miniplaces
from gluon_resnet.errors import UserError

from conftest import as_archives


def test_miniplaces_devkit_found_in_each_documented_place(tmp_path):
    import shutil
    root = write_miniplaces(tmp_path / "r", per_class=1, val=1)
    shutil.move(os.path.join(root, "development_kit", "data"), os.path.join(root, "data"))
    assert len(read_miniplaces(root).splits["train"]) == 3
    for f in os.listdir(os.path.join(root, "data")):
        shutil.move(os.path.join(root, "data", f), os.path.join(root, f))
    assert len(read_miniplaces(root).splits["val"]) == 1


def test_digits_is_embedded_and_stratified():
    import hashlib
    import re

    from gluon_resnet.data.sources import DIGITS_DIR
    named = re.search(r"sha256 `([0-9a-f]{64})`", open(os.path.join(DIGITS_DIR, "README.md")).read()).group(1)
    assert hashlib.sha256(open(os.path.join(DIGITS_DIR, "optdigits.csv.gz"), "rb").read()).hexdigest() == named
    source = read_digits()
    train, val = source.splits["train"], source.splits["val"]
    assert len(train) + len(val) == 1797 and abs(len(val) / 1797 - 0.2) < 0.01
    counts = np.bincount([i.label for i in val], minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # ~36 of each digit
    assert train[0].payload.shape == (32, 32, 3) and train[0].payload.dtype == np.uint8


def test_missing_default_source_says_where_to_get_it(tmp_path):
    with pytest.raises(UserError, match=r"cifar-10-python.tar.gz.*--dataset digits"):
        read_cifar10(str(tmp_path / "data/raw/cifar-10-python.tar.gz"))


def test_truncated_archive(tmp_path, cifar_tarball):
    bad = tmp_path / "cifar-10-python.tar.gz"
    data = open(cifar_tarball, "rb").read()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt or truncated.*download it again"):
        read_cifar10(str(bad))


def test_garbled_pickle_names_the_member(tmp_path, cifar_batches):
    import tarfile

    from gluon_resnet.data.synthetic import add_member as _add
    good = write_cifar_python(tmp_path / "good.tar.gz", cifar_batches)
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(good) as src, tarfile.open(bad, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            _add(dst, m.name, data[:100] if m.name.endswith("data_batch_3") else data)
    with pytest.raises(UserError, match="data_batch_3 is not a readable pickle"):
        read_cifar10(str(bad))


def test_cifar_label_out_of_range(tmp_path, cifar_batches):
    batches = dict(cifar_batches)
    rows, labels = batches["test_batch"]
    batches["test_batch"] = (rows, labels[:4] + [12] + labels[5:])
    with pytest.raises(UserError, match="test_batch: record 4 has label 12, outside 0-9"):
        read_cifar10(write_cifar_python(tmp_path / "c.tar.gz", batches))


def _edit_list(root, name, fn):
    path = os.path.join(root, "development_kit", "data", name)
    lines = open(path).read().splitlines()
    open(path, "w").write("\n".join(fn(lines)) + "\n")


def test_miniplaces_label_out_of_range(miniplaces_root):
    _edit_list(miniplaces_root, "val.txt", lambda ls: ls[:2] + [ls[2].split()[0] + " 100"] + ls[3:])
    with pytest.raises(UserError, match=r"val.txt line 3: label 100 outside 0-2"):
        read_miniplaces(miniplaces_root)


def test_miniplaces_list_points_at_missing_file(miniplaces_root):
    _edit_list(miniplaces_root, "train.txt", lambda ls: ["train/a/abbey/99999999.jpg 0"] + ls)
    with pytest.raises(UserError, match=r"train.txt line 1: .*99999999.jpg does not exist"):
        read_miniplaces(miniplaces_root)


def test_miniplaces_archive_list_names_a_missing_image(miniplaces_root, tmp_path):
    _edit_list(miniplaces_root, "val.txt", lambda ls: ls + ["val/00000099.jpg 1"])
    with pytest.raises(UserError, match=r"val.txt line 7: .*data.tar.gz:images/val/00000099.jpg does not exist"):
        read_miniplaces(as_archives(miniplaces_root, tmp_path / "mp"))
