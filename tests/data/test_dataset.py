"""dataset.json as a typed record, and what read_meta says about a folder that is no packed dataset."""
import json
import os

import pytest

from gluon_resnet.data.dataset import DatasetMeta, read_meta
from gluon_resnet.errors import UserError


def test_read_meta_explains_unpacked_folder(tmp_path):
    with pytest.raises(UserError, match="not a packed dataset.*im2rec_pack.py"):
        read_meta(str(tmp_path))
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        read_meta(str(tmp_path))





def test_meta_round_trips_and_ignores_unknown_keys(packed_cifar, tmp_path):
    meta = read_meta(packed_cifar)
    raw = json.load(open(os.path.join(packed_cifar, "dataset.json")))
    assert meta.to_dict() == raw and meta.num_classes == raw["num_classes"] == 10
    assert DatasetMeta.from_dict({**raw, "seconds": 1.5}) == meta
    assert meta.recipe.lr_step_epochs == (90, 135)
