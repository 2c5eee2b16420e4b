import numpy as np
import pytest

from gluon_resnet import get_model
from gluon_resnet.compat import mx
from gluon_resnet.model.resnet import ResidualBlock, ZeroPadShortcut, init_params


def _forward(net, size, batch=2, seed=0):
    mx.random.seed(seed)
    return net(mx.nd.random.normal(shape=(batch, 3, size, size))).asnumpy()


def test_option_a_shortcut_is_strided_zero_padded_input():
    x = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6)
    block = ZeroPadShortcut(3, 5, 2)
    block.initialize()
    out = block(mx.nd.array(x)).asnumpy()
    expected = np.concatenate([x[:, :, ::2, ::2], np.zeros((2, 2, 3, 3), np.float32)], axis=1)
    np.testing.assert_array_equal(out, expected)
    assert len(block.collect_params().keys()) == 0


def test_option_a_shortcut_rejects_more_than_doubling():
    with pytest.raises(ValueError, match="at most 6"):
        ZeroPadShortcut(3, 7, 2)


def test_residual_block_matches_its_definition():
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)) computed by hand from the block's parts."""
    block = ResidualBlock(4, 8, stride=2)
    block.initialize(mx.init.Normal(0.5))
    x = mx.nd.random.uniform(-1, 1, shape=(2, 4, 8, 8))
    with mx.autograd.predict_mode():
        out = block(x)
        body = x
        for layer in block.body:
            body = layer(body)
        expected = mx.nd.relu(body + block.shortcut(x))
    np.testing.assert_allclose(out.asnumpy(), expected.asnumpy(), rtol=1e-6)
    assert out.shape == (2, 8, 4, 4)


def test_option_b_owns_trainable_projection():
    a, b = get_model("cifar10", 3), get_model("cifar10", 3, shortcut="B")
    from gluon_resnet import count_parameters

    # Two projections: 16->32 and 32->64, each a 1x1 conv plus BN gamma/beta.
    assert count_parameters(b) - count_parameters(a) == 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64


@pytest.mark.parametrize("dataset,n,sizes,classes", [
    ("cifar10", 3, (32, 40, 48), 10),
    ("miniplaces", 1, (112, 128, 160, 240), 100),
])
def test_hybrid_equals_imperative_and_export_roundtrip(tmp_path, dataset, n, sizes, classes):
    net = get_model(dataset, n)
    imperative = {s: _forward(net, s) for s in sizes}
    assert all(v.shape == (2, classes) for v in imperative.values())
    net.hybridize()
    for s in sizes:
        np.testing.assert_allclose(_forward(net, s), imperative[s], rtol=1e-5, atol=1e-5)
    net.export(str(tmp_path / "m"), epoch=0)
    loaded = mx.gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"], str(tmp_path / "m-0000.params"))
    for s in sizes:
        np.testing.assert_allclose(_forward(loaded, s), imperative[s], rtol=1e-5, atol=1e-5)


def test_every_batchnorm_follows_neon():
    from gluon_resnet.compat import mx
    nn = mx.gluon.nn

    from gluon_resnet.model.summary import _blocks
    bns = [b for b in _blocks(get_model("cifar10", 3)) if isinstance(b, nn.BatchNorm)]
    assert len(bns) == 20  # stem, two per block, the head's
    assert all(b._kwargs["eps"] == 1e-3 and b._kwargs["momentum"] == 0.9 for b in bns)  # Gluon: 1e-5, 0.9


def test_option_b_is_gluoncv_cifar_resnet20_v1_plus_neons_final_batchnorm(monkeypatch):
    """The same layers, in the same order and shapes, as GluonCV's cifar_resnet20_v1; neon's head adds a
    BatchNorm(10) after a linear layer without bias (GluonCV's Dense has one)."""
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)  # GluonCV 0.10.5 refuses to import beside torch >= 2
    from gluoncv.model_zoo import get_model as gluoncv_model
    ours = get_model("cifar10", 3, shortcut="B")
    theirs = gluoncv_model("cifar_resnet20_v1", classes=10)
    theirs.initialize()
    theirs(mx.nd.zeros((1, 3, 32, 32)))
    shapes = lambda net: [p.shape for p in net.collect_params().values()]  # noqa: E731
    ours_shapes, theirs_shapes = shapes(ours), shapes(theirs)
    assert theirs_shapes[-2:] == [(10, 64), (10,)]          # Dense weight and bias
    assert ours_shapes[-5:] == [(10, 64), (10,), (10,), (10,), (10,)]  # Dense without bias, BatchNorm(10)
    assert ours_shapes[:-5] == theirs_shapes[:-2]


def test_init_is_kaiming_gaussian_over_fan_in():
    net = init_params(get_model("cifar10", 3, initialize=False))
    # Last stage conv: 64 x 64 x 3 x 3 = 36,864 weights, fan_in = 576.
    w = net.features[-2][-1].body[3].weight.data().asnumpy()
    assert w.shape == (64, 64, 3, 3)
    assert abs(w.std() / np.sqrt(2 / 576) - 1) < 0.1
    assert abs(w.mean()) < 0.1 * np.sqrt(2 / 576)
    dense = net.output[0].weight.data().asnumpy()
    assert dense.shape == (10, 64) and net.output[0].bias is None


def test_miniplaces_feature_map_sizes():
    net = get_model("miniplaces", 1)
    x = mx.nd.zeros((1, 3, 112, 112))
    sizes = []
    for layer in net.features:
        x = layer(x)
        sizes.append(x.shape[1:])
    assert sizes[2] == (32, 56, 56)
    assert sizes[3:7] == [(32, 56, 56), (64, 28, 28), (128, 14, 14), (256, 7, 7)]


def test_get_model_rejects_bad_arguments():
    with pytest.raises(ValueError, match="shortcut"):
        get_model("cifar10", 3, shortcut="C")
    with pytest.raises(ValueError, match="n"):
        get_model("cifar10", 0)
