"""Small datasets written in the exact on-disk formats their publishers ship (CIFAR-10's python and
binary tarballs, MIT's Mini-Places2 tree), with random pixels: for the tests and the benchmarks, which
cannot download the real ones."""
import io
import os
import pickle
import tarfile

import numpy as np

from ..recipes import CIFAR10_CLASSES


def make_cifar_arrays(per_batch=12, test=20, seed=0):
    """Random but distinct 32x32 images: {batch name: (rows uint8 (N, 3072), labels)}."""
    rng = np.random.RandomState(seed)
    batches = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        batches[name] = (rng.randint(0, 256, size=(n, 3072)).astype(np.uint8), rng.randint(0, 10, size=n).tolist())
    return batches


def add_member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_cifar_python(path, batches):
    """Like cifar-10-python.tar.gz: cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}."""
    with tarfile.open(path, "w:gz") as tar:
        for name, (rows, labels) in batches.items():
            d = {"batch_label": f"{name} of 6", "labels": labels, "data": rows,
                 "filenames": [f"img_{i:05d}.png" for i in range(len(labels))]}
            add_member(tar, f"cifar-10-batches-py/{name}", pickle.dumps(d, protocol=2))
        meta = {"num_cases_per_batch": 10000, "label_names": CIFAR10_CLASSES, "num_vis": 3072}
        add_member(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
    return str(path)


def write_cifar_binary(path, batches):
    """Like cifar-10-binary.tar.gz: <1 label byte><3072 pixel bytes> records in *.bin files."""
    with tarfile.open(path, "w:gz") as tar:
        for name, (rows, labels) in batches.items():
            recs = np.concatenate([np.array(labels, np.uint8)[:, None], rows], axis=1)
            add_member(tar, f"cifar-10-batches-bin/{name}.bin", recs.tobytes())
        add_member(tar, "cifar-10-batches-bin/batches.meta.txt", ("\n".join(CIFAR10_CLASSES) + "\n\n").encode())
    return str(path)


def cifar_images(rows):
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


MINI_CLASSES = ["/a/abbey", "/b/bamboo_forest", "/k/kitchen"]


def write_miniplaces(root, per_class=4, val=6, size=128, seed=0):
    """MIT's layout: images/{train,val}/..., development_kit/data/{categories,train,val}.txt."""
    import cv2
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
