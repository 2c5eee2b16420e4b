"""Every file a run relies on reaches the disk before it is renamed into place, and the rename after it:
the order of fsync and rename calls, recorded while packing, training, exporting and quantizing."""
import os

import pytest

from gluon_resnet import fileio

from conftest import _train


@pytest.fixture
def journal(monkeypatch):
    """[(op, path)]: every fsync (by the path its descriptor names) and rename, in order."""
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst, **kw):
        calls.append(("rename", os.path.abspath(src), os.path.abspath(dst)))
        return real_replace(src, dst, **kw)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return calls


def _durable(calls, path):
    """How `path` was written: 'renamed' (data fsynced under its temporary name, then renamed, then its
    folder fsynced), 'appended' (fsynced in place), or what went wrong."""
    path = os.path.realpath(path)
    renames = [i for i, c in enumerate(calls) if c[0] == "rename" and os.path.realpath(c[2]) == path]
    if not renames:
        return "appended" if ("fsync", path) in calls else "never flushed"
    i = renames[-1]
    src = calls[i][1]
    before = ("fsync", os.path.realpath(src)) in calls[:i]
    after = ("fsync", os.path.dirname(path)) in calls[i + 1:]
    return "renamed" if before and after else f"renamed, data flushed {before}, folder flushed {after}"


def test_atomic_flushes_the_data_then_the_rename(tmp_path, journal):
    target = tmp_path / "x.json"
    fileio.write_json(str(target), {"a": 1})
    assert _durable(journal, target) == "renamed" and fileio.read_json(str(target)) == {"a": 1}
    assert [c[0] for c in journal] == ["fsync", "rename", "fsync"]


def test_append_line_flushes_each_line(tmp_path, journal):
    path = tmp_path / "m.jsonl"
    fileio.append_line(str(path), "one")
    fileio.append_line(str(path), "two")
    assert path.read_text() == "one\ntwo\n"
    assert journal == [("fsync", str(path)), ("fsync", str(tmp_path)), ("fsync", str(path))]


@pytest.mark.slow
def test_every_file_a_run_relies_on_is_on_the_disk(tmp_path, cifar_tarball, journal):
    from gluon_resnet.cli import export as export_cli
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_cifar10
    data = tmp_path / "cifar10"
    pack(read_cifar10(cifar_tarball), "cifar10", str(data), progress=False)
    run = _train(str(data), tmp_path / "run")
    export_cli.main(["--save-dir", run])
    files = [data / f for f in ("dataset.json", "train.rec", "train.idx", "val.rec", "val.idx")]
    files += [os.path.join(run, f) for f in ("checkpoint-0002.params", "checkpoint-0002.states", "checkpoint-0002.json",
                                             "best.params", "best.json", "summary.json", "model-symbol.json",
                                             "model-0000.params", "model.onnx")]
    assert {str(f): _durable(journal, f) for f in files} == {str(f): "renamed" for f in files}
    assert _durable(journal, os.path.join(run, "metrics.jsonl")) == "appended"
