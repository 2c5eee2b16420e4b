"""Every command the README and docs/ show parses with its tool's own argument parser, the numbers the
README states about the models are the library's, and the predict snippet runs."""
import importlib.util
import os
import re
import shlex

import pytest

from conftest import ROOT

README = open(os.path.join(ROOT, "README.md")).read()
DOCS = {name: open(os.path.join(ROOT, "docs", name)).read() for name in sorted(os.listdir(os.path.join(ROOT, "docs")))
        if name.endswith(".md")}
COMMANDS = sorted({c for text in [README, *DOCS.values()]
                   for c in re.findall(r"^(?:\.venv/bin/)?python ((?:tools|onnx_export)/\w+\.py)([^\n#]*)", text, re.M)})


def _tool(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_shows_the_commands():
    tools = {path for path, _ in COMMANDS}
    assert {"tools/im2rec_pack.py", "tools/train.py", "tools/evaluate.py", "onnx_export/verify.py"} <= tools


@pytest.mark.parametrize("path,args", COMMANDS, ids=[f"{p} {a.strip()}" for p, a in COMMANDS])
def test_readme_command_parses(path, args):
    parsed = _tool(path).parse_args(shlex.split(args))  # argparse exits (SystemExit) on a bad option
    if path == "tools/launch.py":  # the worker command after -- goes through its own tool's parser
        worker = parsed.command
        assert worker[0].endswith("python") and worker[1].endswith(".py"), worker
        _tool(worker[1].replace(".venv/bin/", "")).parse_args(worker[2:])


def test_readme_is_a_few_screens_and_links_every_doc():
    assert len(README.encode()) <= 12 * 1024
    for name in DOCS:
        assert f"docs/{name}" in README, name


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert re.search(r"^make demo\b", first_block, re.M) and re.search(r"^make test\b", first_block, re.M)
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert "make test" in ci


def test_readme_parameter_counts_are_the_models():
    from gluon_resnet import count_parameters, get_model
    for n in (3, 5, 9, 18):
        assert f"{count_parameters(get_model('cifar10', n)):,}" in README
    assert f"{count_parameters(get_model('miniplaces', 9)):,}" in README


def test_readme_predict_snippet_runs_and_agrees_with_predict_py(cifar_run, tmp_path):
    """The ten lines a user pastes into a service give predict.py's probabilities on a square image."""
    import contextlib
    import io

    import cv2
    import numpy as np

    from gluon_resnet.deploy import onnx_io
    snippet = next(b for b in DOCS["deployment.md"].split("```python")[1:] if "custom_metadata_map" in b).split("```")[0]
    model = onnx_io.export(cifar_run)
    image = str(tmp_path / "photo.png")
    cv2.imwrite(image, np.random.RandomState(0).randint(0, 256, (32, 32, 3)).astype(np.uint8))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(snippet.replace('"model.onnx"', repr(model)).replace('"photo.png"', repr(image)), {})
    top5 = eval(out.getvalue())
    predict = _tool("onnx_export/predict.py")
    clf = predict.Classifier(model)
    probs = clf.probabilities(clf.read(image))
    assert [c for c, _ in top5] == [clf.classes[i] for i in np.argsort(-probs)[:5]]
    assert [p for _, p in top5] == [round(float(probs[i]), 4) for i in np.argsort(-probs)[:5]]
