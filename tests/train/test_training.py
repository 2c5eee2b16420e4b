"""Training: schedule, multi-device equivalence, exact resume, learning, interruption, bad input."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from gluon_resnet import compat, get_model, threads
from gluon_resnet.compat import mx
from gluon_resnet.errors import TrainingDiverged, UserError
from gluon_resnet.cli.hints import python, words
from gluon_resnet.recipes import RECIPES
from gluon_resnet.runs.config import TrainConfig
from gluon_resnet.train.progress import TRAINING
from gluon_resnet.train.report import Summary
from gluon_resnet.train.start import new_config, resumed_config
from gluon_resnet.train.steps import make_scheduler, make_trainer, train_step
from gluon_resnet.train.training import fit

from conftest import ROOT, train_command
from waiting import ProgressListener

SCHEDULE = TrainConfig.for_recipe(RECIPES["cifar"], "data", "run")  # lr 0.1, x0.1 at epochs 90 and 135


def first_lr_of_epoch(sched, epoch, iters):
    return sched((epoch - 1) * iters + 1)  # MXNet counts updates from 1


def test_neon_cifar_schedule_at_epoch_boundaries():
    sched, iters = make_scheduler(SCHEDULE, 391), 391  # 50,000 / 128
    got = {e: first_lr_of_epoch(sched, e, iters) for e in (1, 90, 91, 135, 136, 180)}
    assert got == pytest.approx({1: 0.1, 90: 0.1, 91: 0.01, 135: 0.01, 136: 0.001, 180: 0.001})
    # The last update of epoch 90 is still at 0.1 (a fresh scheduler: they only move forward).
    assert make_scheduler(SCHEDULE, iters)(90 * iters) == pytest.approx(0.1)


def test_warmup_is_constant_then_the_recipe():
    cfg = replace(SCHEDULE, warmup_epochs=1, lr_step_epochs=[3])
    sched = make_scheduler(cfg, 400)
    assert [sched(u) for u in (1, 399)] == pytest.approx([0.01, 0.01])
    assert [first_lr_of_epoch(sched, e, 400) for e in (2, 3, 4)] == pytest.approx([0.1, 0.1, 0.01])


def test_no_step_means_constant_lr():
    sched = make_scheduler(replace(SCHEDULE, lr_step_epochs=[]), 10)
    assert sched(10 ** 6) == pytest.approx(0.1)


def _trainable(net, ctx):
    return {k[len(net.prefix):]: p.data(ctx).asnumpy() for k, p in net.collect_params().items() if p.grad_req != "null"}


def test_two_cpu_contexts_equal_one_context_with_summed_half_batch_gradients():
    ctxs = [mx.cpu(0), mx.cpu(1)]
    cfg = SCHEDULE
    mx.random.seed(1)
    multi, single = get_model("cifar10", 1, ctx=ctxs), get_model("cifar10", 1, ctx=mx.cpu(0))
    for (_, a), (_, b) in zip(sorted(multi.collect_params().items()), sorted(single.collect_params().items())):
        b.set_data(a.data(ctxs[0]))
    multi.hybridize(static_alloc=True, static_shape=True)
    single.hybridize(static_alloc=True, static_shape=True)
    t_multi, t_single = make_trainer(multi, cfg, 10), make_trainer(single, cfg, 10)
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    for p in single.collect_params().values():
        if p.grad_req != "null":
            p.grad_req = "add"
    for step in range(2):  # the second step exercises the momentum state too
        x = mx.nd.random.normal(shape=(8, 3, 32, 32))
        y = mx.nd.array(np.random.RandomState(step).randint(0, 10, 8))
        train_step(multi, t_multi, loss, x, y, ctxs)
        single.collect_params().zero_grad()
        for half in (slice(0, 4), slice(4, 8)):  # BN statistics per half, as per device
            with mx.autograd.record():
                l = loss(single(x[half]), y[half])
            l.backward()
        t_single.step(8)
    ref = _trainable(single, mx.cpu(0))
    for ctx in ctxs:
        got = _trainable(multi, ctx)
        for k in ref:
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-5, err_msg=k)


def _params(path):
    return {k: v.asnumpy() for k, v in mx.nd.load(str(path)).items()}


def test_resume_is_exact_and_restores_every_option(tmp_path, packed_cifar):
    common = ["--data-dir", packed_cifar, "--n", 1, "--batch-size", 20, "--lr-step-epochs", 1, "--seed", 5,
              "--data-threads", 1, "--eval-every", 2, "--export", "best"]  # --export: the old name of --weights
    train_command(*common, "--num-epochs", 2, "--save-dir", tmp_path / "straight")
    train_command(*common, "--num-epochs", 1, "--save-dir", tmp_path / "resumed")
    # Only what the printed resume command says, plus the longer run: every other option comes back.
    train_command("--save-dir", tmp_path / "resumed", "--resume", "--num-epochs", 2)
    a = _params(tmp_path / "straight" / "checkpoint-0002.params")
    b = _params(tmp_path / "resumed" / "checkpoint-0002.params")
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-6, atol=1e-7, err_msg=k)
    rows = [json.loads(line) for line in open(tmp_path / "resumed" / "metrics.jsonl")]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert [r["lr"] for r in rows] == pytest.approx([0.1, 0.01])  # the drop after epoch 1 survives resume
    state = json.load(open(tmp_path / "resumed" / "checkpoint-0002.json"))
    assert state["num_update"] == 6
    assert {k: state["config"][k] for k in ("num_epochs", "data_threads", "eval_every", "weights", "seed")} == \
        {"num_epochs": 2, "data_threads": 1, "eval_every": 2, "weights": "best", "seed": 5}


@pytest.mark.slow
def test_learns_digits_and_writes_every_artifact(digits_run):
    """The shared digits run (conftest.DIGITS_RUN: 12 epochs on 2 CPU contexts, drops after 7.5 and 10)."""
    run = pathlib.Path(digits_run)
    summary = Summary(**json.load(open(run / "summary.json")))
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert rows[-1]["val_top1_err"] < 0.25  # chance is 0.9
    # each row's lr is the one at the epoch's end: epoch 8 drops half-way
    assert [r["lr"] for r in rows] == pytest.approx([0.1] * 7 + [0.01] * 3 + [0.001] * 2)
    keys = {"epoch", "lr", "train_loss", "train_top1_err", "val_top1_err", "val_top5_err", "epoch_seconds",
            "images_per_second", "gpu_memory_mib", "host_rss_mib"}
    assert keys <= set(rows[0]) and all(0 <= r["train_top1_err"] <= 1 for r in rows)
    assert rows[0]["gpu_memory_mib"] is None and rows[0]["host_rss_mib"] > 100  # CPU: host memory, named so
    for f in ("model-symbol.json", "model-0000.params", "summary.json", "val_error.png", "best.params", "train.log"):
        assert os.path.exists(run / f), f
    # The headline is the final epoch; the best is kept apart, for what it is.
    assert summary.depth == 8 and summary.val_top1_err == rows[-1]["val_top1_err"]
    assert summary.best_val_top1_err == min(r["val_top1_err"] for r in rows)
    assert summary.exported_epoch == 12 and summary.exported_selection == "final"
    assert summary.peak_gpu_memory_mib is None and summary.peak_host_rss_mib > 100
    assert sorted(f for f in os.listdir(run) if f.endswith(".states")) == \
        [f"checkpoint-{e:04d}.states" for e in (10, 11, 12)]  # the last three kept


def test_sigterm_stops_within_seconds_and_resume_works(tmp_path, packed_digits):
    save = tmp_path / "run"
    progress = ProgressListener()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "train.py"), "--data-dir", packed_digits,
                             "--n", "1", "--num-epochs", "50", "--save-dir", str(save)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **progress.env})
    progress.reached((2, TRAINING, 1), 120, alive=lambda: proc.poll() is None)  # into epoch 2
    progress.close()
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert time.time() - sent < 10
    assert proc.returncode == 128 + signal.SIGTERM
    assert "SIGTERM" in err and f"Resume with: {python()} tools/train.py" in err and "--resume" in err
    assert "Traceback" not in err
    # The signal may come during a batch or between epochs: the message names the last complete
    # checkpoint either way.
    m = re.search(r"after epoch (\d+)|checkpoint is epoch (\d+)", err)
    done = int(m.group(1) or m.group(2))
    assert done >= 1 and sorted(int(f[11:15]) for f in os.listdir(save) if f.endswith(".json")
                                and f.startswith("checkpoint-"))[-1] == done
    fit(resumed_config(save, num_epochs=done + 1), resume=True)
    rows = [json.loads(line) for line in open(save / "metrics.jsonl")]
    assert [r["epoch"] for r in rows] == list(range(1, done + 2))


def test_diverged_loss_stops_with_a_message(tmp_path, packed_cifar):
    with pytest.raises(TrainingDiverged, match=r"loss became (nan|inf).*diverged.*lower --lr"):
        fit(new_config(packed_cifar, tmp_path / "run", n=1, batch_size=20, lr=1e30, num_epochs=3))
    assert not [f for f in os.listdir(tmp_path / "run") if f.startswith("checkpoint-")]


# ---------------------------------------------------------------- bad input

def _fails(match, *argv):
    with pytest.raises(UserError, match=match):
        train_command(*argv)


def test_missing_data_dir(tmp_path):
    _fails("not a packed dataset.*im2rec_pack.py", "--data-dir", tmp_path / "nothing", "--save-dir", tmp_path / "r")


def test_gpus_on_the_cpu_build(tmp_path, packed_cifar):
    from gluon_resnet.train.devices import has_cuda
    if has_cuda():  # the .[gpu] install: ask for a GPU number no machine has
        _fails("there is no GPU 64", "--data-dir", packed_cifar, "--gpus", "64", "--save-dir", tmp_path / "r")
    else:
        _fails("CPU build: pip install mxnet-cu112", "--data-dir", packed_cifar, "--gpus", "0,1",
               "--save-dir", tmp_path / "r")
    _fails("GPU numbers separated by commas", "--data-dir", packed_cifar, "--gpus", "a", "--save-dir", tmp_path / "r")


def test_float16_on_cpu(tmp_path, packed_cifar):
    _fails("float16 needs GPUs", "--data-dir", packed_cifar, "--dtype", "float16", "--save-dir", tmp_path / "r")


def test_resume_that_contradicts_the_checkpoint(tmp_path, packed_cifar, cifar_batches):
    run = tmp_path / "r"
    fit(new_config(packed_cifar, run, n=1, batch_size=20, num_epochs=1))
    _fails(r"trained with --n 1, not 3", "--data-dir", packed_cifar, "--n", 3, "--save-dir", run, "--resume")
    _fails(r"trained with --lr-step-epochs 90,135, not 40", "--data-dir", packed_cifar, "--lr-step-epochs", "40",
           "--save-dir", run, "--resume", "--num-epochs", 3)
    _fails(r"trained with --data-threads \d+, not 7", "--save-dir", run, "--resume", "--num-epochs", 3,
           "--data-threads", 7)
    _fails("already holds a run.*--resume", "--data-dir", packed_cifar, "--save-dir", run)
    _fails("finished 1 epochs already", "--data-dir", packed_cifar, "--save-dir", run, "--resume")
    _fails("no complete checkpoint", "--data-dir", packed_cifar, "--save-dir", tmp_path / "empty", "--resume")
    # Options that do not change the steps may change at resume; the same values are no contradiction.
    cfg = resumed_config(run, num_epochs=3, n=1, eval_every=5, weights="best")
    assert (cfg.num_epochs, cfg.eval_every, cfg.weights, cfg.n) == (3, 5, "best", 1)
    # The library's own check: a config changed by hand is refused by fit as the options are.
    with pytest.raises(UserError, match="trained with --wd 0.0001, not 0.5"):
        fit(replace(cfg, wd=0.5), resume=True)
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_cifar10
    from gluon_resnet.data.synthetic import write_cifar_python
    other = dict(cifar_batches)
    other["test_batch"] = (other["test_batch"][0][::-1].copy(), other["test_batch"][1][::-1])
    pack(read_cifar10(write_cifar_python(tmp_path / "o.tar.gz", other)), "cifar10", str(tmp_path / "o"), progress=False)
    _fails("different dataset|another source", "--data-dir", tmp_path / "o", "--save-dir", run, "--resume",
           "--num-epochs", 2)


def test_resume_command_is_shell_quoted_and_names_the_launcher():
    cfg = replace(SCHEDULE, save_dir="runs/my run")
    py = python()
    assert str(cfg.resume_command()) == "tools/train.py --save-dir 'runs/my run' --resume"  # the library's words
    assert cfg.resume_command().shown(words) == f"{py} tools/train.py --save-dir 'runs/my run' --resume"
    launch = f"{py} tools/launch.py -n 2 --"
    assert cfg.resume_command(launch).shown(words) == f"{launch} {py} tools/train.py --save-dir 'runs/my run' --resume"


def test_an_error_carries_its_commands_and_the_command_line_renders_them(capsys):
    from gluon_resnet.cli import main_guard
    from gluon_resnet.errors import Command
    error = UserError("train first with `", Command("tools/train.py", "--save-dir", "r 1"), "`")
    assert str(error) == "train first with `tools/train.py --save-dir 'r 1'`"

    def command():
        raise error
    with pytest.raises(SystemExit):
        main_guard(command)()
    assert capsys.readouterr().err == f"error: train first with `{python()} tools/train.py --save-dir 'r 1'`\n"


def test_a_new_config_takes_the_datasets_recipe_and_the_defaults(packed_cifar, tmp_path):
    cfg = new_config(packed_cifar, tmp_path / "r", lr=0.2)
    assert cfg.lr == 0.2 and cfg.warmup_lr == pytest.approx(0.02) and cfg.lr_step_epochs == (90, 135)
    assert (cfg.n, cfg.num_epochs, cfg.save_dir, cfg.data_dir) == (9, 180, str(tmp_path / "r"), packed_cifar)
    assert new_config(packed_cifar, n=3).save_dir == "runs/cifar10-resnet20"


def test_only_the_writer_writes_under_save_dir(tmp_path, packed_cifar, monkeypatch, capfd):
    """A worker other than rank 0 trains and logs to stderr with its rank, and leaves --save-dir alone."""
    from gluon_resnet.train import training
    from gluon_resnet.train.workers import WorkerGroup

    def rank_1(kv_store, ctxs):
        group = WorkerGroup(kv_store, ctxs)
        group.rank, group.size = 1, 2  # the second shard of two, without a kvstore
        return group
    monkeypatch.setattr(training, "WorkerGroup", rank_1)
    assert fit(new_config(packed_cifar, tmp_path / "r", n=1, batch_size=20, num_epochs=1)) is None
    assert not os.path.exists(tmp_path / "r")
    assert "[worker 1] epoch   1/1  loss" in capfd.readouterr().err


def test_hybridized_cpu_training_resumes_exactly_and_matches_imperative(tmp_path, packed_cifar):
    """The CPU trains the static graph by default: resume is exact there too, and its steps are the
    imperative ones (--no-hybridize) up to rounding."""
    common = dict(n=1, batch_size=20, lr_step_epochs=[1], seed=3)
    fit(new_config(packed_cifar, tmp_path / "imperative", num_epochs=2, hybridize=False, **common))
    fit(new_config(packed_cifar, tmp_path / "straight", num_epochs=2, **common))
    fit(new_config(packed_cifar, tmp_path / "resumed", num_epochs=1, **common))
    _fails("trained with --hybridize False, not True", "--save-dir", tmp_path / "imperative", "--resume",
           "--num-epochs", 3, "--hybridize")
    fit(resumed_config(tmp_path / "resumed", num_epochs=2), resume=True)
    a, b, c = (_params(tmp_path / d / "checkpoint-0002.params") for d in ("straight", "resumed", "imperative"))
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-6, atol=1e-7, err_msg=k)
    # The two paths round differently (per CPU: oneDNN picks other kernels), and 12 SGD steps carry that
    # on; judged against how far the weights moved in epoch 2: 2.3 % of it on an AVX-512 Xeon (2026-12-02).
    a1 = _params(tmp_path / "straight" / "checkpoint-0001.params")
    trained = [k for k in a if "running" not in k]
    norm = lambda d: np.sqrt(sum(float((d[k] ** 2).sum()) for k in trained))  # noqa: E731
    assert norm({k: c[k] - a[k] for k in trained}) < 0.1 * norm({k: a[k] - a1[k] for k in trained})


def _train_cmd(data_dir, save, *extra):
    return [sys.executable, os.path.join(ROOT, "tools", "train.py"), "--data-dir", data_dir, "--save-dir", str(save),
            *map(str, extra)]


@pytest.mark.slow
def test_intel_openmp_trains_bit_for_bit_as_libgomp(tmp_path, packed_cifar):
    """train.py under the default runtime (Intel OpenMP, loaded ahead of MXNet) and under libgomp
    (GLUON_RESNET_OPENMP=gnu), same seed, two OpenMP threads: the same weights to the last bit, and the
    start-up line names the runtime."""
    if compat.intel_openmp_library() is None:
        pytest.skip("intel-openmp is not installed (it has wheels for x86_64 only)")
    runs = {}
    for runtime, name in threads.OPENMP_RUNTIMES.items():
        env = {**os.environ, threads.OPENMP_ENV: runtime, "OMP_NUM_THREADS": "2"}
        r = subprocess.run(_train_cmd(packed_cifar, tmp_path / runtime, "--n", 1, "--batch-size", 20,
                                      "--num-epochs", 2, "--seed", 4), env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert f"1 x cpu ({name}), static graph float32" in (tmp_path / runtime / "train.log").read_text()
        runs[runtime] = _params(tmp_path / runtime / "checkpoint-0002.params")
    assert runs["intel"].keys() == runs["gnu"].keys()
    for k, v in runs["gnu"].items():
        assert np.array_equal(runs["intel"][k], v), k


@pytest.mark.slow
@pytest.mark.parametrize("epochs", [1, 3])
def test_ctrl_c_in_a_short_epoch_stops_within_it_and_never_exits_0(tmp_path, packed_digits, epochs):
    """Digits at batch 128 run 12 batches an epoch, fewer than SYNC_EVERY: MXNet's engine used to get the
    whole epoch queued, so a Ctrl-C waited for its end, and one in the last epoch was lost (exit 0)."""
    save, epoch = tmp_path / "run", 2 if epochs > 1 else 1
    progress = ProgressListener()  # the reports a launcher would get: Ctrl-C once a batch of the epoch is done
    proc = subprocess.Popen(_train_cmd(packed_digits, save, "--n", 3, "--num-epochs", epochs),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **progress.env})
    progress.reached((epoch, TRAINING, 1), 120, alive=lambda: proc.poll() is None)
    progress.close()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    stopped = re.search(rf"stopped by SIGINT during epoch {epoch} \(after batch (\d+) of 12\)", err)
    assert stopped and int(stopped.group(1)) < 12, err[-2000:]  # within the epoch, not at its end
    assert not (save / f"checkpoint-{epoch:04d}.json").exists() and not (save / "summary.json").exists()
    hint = "No epoch was complete: run the same command again" if epoch == 1 else \
        f"Resume with: {python()} tools/train.py --save-dir {save} --resume"
    assert hint in err


def test_a_run_stopped_after_its_last_epoch_resumes_to_its_export(tmp_path, packed_digits):
    save = tmp_path / "run"
    r = subprocess.run(_train_cmd(packed_digits, save, "--n", 1, "--num-epochs", 1), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("summary.json", "model-symbol.json", "model-0000.params"):
        os.remove(save / name)  # as a stop during the last checkpoint leaves it: saved, not finished
    r = subprocess.run(_train_cmd(packed_digits, save, "--resume"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (save / "summary.json").exists() and (save / "model-symbol.json").exists()
    r = subprocess.run(_train_cmd(packed_digits, save, "--resume"), capture_output=True, text=True)
    assert r.returncode == 2 and "has finished 1 epochs already" in r.stderr


def test_resume_on_another_number_of_devices_is_refused(cifar_run):
    _fails(r"was trained on 1 CPU device\(s\) \(--cpus 1\), not 2 \(--cpus 2\): each device normalizes",
           "--save-dir", cifar_run, "--resume", "--num-epochs", 3, "--cpus", 2)


def test_a_batch_larger_than_the_dataset_is_one_line_and_leaves_nothing(tmp_path, packed_cifar):
    save = tmp_path / "run"
    r = subprocess.run(_train_cmd(packed_cifar, save, "--n", 1), capture_output=True, text=True)  # 60 images, 128
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: --batch-size 128 is more than the 60 training images; pass --batch-size 60 or less"
    assert not save.exists()


def test_a_library_users_log_handler_stays_and_hears_the_run(tmp_path, packed_cifar):
    """fit() replaces the handlers an earlier fit() added, never one of its caller's."""
    import logging
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    mine = Keep()
    logging.getLogger("gluon_resnet").addHandler(mine)
    try:
        for name in ("a", "b"):
            fit(new_config(packed_cifar, tmp_path / name, n=1, batch_size=20, num_epochs=1))
        handlers = logging.getLogger("gluon_resnet").handlers
        ours = [h for h in handlers if getattr(h, "gluon_resnet_run", False)]
        assert mine in handlers and len(ours) == 2 and ours[1].baseFilename.endswith("b/train.log")  # stderr, b's log
        assert sum("epoch   1/1" in r for r in records) == 2
    finally:
        logging.getLogger("gluon_resnet").removeHandler(mine)
