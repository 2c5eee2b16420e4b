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


def test_a_plain_folder_of_class_folders_is_split_per_class_with_a_fixed_seed(tmp_path):
    import cv2
    import numpy as np
    src = tmp_path / "photos"
    for c, n in (("cat", 10), ("dog", 5)):
        (src / c).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(src / c / f"{i}.png"), np.full((20, 24, 3), 10 * i, np.uint8))
    (src / "README.txt").write_text("not a class")
    outs = []
    for out in ("a", "b"):
        r = run("--dataset", "folder", "--src", src, "--out", tmp_path / out, "--val-fraction", "0.2", "--quiet")
        assert r.returncode == 0, r.stderr
        outs.append(tmp_path / out)
    assert "split 20 % of each class folder into val (seed 0" in r.stdout and "ignored      1 entries" in r.stdout
    meta = json.load(open(outs[0] / "dataset.json"))
    assert meta["classes"] == ["cat", "dog"] and meta["counts"] == {"train": 12, "val": 3}  # 2 cats, 1 dog
    val = [line.split("\t")[-1] for line in open(outs[0] / "val.lst").read().splitlines()]
    assert sum(v.startswith("cat/") for v in val) == 2 and sum(v.startswith("dog/") for v in val) == 1
    assert open(outs[0] / "val.lst").read() == open(outs[1] / "val.lst").read()  # the same split every time
    r = run("--dataset", "folder", "--src", src, "--out", tmp_path / "c", "--seed", "1", "--quiet")
    assert r.returncode == 0 and open(tmp_path / "c" / "val.lst").read() != open(outs[0] / "val.lst").read()
