"""Reading neon's own model files (tests/fixtures/neon, made by neon 1.2.1 and 2.6): the network and n from the
layer tree, the parameters in Gluon's layout, and one NeonFileError line for every file it cannot import."""
import copy
import os
import pickle

import numpy as np
import pytest

from gluon_resnet.model import neon

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "neon")
V1 = os.path.join(FIXTURES, "resnet20-neon1.2.1-float32")
V2 = os.path.join(FIXTURES, "resnet8-neon2.6-float64")
MP = os.path.join(FIXTURES, "miniplaces10-neon2.6-float32")


@pytest.mark.parametrize("path, family, n, classes, version, dtype, states", [
    (f"{V1}/after3.prm", "cifar", 3, 10, "1.2.1+c460e6c", "float32", True),
    (f"{V2}/init.prm", "cifar", 1, 10, "2.6.0", "float64", False),   # 2.6 keeps no states before an update
    (f"{V2}/step1.prm", "cifar", 1, 10, "2.6.0", "float64", True),
    (f"{MP}/after3_nostates.prm", "miniplaces", 1, 100, "2.6.0", "float32", False),
])
def test_the_network_and_n_come_from_the_layer_tree(path, family, n, classes, version, dtype, states):
    m = neon.read(path)
    assert (m.family, m.n, m.classes, m.neon_version, m.dtype) == (family, n, classes, version, dtype)
    assert (m.momentum is not None) == states
    stages = 3 if family == "cifar" else 4
    convs = [a for kind, a in m.params if kind == "conv_weight"]
    assert len(convs) == 1 + 2 * stages * n  # the option-A shortcuts own no parameter
    assert len(m.trained) == len(convs) * 3 + 3  # conv + its BatchNorm's gamma and beta; linear + BatchNorm
    assert m.optimizer == {"lr": 0.1, "mom": 0.9, "wd": 1e-4, "lr_step_epochs": (90.0, 135.0), "lr_factor": 0.1}


def test_weights_are_in_gluons_layout_and_bgr_reverses_the_first_filters():
    raw = pickle.load(open(f"{V1}/after3.prm", "rb"), encoding="latin1")
    w = raw["model"]["config"]["layers"][0]["params"]["W"]          # (C·R·S, K) = (27, 16)
    rgb, bgr = neon.read(f"{V1}/after3.prm", "rgb"), neon.read(f"{V1}/after3.prm", "bgr")
    g = rgb.params[0][1]
    assert g.shape == (16, 3, 3, 3)
    assert g[5, 2, 1, 0] == w[2 * 9 + 1 * 3 + 0, 5]                   # W[c·9 + r·3 + s, k] = Gluon[k, c, r, s]
    np.testing.assert_array_equal(bgr.params[0][1], g[:, ::-1])
    np.testing.assert_array_equal(bgr.params[1][1], rgb.params[1][1])  # only the first convolution changes
    # neon's BatchNorm states are [[v_beta], [v_gamma]]: the port lists gamma's velocity first
    bn = raw["model"]["config"]["layers"][1]
    assert np.array_equal(rgb.momentum[1], np.ravel(bn["states"][1][0]))
    assert np.array_equal(rgb.momentum[2], np.ravel(bn["states"][0][0]))


def _dump(tmp_path, d, name="bad.prm"):
    path = tmp_path / name
    with open(path, "wb") as f:
        pickle.dump(d, f, 2)
    return str(path)


def _units(d):
    return [l for l in d["model"]["config"]["layers"] if l["type"].endswith("MergeSum")]


@pytest.fixture(scope="module")
def v1_dict():
    with open(f"{V1}/after3.prm", "rb") as f:
        return pickle.load(f, encoding="latin1")


def _bad(tmp_path, v1_dict, change):
    d = copy.deepcopy(v1_dict)
    change(d)
    with pytest.raises(neon.NeonFileError) as e:
        neon.read(_dump(tmp_path, d))
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_network_that_is_not_the_zoos_names_the_first_layer_that_differs(tmp_path, v1_dict):
    def drop_a_batchnorm(d):
        main = _units(d)[4]["config"]["layers"][0]["config"]["layers"]
        del main[1]
    msg = _bad(tmp_path, v1_dict, drop_a_batchnorm)
    assert "not the zoo's CIFAR-10 ResNet-20: layer MergeSum_4 / Sequential_8 / Convolution_10_Rectlin" in msg
    assert "a BatchNorm of 32 channels" in msg

    def wider_stem(d):
        d["model"]["config"]["layers"][0]["config"]["fshape"] = (5, 5, 16)
    assert "Convolution_0" in _bad(tmp_path, v1_dict, wider_stem)

    def one_unit_less(d):
        layers = d["model"]["config"]["layers"]
        i = max(k for k, l in enumerate(layers) if l["type"].endswith("MergeSum"))
        del layers[i:i + 2]
    msg = _bad(tmp_path, v1_dict, one_unit_less)
    assert "Pooling_0" in msg and "residual unit" in msg


def test_layer_types_versions_and_values_it_does_not_know_are_refused(tmp_path, v1_dict):
    def dropout(d):
        d["model"]["config"]["layers"].insert(3, {"type": "neon.layers.layer.Dropout", "config": {"name": "Dropout_0"}})
    assert "Dropout_0 is of type neon.layers.layer.Dropout" in _bad(tmp_path, v1_dict, dropout)

    def version(d):
        d["neon_version"] = "3.0.0"
    assert "neon 3.0.0" in _bad(tmp_path, v1_dict, version)

    def nan(d):
        _units(d)[2]["config"]["layers"][0]["config"]["layers"][0]["params"]["W"][3, 4] = np.nan
    msg = _bad(tmp_path, v1_dict, nan)
    assert "Convolution_5" in msg and "NaN or Inf" in msg

    def not_identity(d):
        side = _units(d)[3]["config"]["layers"][1]["config"]["layers"][0]
        side["params"]["W"][0, 0] = 0.5
    msg = _bad(tmp_path, v1_dict, not_identity)
    assert "Convolution_9" in msg and "[eye | 0]" in msg

    def adam(d):
        d["optimizer"]["type"] = "neon.optimizers.optimizer.Adam"
    assert "Adam" in _bad(tmp_path, v1_dict, adam)


def test_damaged_files_get_one_line(tmp_path):
    data = open(f"{V1}/after3.prm", "rb").read()
    cut = tmp_path / "cut.prm"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(neon.NeonFileError, match="cut short"):
        neon.read(str(cut))
    png = tmp_path / "image.prm"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(neon.NeonFileError, match="not a neon model file"):
        neon.read(str(png))
    other = _dump(tmp_path, {"weights": [1, 2]}, "other.pkl")
    with pytest.raises(neon.NeonFileError, match="not a neon model file"):
        neon.read(other)


def test_a_pickle_naming_other_classes_is_refused_before_it_runs(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "ran"),))
    path = tmp_path / "evil.prm"
    path.write_bytes(pickle.dumps({"neon_version": "2.6.0", "model": Evil()}, 2))
    with pytest.raises(neon.NeonFileError, match="posix.system|os.system"):
        neon.read(str(path))
    assert not (tmp_path / "ran").exists()


def test_neon_1_2_0_residual_modules_are_read_like_mergesums(tmp_path, v1_dict):
    """The layout neon 1.2.0's ResidualModule.get_description writes (its source, tag v1.2.0): the main path as
    its only layer, the shortcut as a `projection` initializer (None or IdentityInit), never saved as weights."""
    d = copy.deepcopy(v1_dict)
    for unit in _units(d):
        main, side = unit["config"]["layers"]
        identity = side["config"]["layers"][0]["type"].endswith("Convolution")
        unit["type"] = "neon.layers.container.ResidualModule"
        unit["config"] = {"name": unit["config"]["name"], "layers": [main],
                          "projection": {"type": "neon.initializers.initializer.IdentityInit", "config": {}}
                          if identity else None}
    m, ref = neon.read(_dump(tmp_path, d)), neon.read(f"{V1}/after3.prm")
    assert (m.family, m.n) == ("cifar", 3)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(m.params, ref.params))
