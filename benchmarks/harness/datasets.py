"""What the rows read, made once in the cache: synthetic CIFAR-10 and Mini-Places2 archives in their official
formats, the digits as a full-size CIFAR-10, and a trained, exported ResNet-20."""
import os

from gluon_resnet.data.dataset import META_FILE

from .protocol import measure


def data_paths(cache, epoch_images):
    paths = {k: os.path.join(cache, k) for k in ("cifar", "miniplaces", "digits", "run", "scratch")}
    return {**paths, "full": os.path.join(cache, f"digits-as-cifar10-{epoch_images}")}


def digits_as_cifar(train_images):
    """The embedded digits (real handwriting, scaled to 32x32) repeated to `train_images` training and a
    fifth as many test images, as CIFAR-10's python batches: a full-size epoch of real pictures."""
    import numpy as np

    from gluon_resnet.data.sources import read_digits
    src = read_digits()

    def repeated(items, count):
        idx = np.arange(count) % len(items)
        rows = np.stack([items[i].payload.transpose(2, 0, 1).reshape(-1) for i in idx])
        return rows, [items[i].label for i in idx]
    rows, labels = repeated(src.splits["train"], train_images)
    per = -(-train_images // 5)
    batches = {f"data_batch_{i + 1}": (rows[i * per:(i + 1) * per], labels[i * per:(i + 1) * per]) for i in range(5)}
    return {**batches, "test_batch": repeated(src.splits["val"], max(1, train_images // 5))}


def prepare(data, quick, rows, epoch_images):
    """What the chosen rows read: synthetic CIFAR-10 and Mini-Places2 archives in their official formats,
    packed; the digits as a full-size CIFAR-10 (digits_as_cifar); a ResNet-20 trained on the digits and
    exported to ONNX and INT8 for the inference rows."""
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_cifar10, read_digits, read_miniplaces
    from gluon_resnet.data.synthetic import make_cifar_arrays, write_cifar_python, write_miniplaces
    cache = os.path.dirname(data["cifar"])
    os.makedirs(cache, exist_ok=True)
    used = {v for row in rows if row.spec for v in row.spec["args"].values() if isinstance(v, str)}
    raw = raw_export(data["run"])
    if data["cifar"] in used and not os.path.exists(os.path.join(data["cifar"], META_FILE)):
        per_batch = 512 if quick else 2000
        tar = write_cifar_python(os.path.join(cache, "cifar-10-python.tar.gz"), make_cifar_arrays(per_batch, 100))
        pack(read_cifar10(tar), "cifar10", data["cifar"], workers=2, progress=False)
    if data["miniplaces"] in used and not os.path.exists(os.path.join(data["miniplaces"], META_FILE)):
        root = write_miniplaces(os.path.join(cache, "miniplaces-raw"), per_class=200 if quick else 600, val=10)
        pack(read_miniplaces(root), "miniplaces", data["miniplaces"], workers=2, progress=False)
    if data["full"] in used and not os.path.exists(os.path.join(data["full"], META_FILE)):
        tar = write_cifar_python(os.path.join(cache, "digits-cifar-10-python.tar.gz"), digits_as_cifar(epoch_images))
        pack(read_cifar10(tar), "cifar10", data["full"], workers=2, progress=False)
    if data["run"] in used and not os.path.exists(raw):
        pack(read_digits(), "digits", data["digits"], workers=1, force=True, progress=False)
        measure({"kind": "trained_run", "args": {"data_dir": data["digits"], "save_dir": data["run"]}}, check=True)
    return data


def raw_export(save_dir):
    """The converter's graph as it comes (every weight also a graph input, BatchNorm unfolded), beside the run."""
    return os.path.join(save_dir, "raw.onnx")
