"""A run folder: its layout, typed records, atomic writes, final vs best, the newest run."""
import json
import os
import time

import pytest

from gluon_resnet.errors import UserError
from gluon_resnet.fileio import atomic
from gluon_resnet.runs.folder import Run, RunState, Score


def test_state_round_trips_through_its_checkpoint(cifar_run):
    run = Run(cifar_run)
    state = run.last_checkpoint()
    assert isinstance(state, RunState) and state.epoch == 2 == run.epochs()[-1]
    assert RunState.from_dict(json.loads(json.dumps(state.to_dict())), run.dir) == state
    assert state.model.name == "ResNet-8" and state.model.classes == 10 and state.data_dir == state.config.data_dir
    assert state.config.save_dir == run.dir and state.config.batch_size == 4 and state.config.workers == 1
    assert isinstance(state.best, Score) and 1 <= state.best.epoch <= 2


def test_a_checkpoint_from_before_trainconfig_still_loads(cifar_run):
    """Older checkpoints kept only some options, under "args"; the others were the defaults of the time."""
    d = Run(cifar_run).last_checkpoint().to_dict()
    config = d.pop("config")
    d["args"] = {k: config[k] for k in ("n", "shortcut", "lr", "wd", "mom", "lr_factor", "lr_step_epochs",
                                        "batch_size", "warmup_epochs", "warmup_lr", "dtype", "seed", "num_epochs",
                                        "data_dir")}
    old = RunState.from_dict(d, "runs/old")
    assert old.config.save_dir == "runs/old" and old.config.n == 1 and old.config.weights == "final"
    assert old.config.kv_store == "device" and old.config.workers == 1 and old.config.eval_every == 1


def test_final_and_best_are_different_selections(cifar_run):
    run = Run(cifar_run)
    final, params = run.selected("final")
    assert final.epoch == 2 and params.endswith("checkpoint-0002.params")
    best, params = run.selected("best")
    assert best.epoch == best.best.epoch and params.endswith("best.params")
    with pytest.raises(ValueError):
        run.selected("latest")


def test_rewind_keeps_lines_up_to_the_checkpoint(cifar_run, tmp_path):
    import shutil
    run = Run(tmp_path / "r")
    shutil.copytree(cifar_run, run.dir)
    run.append_metrics({"epoch": 3, "val_top1_err": 0.5})  # a line with no checkpoint behind it
    run.rewind_metrics(2)
    assert [r["epoch"] for r in run.read_metrics()] == [1, 2]


def test_clear_removes_the_run_but_not_foreign_files(cifar_run, tmp_path):
    import shutil
    run = Run(tmp_path / "r")
    shutil.copytree(cifar_run, run.dir)
    (tmp_path / "r" / "notes.txt").write_text("mine")
    run.clear()
    assert run.last_checkpoint() is None and not os.path.exists(run.metrics) and not os.path.exists(run.summary)
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")

    def fail(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        atomic(str(target), fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]


def test_newest_run_and_a_folder_with_no_run(cifar_run, miniplaces_run, tmp_path):
    import shutil
    for name, src in (("a", cifar_run), ("b", miniplaces_run)):
        shutil.copytree(src, tmp_path / "runs" / name)
    later = time.time() + 10
    for f in os.listdir(tmp_path / "runs" / "a"):
        os.utime(tmp_path / "runs" / "a" / f, (later, later))
    assert Run.most_recent(str(tmp_path / "runs")).dir == str(tmp_path / "runs" / "a")
    with pytest.raises(UserError, match="holds no checkpoint: train first"):
        Run(tmp_path / "empty").load_model()
    with pytest.raises(UserError, match="has no metrics.jsonl"):
        Run(tmp_path / "empty").read_metrics()


def test_verify_reports_are_kept_per_model_kind(tmp_path):
    run = Run(tmp_path)
    run.write_verify_report({"model": "fp32", "ok": True})
    run.write_verify_report({"model": "int8", "ok": False})
    run.write_verify_report({"model": "fp32", "ok": False})
    assert json.load(open(run.verify_report)) == {"fp32": {"model": "fp32", "ok": False},
                                                  "int8": {"model": "int8", "ok": False}}
