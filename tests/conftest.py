"""Fixtures: small datasets written in the exact on-disk formats their publishers use, packed and
trained on."""
import os

from gluon_resnet.threads import use_all_cores

use_all_cores()  # as the tools do, before mxnet loads: the tests run at the tools' speed
import cv2  # noqa: E402
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gluon_resnet.synthetic import make_cifar_arrays, write_cifar_python, write_miniplaces  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def cifar_batches():
    return make_cifar_arrays()


@pytest.fixture(scope="session")
def cifar_tarball(tmp_path_factory, cifar_batches):
    return write_cifar_python(tmp_path_factory.mktemp("raw") / "cifar-10-python.tar.gz", cifar_batches)


@pytest.fixture
def miniplaces_root(tmp_path):
    return write_miniplaces(tmp_path / "miniplaces")


@pytest.fixture(scope="session")
def packed_cifar(tmp_path_factory, cifar_tarball):
    """The small CIFAR tarball packed with neon's defaults (pad 4, mean mode)."""
    from gluon_resnet.packing import pack
    from gluon_resnet.sources import read_cifar10
    out = str(tmp_path_factory.mktemp("packed") / "cifar10")
    pack(read_cifar10(cifar_tarball), "cifar10", out, progress=False)
    return out


@pytest.fixture(scope="session")
def miniplaces_raw(tmp_path_factory):
    """A read-only Mini-Places2 tree shared by the session (tests that alter one use miniplaces_root)."""
    return write_miniplaces(tmp_path_factory.mktemp("raw") / "miniplaces")


@pytest.fixture(scope="session")
def packed_miniplaces(tmp_path_factory, miniplaces_raw):
    from gluon_resnet.packing import pack
    from gluon_resnet.sources import read_miniplaces
    root = miniplaces_raw
    out = str(tmp_path_factory.mktemp("packed") / "miniplaces")
    pack(read_miniplaces(root), "miniplaces", out, pad=0, keep_bytes=True, progress=False)
    return out


@pytest.fixture(scope="session")
def packed_digits(tmp_path_factory):
    """The embedded digits dataset, packed as `make demo` packs it."""
    from gluon_resnet.packing import pack
    from gluon_resnet.sources import read_digits
    out = str(tmp_path_factory.mktemp("packed") / "digits")
    pack(read_digits(), "digits", out, progress=False)
    return out


def train_args(*argv):
    """tools/train.py's arguments, parsed by its parser, for in-process runs."""
    from gluon_resnet.options import train_parser
    return train_parser().parse_args([str(a) for a in argv])


def _train(data_dir, save_dir, *extra):
    from gluon_resnet.training import fit
    fit(train_args("--data-dir", data_dir, "--n", 1, "--batch-size", 4, "--num-epochs", 2, "--save-dir", save_dir,
                   *extra))
    return str(save_dir)


@pytest.fixture(scope="session")
def cifar_run(tmp_path_factory, packed_cifar):
    """A ResNet-8 trained for two epochs on the small CIFAR pack."""
    return _train(packed_cifar, tmp_path_factory.mktemp("runs") / "cifar10-resnet8")


@pytest.fixture(scope="session")
def miniplaces_run(tmp_path_factory, packed_miniplaces):
    """A Mini-Places2 ResNet-10 trained for two epochs on the small Mini-Places2 pack."""
    return _train(packed_miniplaces, tmp_path_factory.mktemp("runs") / "miniplaces-resnet10")


def read_records(out, split):
    """(labels, decoded RGB images, raw payload bytes) of a packed split, in record order."""
    rec = mx.recordio.MXIndexedRecordIO(os.path.join(out, f"{split}.idx"), os.path.join(out, f"{split}.rec"), "r")
    labels, images, raw = [], [], []
    for k in rec.keys:
        header, buf = mx.recordio.unpack(rec.read_idx(k))
        labels.append(int(header.label))
        raw.append(buf)
        images.append(cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1])
    rec.close()
    return labels, images, raw


def as_archives(root, dest):
    """MIT's two downloads, made from an extracted tree: dest/data.tar.gz, dest/development_kit.tar.gz."""
    import tarfile
    dest.mkdir()
    for archive, folder in (("data.tar.gz", "images"), ("development_kit.tar.gz", "development_kit")):
        with tarfile.open(dest / archive, "w:gz") as t:
            t.add(os.path.join(root, folder), arcname=folder)
    return str(dest)


