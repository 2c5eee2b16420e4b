"""Damaged files, as interrupted copies and failing disks make them, end in one line naming the file."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from gluon_resnet.errors import UserError
from gluon_resnet.train.start import new_config
from gluon_resnet.train.training import fit

from conftest import ROOT


def _tool(*argv, timeout=300):
    """Run a tool script (a path under the repository) with this interpreter; (exit code, stdout, stderr)."""
    r = subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return r.returncode, r.stdout, r.stderr


def _one_line(result, *names, exit_code=2):
    """A command's (code, stdout, stderr) ended in one `error:` line naming `names`, with exit code 2 or 1:
    no signal, no traceback."""
    code, _, err = result
    assert code == exit_code, (code, err[-2000:])
    assert "Traceback" not in err and "Segmentation" not in err, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err[-2000:]
    for name in names:
        assert str(name) in errors[0], (name, errors[0])
    return errors[0]


@pytest.fixture
def digits_copy(tmp_path, packed_digits):
    out = tmp_path / "digits"
    shutil.copytree(packed_digits, out, ignore=shutil.ignore_patterns(".checked.json"))
    return out


TRAIN = os.path.join("tools", "train.py")


def _train(data, save, *extra):
    return _tool(TRAIN, "--data-dir", data, "--n", 1, "--num-epochs", 1, "--batch-size", 64, "--save-dir", save,
                 *extra)


def test_a_rec_cut_short_is_named_not_a_crash(digits_copy, tmp_path):
    rec = digits_copy / "train.rec"
    full = os.path.getsize(rec)
    os.truncate(rec, int(full * 0.6))  # an interrupted copy: MXNet itself segfaults on this file
    line = _one_line(_train(digits_copy, tmp_path / "r"), rec, f"expected size {full:,} bytes", "copy it again")
    assert not (tmp_path / "r").exists() or not os.listdir(tmp_path / "r")
    print(line)


def test_zeroed_bytes_of_the_same_size_fail_the_checksum(digits_copy, tmp_path):
    rec = digits_copy / "train.rec"
    with open(rec, "r+b") as f:
        f.seek(os.path.getsize(rec) // 2)
        f.write(b"\0" * 600)
    _one_line(_train(digits_copy, tmp_path / "r"), rec, "SHA-256")
    _one_line(_tool(os.path.join("tools", "im2rec_pack.py"), "--check", digits_copy), rec, "SHA-256")


def _damage_record(data_dir, split, k):
    """Zero bytes inside record k's PNG, keeping the file's size and mtime: a byte flipped on disk."""
    with open(os.path.join(data_dir, f"{split}.idx")) as f:
        offset = {int(a): int(b) for a, b in (line.split("\t") for line in f if line.strip())}[k]
    rec = os.path.join(data_dir, f"{split}.rec")
    st = os.stat(rec)
    with open(rec, "r+b") as f:
        f.seek(offset + 8 + 24 + 60)  # RecordIO magic + length, IRHeader, then into the PNG's data
        f.write(b"\0" * 40)
    os.utime(rec, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_record_that_does_not_decode_is_named_with_its_number(digits_copy, tmp_path):
    from gluon_resnet.data.integrity import open_dataset
    open_dataset(str(digits_copy))  # hashed once and stamped: a later flip keeps size and mtime
    assert (digits_copy / ".checked.json").exists()
    _damage_record(digits_copy, "train", 37)
    line = _one_line(_train(digits_copy, tmp_path / "r"), digits_copy / "train.rec", "record 37",
                     "does not decode")
    assert "digits/" in line  # the image's name from the .lst
    _damage_record(digits_copy, "val", 5)  # the multiscale reader of evaluate / verify / quantize too
    from gluon_resnet.runs.evaluation import evaluate
    with pytest.raises(UserError, match=r"val.rec is damaged: record 5 .* does not decode"):
        evaluate(lambda x: x[:, :, 0, 0], str(digits_copy), open_dataset(str(digits_copy)))


def test_a_folder_packed_before_checksums_still_works_with_a_note(digits_copy, caplog):
    from gluon_resnet.data.integrity import open_dataset
    meta = json.loads((digits_copy / "dataset.json").read_text())
    del meta["files"]
    (digits_copy / "dataset.json").write_text(json.dumps(meta))
    assert open_dataset(str(digits_copy)).files is None
    assert "packed without file checksums" in caplog.text
    os.truncate(digits_copy / "val.rec", 1000)  # even then, a cut .rec is caught before MXNet opens it
    with pytest.raises(UserError, match="val.rec is damaged: cut short at 1,000 bytes"):
        open_dataset(str(digits_copy))


# ---------------------------------------------------------------- checkpoints

def test_a_damaged_newest_checkpoint_resumes_from_the_one_before(tmp_path, packed_cifar):
    run = tmp_path / "r"
    fit(new_config(packed_cifar, run, n=1, batch_size=20, lr_step_epochs=[], num_epochs=3))
    params = run / "checkpoint-0003.params"
    os.truncate(params, os.path.getsize(params) // 2)
    code, out, err = _tool(TRAIN, "--save-dir", run, "--resume", "--num-epochs", 4)
    assert code == 0, err[-2000:]
    assert f"{params} is damaged" in err and "using epoch 2, the newest intact checkpoint" in err
    assert f"resuming {run} after epoch 2" in err
    assert [json.loads(line)["epoch"] for line in open(run / "metrics.jsonl")] == [1, 2, 3, 4]
    # evaluate.py reads the final epoch: the same fallback, said in one line
    for epoch in (2, 3, 4):
        with open(run / f"checkpoint-{epoch:04d}.states", "ab") as f:
            f.write(b"x")
    _one_line(_tool(os.path.join("tools", "evaluate.py"), "--save-dir", run), "every checkpoint in", "is damaged",
              "--force")


def test_a_damaged_best_params_is_named(tmp_path, cifar_run):
    run = tmp_path / "r"
    shutil.copytree(cifar_run, run)
    (run / "best.params").write_bytes(b"")
    _one_line(_tool(os.path.join("onnx_export", "export.py"), "--save-dir", run, "--weights", "best"),
              run / "best.params", "--weights final")


# ---------------------------------------------------------------- folder packing

def test_folder_packing_ignores_what_is_not_a_class_folder(tmp_path):
    import cv2
    import numpy as np
    src = tmp_path / "src"
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            (src / split / cls).mkdir(parents=True)
            for i in range(2):
                cv2.imwrite(str(src / split / cls / f"{i}.png"), np.full((8, 8, 3), 40 * i, np.uint8))
        (src / split / "README.txt").write_text("about")
        (src / split / ".DS_Store").write_bytes(b"\0\1")
        (src / split / ".git").mkdir()
    (src / "train" / "cat" / "Thumbs.db").write_bytes(b"x")
    (src / "train" / "cat" / "._0.png").write_bytes(b"AppleDouble")
    code, out, err = _tool(os.path.join("tools", "im2rec_pack.py"), "--dataset", "folder", "--src", src, "--out",
                           tmp_path / "out", "--quiet", "--workers", 1)
    assert code == 0, err
    assert "ignored      8 entries" in out
    meta = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert meta["classes"] == ["cat", "dog"] and meta["counts"] == {"train": 4, "val": 4}


# ---------------------------------------------------------------- bad input, every tool

@pytest.fixture(scope="module")
def onnx_run(tmp_path_factory, cifar_run):
    """A copy of the small CIFAR run with its ONNX export."""
    from gluon_resnet.deploy import onnx_io
    run = tmp_path_factory.mktemp("bad") / "run"
    shutil.copytree(cifar_run, run)
    onnx_io.export(str(run))
    return run


def test_bad_input_to_every_tool(tmp_path, onnx_run, packed_cifar):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 this is not a protobuf")
    zero_data = tmp_path / "zero"
    zero_data.mkdir()
    (zero_data / "dataset.json").write_text("")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    not_image = tmp_path / "photo.jpg"
    not_image.write_text("not a jpeg")
    pack, train, evaluate = (os.path.join("tools", f) for f in ("im2rec_pack.py", "train.py", "evaluate.py"))
    export, verify, quantize, predict = (os.path.join("onnx_export", f) for f in
                                         ("export.py", "verify.py", "quantize.py", "predict.py"))
    cases = [
        ((train, "--data-dir", zero_data, "--save-dir", tmp_path / "r"), zero_data / "dataset.json"),
        ((train, "--data-dir", a_file, "--save-dir", tmp_path / "r"), a_file),
        ((train, "--data-dir", packed_cifar, "--batch-size", 4, "--save-dir", a_file), a_file),
        ((train, "--data-dir", packed_cifar, "--gpus", "0", "--save-dir", tmp_path / "r"), "--gpus"),
        ((train, "--data-dir", packed_cifar, "--dtype", "float16", "--save-dir", tmp_path / "r"), "float16"),
        ((train, "--data-dir", packed_cifar, "--kv-store", "nccl", "--save-dir", tmp_path / "r"), "nccl"),
        ((train, "--kv-store", "dist_async"), "dist_async"),
        ((evaluate, "--save-dir", tmp_path / "nothing"), tmp_path / "nothing"),
        ((evaluate, "--save-dir", a_file), a_file),
        ((pack, "--dataset", "cifar10", "--src", a_file, "--out", tmp_path / "p"), a_file),
        ((pack, "--dataset", "folder", "--src", tmp_path / "none", "--out", tmp_path / "p"), tmp_path / "none"),
        ((pack, "--check", tmp_path / "none"), tmp_path / "none"),
        ((export, "--save-dir", tmp_path / "nothing"), tmp_path / "nothing"),
        ((verify, "--save-dir", onnx_run, "--model", empty), empty),
        ((verify, "--save-dir", onnx_run, "--model", junk), junk),
        ((verify, "--save-dir", onnx_run, "--model", tmp_path), tmp_path),
        ((quantize, "--save-dir", onnx_run, "--data-dir", zero_data), zero_data / "dataset.json"),
        ((predict, junk, not_image), junk),
    ]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # each its own process: as many at once as cores
        results = list(pool.map(lambda case: _tool(*case[0]), cases))
    for (argv, name), result in zip(cases, results):
        code, out, err = result
        if argv[0] == train and "--kv-store" in argv and "dist_async" in argv:  # argparse: usage + one line
            assert code == 2 and "dist_async is not supported" in err and "Traceback" not in err
            continue
        assert code in (1, 2), (argv, code, err[-1500:])
        _one_line(result, name, exit_code=code)
    assert not list(tmp_path.glob("**/*.tmp-*")) and not (tmp_path / "p").exists()


def test_a_missing_dataset_or_run_is_said_before_mxnet_loads(tmp_path):
    """Importing MXNet takes about 1.5 s of CPU: a command whose dataset or run folder is not there says so
    first, in one line, and never loads it."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dataset.json").write_text("")
    nothing = tmp_path / "nothing"
    cases = [(("tools/train.py", "--data-dir", tmp_path / "data", "--save-dir", tmp_path / "r"), tmp_path / "data"),
             (("tools/train.py", "--save-dir", nothing, "--resume"), nothing),
             (("tools/evaluate.py", "--save-dir", nothing), nothing),
             (("onnx_export/export.py", "--save-dir", nothing), nothing)]
    for argv, name in cases:
        result = _tool("-X", "importtime", *argv)
        _one_line(result, name)
        loaded = {line.rsplit("|", 1)[-1].strip() for line in result[2].splitlines() if line.startswith("import time:")}
        assert "gluon_resnet" in loaded and not {m for m in loaded if m.split(".")[0] == "mxnet"}, argv


def test_an_image_that_is_not_one_is_named_and_the_others_still_run(onnx_run, tmp_path):
    import cv2
    import numpy as np
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((32, 32, 3), 128, np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG but cut")
    code, out, err = _tool(os.path.join("onnx_export", "predict.py"), onnx_run / "model.onnx", bad, good)
    assert code == 1 and "Traceback" not in err and str(bad) in err and str(good) in out


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_disk_that_fills_during_a_checkpoint_leaves_no_partial_file(tmp_path, packed_digits):
    small = tmp_path / "small"
    small.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(small)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"this sandbox cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        # ResNet-20: 1.1 MB of parameters; one checkpoint (params, states, best) does not fit in 1.2 MB.
        _one_line(_tool(TRAIN, "--data-dir", packed_digits, "--n", 3, "--num-epochs", 2, "--save-dir", small / "run"),
                  "No space left on device", "free some space", exit_code=1)
        left = sorted(os.listdir(small / "run"))
        assert not [f for f in left if ".tmp-" in f or f.startswith("checkpoint-")], left
    finally:
        subprocess.run(["umount", str(small)])


def test_an_unreadable_file_is_named(packed_digits):
    """Permissions: as root every file is readable, so this runs the tool as `nobody`."""
    import tempfile
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run a tool as another user")
    top = tempfile.mkdtemp(prefix="unreadable-", dir="/tmp")  # pytest's own folders are private to root
    try:
        data = os.path.join(top, "data")
        shutil.copytree(packed_digits, data)
        for d, _, files in os.walk(top):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
        os.chmod(os.path.join(data, "dataset.json"), 0o600)
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
                            os.path.join(ROOT, TRAIN), "--data-dir", data, "--save-dir", os.path.join(top, "r")],
                           capture_output=True, text=True, timeout=120, cwd="/",
                           env={**os.environ, "HOME": top, "MPLCONFIGDIR": top})
        if "dataset.json" not in r.stderr and ("Permission denied" in r.stderr
                                               or "error while loading shared libraries" in r.stderr):
            pytest.skip(f"this interpreter cannot run as nobody: {r.stderr.strip()[-200:]}")
        _one_line((r.returncode, r.stdout, r.stderr), os.path.join(data, "dataset.json"), "Permission denied")
    finally:
        shutil.rmtree(top)
