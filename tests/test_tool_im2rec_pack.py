"""`python tools/im2rec_pack.py` as a user runs it: exit codes, one-line errors, the summary."""
import json
import os
import subprocess
import sys

from conftest import ROOT


def run(*args, cwd=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "im2rec_pack.py"), *args, "--quiet"],
                          capture_output=True, text=True, cwd=cwd)


def test_digits_packs_offline(tmp_path):
    r = run("--dataset", "digits", "--out", str(tmp_path / "d"), "--workers", "2")
    assert r.returncode == 0, r.stderr
    meta = json.load(open(tmp_path / "d" / "dataset.json"))
    assert sum(meta["counts"].values()) == 1797 and meta["image_size"] == [40, 40]
    assert "train" in r.stdout and "1,437 images" in r.stdout and "mean RGB" in r.stdout
    again = run("--dataset", "digits", "--out", str(tmp_path / "d"))
    assert again.returncode == 2 and "--force" in again.stderr


def test_missing_cifar_says_where_to_get_it(tmp_path):
    r = run(cwd=tmp_path)  # default --dataset cifar10 --src data/raw/cifar-10-python.tar.gz
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line, = r.stderr.strip().splitlines()
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in line and "--dataset digits" in line
    assert not (tmp_path / "data" / "cifar10").exists()


def test_pack_cli_on_cifar_tarball(tmp_path, cifar_tarball):
    r = run("--src", cifar_tarball, "--out", str(tmp_path / "c"), "--pad-mode", "zero")
    assert r.returncode == 0, r.stderr
    meta = json.load(open(tmp_path / "c" / "dataset.json"))
    assert meta["pad_mode"] == "zero" and meta["counts"] == {"train": 60, "val": 20}


def test_folder_needs_src(tmp_path):
    r = run("--dataset", "folder", cwd=tmp_path)
    assert r.returncode == 2 and "--src" in r.stderr
