"""Small datasets written in the exact on-disk formats their publishers use."""
import io
import os
import pickle
import tarfile

from gluon_resnet.threads import use_all_cores

use_all_cores()  # as the tools do, before mxnet loads: the tests run at the tools' speed
import cv2  # noqa: E402
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_cifar_arrays(per_batch=12, test=20, seed=0):
    """Random but distinct 32x32 images: {batch name: (rows uint8 (N, 3072), labels)}."""
    rng = np.random.RandomState(seed)
    batches = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        batches[name] = (rng.randint(0, 256, size=(n, 3072)).astype(np.uint8), rng.randint(0, 10, size=n).tolist())
    return batches


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_cifar_python(path, batches):
    """Like cifar-10-python.tar.gz: cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}."""
    with tarfile.open(path, "w:gz") as tar:
        for name, (rows, labels) in batches.items():
            d = {"batch_label": f"{name} of 6", "labels": labels, "data": rows,
                 "filenames": [f"img_{i:05d}.png" for i in range(len(labels))]}
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps(d, protocol=2))
        meta = {"num_cases_per_batch": 10000, "label_names": CIFAR_CLASSES, "num_vis": 3072}
        _add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
    return str(path)


def write_cifar_binary(path, batches):
    """Like cifar-10-binary.tar.gz: <1 label byte><3072 pixel bytes> records in *.bin files."""
    with tarfile.open(path, "w:gz") as tar:
        for name, (rows, labels) in batches.items():
            recs = np.concatenate([np.array(labels, np.uint8)[:, None], rows], axis=1)
            _add(tar, f"cifar-10-batches-bin/{name}.bin", recs.tobytes())
        _add(tar, "cifar-10-batches-bin/batches.meta.txt", ("\n".join(CIFAR_CLASSES) + "\n\n").encode())
    return str(path)


def cifar_images(rows):
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


@pytest.fixture(scope="session")
def cifar_batches():
    return make_cifar_arrays()


@pytest.fixture(scope="session")
def cifar_tarball(tmp_path_factory, cifar_batches):
    return write_cifar_python(tmp_path_factory.mktemp("raw") / "cifar-10-python.tar.gz", cifar_batches)


MINI_CLASSES = ["/a/abbey", "/b/bamboo_forest", "/k/kitchen"]


def write_miniplaces(root, per_class=4, val=6, size=128, seed=0):
    """MIT's layout: images/{train,val}/..., development_kit/data/{categories,train,val}.txt."""
    rng = np.random.RandomState(seed)
    devkit = os.path.join(root, "development_kit", "data")
    os.makedirs(devkit)

    def jpeg(path):
        # Smooth images with colour structure, so that JPEG keeps them recognisable.
        base = rng.randint(0, 256, size=(4, 4, 3)).astype(np.uint8)
        img = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])

    with open(os.path.join(devkit, "categories.txt"), "w") as f:
        f.writelines(f"{c} {i}\n" for i, c in enumerate(MINI_CLASSES))
    with open(os.path.join(devkit, "train.txt"), "w") as f:
        for label, c in enumerate(MINI_CLASSES):
            for k in range(per_class):
                rel = f"train{c}/{k + 1:08d}.jpg"
                jpeg(os.path.join(root, "images", rel))
                f.write(f"{rel} {label}\n")
    with open(os.path.join(devkit, "val.txt"), "w") as f:
        for k in range(val):
            rel = f"val/{k + 1:08d}.jpg"
            jpeg(os.path.join(root, "images", rel))
            f.write(f"{rel} {k % len(MINI_CLASSES)}\n")
    return str(root)


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


