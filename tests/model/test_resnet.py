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


_STATIC_STEP = """
import numpy as np
from gluon_resnet import get_model
from gluon_resnet.compat import mx
net = get_model("cifar10", 1)
net.hybridize(static_alloc=True, static_shape=True)
trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
x, y = mx.nd.random.normal(shape=(32, 3, 32, 32)), mx.nd.array(np.arange(32) % 10)
for _ in range(2):
    with mx.autograd.record():
        loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()
    trainer.step(32)
mx.nd.waitall()
"""


TRAINED_OPS = ("batch_normalization", "pooling_v2", "convolution", "eltwise")


def test_static_graph_training_step_runs_no_onednn_reference_kernel():
    """DNNL_VERBOSE names every oneDNN kernel a hybridized training step runs: the pooling, BatchNorm,
    convolution and ReLU backward all find optimized ones (without GlobalAvgPool's reshape, the pooling's
    gradient gets the layout acdB16b on AVX-512, and two of them fall to `ref:any`, 10x slower)."""
    import os
    import subprocess
    import sys
    env = {**os.environ, "DNNL_VERBOSE": "1", "MXNET_EXEC_BULK_EXEC_TRAIN": "0", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _STATIC_STEP], env=env, capture_output=True, text=True, check=True)
    kernels = [line.split(",")[3:6] for line in out.stdout.splitlines() if line.startswith("dnnl_verbose,exec")]
    assert {"batch_normalization", "pooling_v2", "convolution"} <= {k[0] for k in kernels}
    assert ["pooling_v2", "backward_data"] in [[k[0], k[2]] for k in kernels]
    slow = sorted({",".join(k) for k in kernels if k[1].startswith("ref") and k[0] in TRAINED_OPS})
    assert not slow, slow


def test_the_exported_graph_leaves_the_pooling_reshape_out(tmp_path):
    """GlobalAvgPool's identity reshape is for MXNet only: the portable ONNX graph pools the last ReLU."""
    import onnx

    from gluon_resnet.deploy.onnx_graph import portable
    from gluon_resnet.deploy.onnx_io import convert
    from gluon_resnet.runs.folder import export_hybridized
    export_hybridized(get_model("cifar10", 1), 32, str(tmp_path / "m"))
    raw = convert(str(tmp_path / "m"), 32)
    assert "Reshape" in [n.op_type for n in raw.graph.node]
    model = portable(raw, "out", 10)
    ops = [n.op_type for n in model.graph.node]
    assert "Reshape" not in ops and ops[-4:] == ["Relu", "GlobalAveragePool", "Flatten", "Gemm"]
    onnx.checker.check_model(model)
