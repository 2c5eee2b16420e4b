"""onnx_export/predict.py, the file a consumer copies: metadata-only preprocessing that matches
verify.py's pixel for pixel, top-5 per file, bad files named while the others still run."""
import importlib.util
import os
import subprocess
import sys

import cv2
import numpy as np
import onnx
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.data.dataset import read_meta
from gluon_resnet.data.iterators import at_scale
from gluon_resnet.deploy import onnx_io
from gluon_resnet.runs.folder import Run

from conftest import ROOT

PREDICT = os.path.join(ROOT, "onnx_export", "predict.py")


def _module():
    spec = importlib.util.spec_from_file_location("predict", PREDICT)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


@pytest.fixture(scope="module")
def model(cifar_run):
    return onnx_io.export(cifar_run)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A PNG at the training size, a JPEG larger and not square, a grayscale PNG."""
    d = tmp_path_factory.mktemp("images")
    rng = np.random.RandomState(3)
    paths = {"square.png": rng.randint(0, 256, (32, 32, 3)), "wide.jpg": rng.randint(0, 256, (45, 70, 3)),
             "gray.png": rng.randint(0, 256, (50, 41))}
    for name, img in paths.items():
        cv2.imwrite(str(d / name), img.astype(np.uint8))
    return {k: str(d / k) for k in paths}


def test_preprocessing_matches_verify_pixel_for_pixel(model, images, cifar_run):
    clf = _module().Classifier(model)
    meta = read_meta(Run(cifar_run).last_checkpoint().data_dir)
    mean = np.array(meta.mean_rgb, np.float32).reshape(1, 3, 1, 1)
    for path in images.values():
        ours = clf.read(path)
        theirs = mx.image.imdecode(open(path, "rb").read())  # what multiscale_batches decodes with
        np.testing.assert_array_equal(ours, theirs.asnumpy())
        for scale in clf.scales:
            expected = at_scale(theirs, scale).asnumpy().transpose(2, 0, 1)[None].astype(np.float32) - mean
            np.testing.assert_array_equal(clf.preprocess(ours, scale), expected)


def test_prints_top5_per_file_and_names_the_bad_one(model, images, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    r = subprocess.run([sys.executable, PREDICT, model, images["square.png"], str(bad), images["wide.jpg"],
                        "--multiscale"], capture_output=True, text=True)
    assert r.returncode == 1  # one file failed; the others were still predicted
    out = r.stdout.strip().splitlines()
    assert [line.split()[0] for line in out] == [images["square.png"], images["wide.jpg"]]
    classes = onnx_io.read_props(model)["classes"]
    for line in out:
        fields = line.split()[1:]
        assert len(fields) == 10 and all(c in classes for c in fields[::2])
        probs = [float(p) for p in fields[1::2]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert f"{bad} does not decode as an image" in r.stderr and "Traceback" not in r.stderr


def test_matches_the_runtime_on_the_same_pixels(model, images):
    m = _module()
    clf = m.Classifier(model)
    img = clf.read(images["wide.jpg"])
    import onnxruntime as ort
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"data": clf.preprocess(img, clf.size)})[0][0]
    e = np.exp(logits - logits.max())
    np.testing.assert_allclose(clf.probabilities(img), e / e.sum(), rtol=1e-6)


def test_imports_no_mxnet(model, images):
    code = (f"import runpy, sys; sys.argv = ['predict', {model!r}, {images['square.png']!r}]\n"
            f"try:\n    runpy.run_path({PREDICT!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in ('mxnet', 'gluon_resnet')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]" and "square.png" in r.stdout


@pytest.mark.parametrize("content,message", [(b"junk" * 10, "is not a loadable ONNX model"),
                                              (None, "was not exported by gluon-resnet")])
def test_bad_model_is_one_line(model, images, tmp_path, content, message):
    path = tmp_path / "m.onnx"
    if content is None:
        m = onnx.load(model)
        del m.metadata_props[:]
        onnx.save(m, str(path))
    else:
        path.write_bytes(content)
    r = subprocess.run([sys.executable, PREDICT, str(path), images["square.png"]], capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_missing_file_or_a_folder_is_named_for_what_it_is(model, images, tmp_path):
    missing = tmp_path / "missing.png"
    r = subprocess.run([sys.executable, PREDICT, model, str(missing), str(tmp_path), images["square.png"]],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout.split()[0] == images["square.png"]
    assert r.stderr.splitlines() == [f"error: {missing} does not exist",
                                     f"error: {tmp_path} is a folder, not an image file"]  # no OpenCV WARN line
