"""tools/train.py's options: MXNet fit.py's names, every option unset until resolved."""
import pytest

from gluon_resnet.cli.options import floats, train_parser


def test_lr_step_epochs_are_floats():
    assert floats("90,135") == [90.0, 135.0] and all(isinstance(x, float) for x in floats("90,135"))
    assert floats("15,22.5") == [15.0, 22.5] and floats("") == []


def test_fit_py_names_and_unset_options():
    args = train_parser().parse_args(["--gpus", "0,1", "--kv-store", "nccl", "--lr-step-epochs", "40,70"])
    assert args.gpus == "0,1" and args.kv_store == "nccl" and args.lr_step_epochs == [40.0, 70.0]
    # Unset options stay None, so that a resume can tell an option given again from a default.
    assert args.lr is None and args.num_epochs is None and args.weights is None and args.data_threads is None


def test_dist_async_is_refused_with_its_reason(capsys):
    with pytest.raises(SystemExit) as e:
        train_parser().parse_args(["--kv-store", "dist_async"])
    assert e.value.code == 2
    assert "dist_async is not supported" in capsys.readouterr().err
    assert "dist_async is not offered" in train_parser().format_help().replace("\n", " ").replace("  ", " ")


# ---------------------------------------------------------------- every numeric option checked when parsed

def _parsers():
    """{tool path: its ArgumentParser}, caught as each tool's own parse_args builds it."""
    import argparse
    import importlib.util
    import os
    import sys

    from conftest import ROOT
    found = {}
    real = argparse.ArgumentParser.parse_args

    class Caught(Exception):
        pass

    def catch(self, *a, **k):
        found[path] = self
        raise Caught
    argparse.ArgumentParser.parse_args = catch
    path_before = list(sys.path)
    try:
        for folder in ("tools", "onnx_export", "benchmarks"):
            sys.path.insert(0, os.path.join(ROOT, folder))  # as for a script: its folder first (bench.py's harness)
            for name in sorted(os.listdir(os.path.join(ROOT, folder))):
                if not name.endswith(".py"):
                    continue
                path = f"{folder}/{name}"
                spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(ROOT, path))
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                entry = getattr(module, "parse_args", None) or getattr(module, "main", None)
                if entry:
                    with pytest.raises(Caught):
                        entry([]) if entry.__code__.co_argcount else entry()
    finally:
        argparse.ArgumentParser.parse_args = real
        sys.path[:] = path_before
    return found


def test_no_tool_takes_an_unchecked_number():
    """A plain int/float type lets 0 or -5 through to a ZeroDivisionError deep in training."""
    parsers = _parsers()
    assert {"tools/train.py", "tools/evaluate.py", "onnx_export/quantize.py", "onnx_export/predict.py",
            "tools/launch.py", "benchmarks/bench.py"} <= set(parsers)
    unchecked = [f"{path} {a.option_strings[0]}" for path, p in parsers.items() for a in p._actions
                 if a.type in (int, float)]
    assert not unchecked, unchecked


@pytest.mark.parametrize("argv,says", [
    (["tools/train.py", "--batch-size", "0"], "--batch-size: 0 must be at least 1"),
    (["tools/train.py", "--batch-size", "-5"], "--batch-size: -5 must be at least 1"),
    (["tools/train.py", "--n", "0"], "--n: 0 must be at least 1"),
    (["tools/train.py", "--num-epochs", "0"], "--num-epochs: 0 must be at least 1"),
    (["tools/train.py", "--lr", "-0.1"], "--lr: -0.1 must be greater than 0"),
    (["tools/train.py", "--lr-step-epochs", "90,x"], "--lr-step-epochs: 'x' is not a number"),
    (["tools/evaluate.py", "--save-dir", "runs/x", "--scales", "32,abc"], "--scales: 'abc' is not a whole number"),
    (["tools/launch.py", "-n", "0", "--", "true"], "-n/--num-workers: 0 must be at least 1"),
    (["tools/launch.py", "--port", "70000", "--", "true"], "--port: 70000 must be a port number"),
    (["onnx_export/quantize.py", "--images", "0"], "--images: 0 must be at least 1"),
    (["onnx_export/predict.py", "m.onnx", "a.png", "--top", "0"], "--top: '0' is not a whole number of at least 1"),
    (["tools/im2rec_pack.py", "--dataset", "folder", "--val-fraction", "1.5"], "--val-fraction: 1.5 must be between"),
    (["tools/im2rec_pack.py", "--png-compression", "10"], "--png-compression: 10 must be a zlib level, 0-9"),
])
def test_a_bad_number_is_one_usage_line_and_leaves_nothing(argv, says, tmp_path):
    """As a user meets it: the command, run from an empty folder, ends at parse time (argparse's exit 2)
    with one error line, and writes nothing (no run folder holding only train.log)."""
    import os
    import subprocess
    import sys

    from conftest import ROOT
    r = subprocess.run([sys.executable, os.path.join(ROOT, argv[0]), *argv[1:]], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[-1].endswith(says) or says in r.stderr.splitlines()[-1], r.stderr
    assert os.listdir(tmp_path) == []


def test_every_config_field_is_an_option_and_every_option_a_field():
    from dataclasses import fields

    from gluon_resnet.cli.train import NOT_OPTIONS
    from gluon_resnet.runs.config import TrainConfig
    names = {f.name for f in fields(TrainConfig)}
    options = {a.dest for a in train_parser()._actions if a.dest != "help"}
    assert names - options == set(NOT_OPTIONS)
    assert options - names == {"resume", "force"}


def test_help_shows_the_defaults_of_recipes_py(monkeypatch):
    from dataclasses import replace

    from gluon_resnet.cli import options
    from gluon_resnet.recipes import RECIPES
    help_ = " ".join(train_parser().format_help().split())
    assert "--lr-step-epochs LR_STEP_EPOCHS CIFAR 90,135; Mini-Places2 40,70" in help_
    assert "--wd WD CIFAR 0.0001; Mini-Places2 0.0005" in help_ and "--mom MOM 0.9" in help_
    monkeypatch.setattr(options, "RECIPES", {**RECIPES, "cifar": replace(RECIPES["cifar"], lr_step_epochs=(91, 136))})
    monkeypatch.setitem(options.TRAINING, "n", 5)
    help_ = " ".join(train_parser().format_help().split())
    assert "CIFAR 91,136; Mini-Places2 40,70" in help_ and "ResNet-20/32/56/110 (default 5)" in help_
