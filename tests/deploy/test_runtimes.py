"""Every installed runtime runs the export and agrees with MXNet, at two sizes and batch sizes."""
import numpy as np
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.deploy import onnx_io, runtimes
from gluon_resnet.runs.folder import Run

CASES = [("cifar_run", (32, 40, 48), 10), ("miniplaces_run", (112, 128, 160, 240), 3)]
INSTALLED = [r for r in runtimes.RUNTIMES if r != "openvino-bf16" and runtimes.installed(r)]


@pytest.mark.parametrize("runtime", INSTALLED)
@pytest.mark.parametrize("run,sizes,classes", CASES)
def test_every_runtime_agrees_with_mxnet_at_two_sizes(runtime, run, sizes, classes, request):
    save_dir = request.getfixturevalue(run)
    path = onnx_io.export(save_dir)
    predict = runtimes.load(runtime, path)
    net, _ = Run(save_dir).load_model("final")
    net.hybridize()
    rng = np.random.RandomState(0)
    for size, batch in ((sizes[0], 1), (sizes[-1], 3)):
        x = (rng.uniform(0, 255, (batch, 3, size, size)) - 120).astype(np.float32)
        ref, got = net(mx.nd.array(x)).asnumpy(), predict(x)
        assert got.shape == (batch, classes)
        assert np.abs(got - ref).max() / np.abs(ref).max() < 1e-4, runtime
        assert (got.argmax(1) == ref.argmax(1)).all()


def test_runtime_names_are_checked():
    from gluon_resnet.errors import UserError
    assert runtimes.parse("onnxruntime, opencv") == ["onnxruntime", "opencv"]
    assert runtimes.parse(None) == ["onnxruntime", "openvino", "opencv"]
    assert runtimes.parse(None, int8=True) == ["onnxruntime", "openvino"]
    with pytest.raises(UserError, match="--runtime tensorrt is not one of"):
        runtimes.parse("tensorrt")
