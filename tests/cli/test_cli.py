"""The command-line front ends: console scripts, thin tools/ wrappers, the library packing as the CLI does."""
import configparser
import filecmp
import importlib
import os
import subprocess
import sys

from conftest import ROOT


def _console_scripts():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    lines = [line.strip() for line in cfg["options.entry_points"]["console_scripts"].splitlines() if line.strip()]
    return dict(tuple(part.strip() for part in line.split("=")) for line in lines)


def test_every_console_script_points_at_a_main():
    scripts = _console_scripts()
    assert {"gluon-resnet-train", "gluon-resnet-verify", "gluon-resnet-quantize"} <= set(scripts)
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target


def test_installed_console_script_runs():
    exe = os.path.join(os.path.dirname(sys.executable), "gluon-resnet-model-summary")
    r = subprocess.run([exe], capture_output=True, text=True)
    assert r.returncode == 0 and "CifarResNet(n=18)" in r.stdout


def test_tools_are_thin_wrappers_over_the_cli_package():
    for folder in ("tools", "onnx_export"):
        for name in os.listdir(os.path.join(ROOT, folder)):
            path = os.path.join(ROOT, folder, name)
            if name.endswith(".py") and name != "predict.py":  # predict.py stands alone, for copying
                text = open(path).read()
                assert "from gluon_resnet.cli." in text and len(text.splitlines()) <= 10, path
                assert "sys.path" not in text, path


def test_library_pack_reproduces_the_cli_pack(tmp_path, cifar_tarball, packed_cifar):
    """Per-dataset defaults live in the library: pack() with none given writes the CLI's bytes."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "im2rec_pack.py"), "--src", cifar_tarball,
                        "--out", str(tmp_path / "cli"), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for f in ("train.rec", "train.idx", "val.rec", "dataset.json"):
        assert filecmp.cmp(tmp_path / "cli" / f, os.path.join(packed_cifar, f), shallow=False), f

