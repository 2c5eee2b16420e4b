"""Every command the README shows parses with its tool's own argument parser, and the numbers the
README states about the models are the library's."""
import importlib.util
import os
import re
import shlex

import pytest
from conftest import ROOT

README = open(os.path.join(ROOT, "README.md")).read()
COMMANDS = re.findall(r"^(?:\.venv/bin/)?python ((?:tools|onnx_export)/\w+\.py)([^\n#]*)", README, re.M)


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
