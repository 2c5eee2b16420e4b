"""The synthetic datasets follow the publishers' formats byte for byte where a format fixes the bytes."""
import pickle
import tarfile

import numpy as np

from gluon_resnet.data.synthetic import make_cifar_arrays, write_cifar_binary, write_cifar_python


def test_cifar_python_and_binary_layouts(tmp_path):
    batches = make_cifar_arrays(per_batch=3, test=2)
    with tarfile.open(write_cifar_python(tmp_path / "p.tar.gz", batches)) as tar:
        d = pickle.load(tar.extractfile("cifar-10-batches-py/data_batch_1"), encoding="latin1")
        meta = pickle.load(tar.extractfile("cifar-10-batches-py/batches.meta"), encoding="latin1")
    assert d["data"].dtype == np.uint8 and d["data"].shape == (3, 3072) and len(d["labels"]) == 3
    assert meta["label_names"][0] == "airplane" and len(meta["label_names"]) == 10
    with tarfile.open(write_cifar_binary(tmp_path / "b.tar.gz", batches)) as tar:
        raw = tar.extractfile("cifar-10-batches-bin/test_batch.bin").read()
    assert len(raw) == 2 * 3073 and raw[0] == batches["test_batch"][1][0]  # <label byte><3072 pixel bytes>
