"""The port against neon itself: neon's own files (tests/fixtures/neon) imported as runs give neon's logits in
MXNet and in every exact ONNX runtime; the port's training step from neon's init gives neon's losses,
parameters and momentum; an imported checkpoint resumes on neon's momentum and schedule."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.fileio import digest
from gluon_resnet.model import neon
from gluon_resnet.recipes import CIFAR10_CLASSES
from gluon_resnet.runs.folder import Run

from tests.conftest import ROOT, train_command
from tests.model.test_neon import MP, V1, V2

# neon's logits against the port's (float32), relative to the largest |logit|
LOGIT_TOL = 1e-5


def import_command(*argv):
    from gluon_resnet.cli.import_neon import main
    return main.__wrapped__([str(a) for a in argv])


def neon_inputs(folder, n=None):
    """The fixture's images as neon saw them: (raw 0-255 as float32) minus the channel means, NCHW."""
    io = np.load(os.path.join(folder, "io.npz"))
    raw = io["raw"][:n].astype(np.float32)
    return raw - io["chan_mean"].astype(np.float32).reshape(1, 3, 1, 1), io


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("folder, prm, key", [
    (V1, "after3.prm", "infer_after_logits"),         # neon 1.2.1, float32, ResNet-20
    (V1, "bnwarm.prm", "infer_bnwarm_logits"),
    (V2, "after3.prm", "infer_after_logits"),         # neon 2.6, float64, ResNet-8
    (MP, "after3_nostates.prm", "infer_after_logits"),  # neon 2.6, float32, Mini-Places2 ResNet-10
])
def test_an_imported_file_gives_neons_logits(tmp_path, folder, prm, key):
    import_command(os.path.join(folder, prm), "--save-dir", tmp_path / "run", "--channels", "rgb")
    net, state = Run(tmp_path / "run").load_model()
    x, io = neon_inputs(folder)
    x = x[:io[key].shape[1]]  # neon's inference ran on the first batch
    assert rel(net(mx.nd.array(x)).asnumpy(), io[key].T) < LOGIT_TOL
    record = json.loads((tmp_path / "run" / "imported.json").read_text())
    assert record["sha256"] == digest(os.path.join(folder, prm))["sha256"] and record["epoch_index"] == state.epoch == 1


@pytest.mark.parametrize("folder, prm, key", [
    (V1, "after3.prm", "infer_after_logits"), (V1, "bnwarm.prm", "infer_bnwarm_logits"),
    (V2, "after3.prm", "infer_after_logits"), (MP, "after3_nostates.prm", "infer_after_logits")])
def test_the_export_of_an_imported_file_gives_neons_logits_in_every_exact_runtime(tmp_path, folder, prm, key):
    from gluon_resnet.cli.export import main as export
    from gluon_resnet.deploy import runtimes
    import_command(os.path.join(folder, prm), "--save-dir", tmp_path / "run", "--channels", "rgb")
    onnx = export.__wrapped__(["--save-dir", str(tmp_path / "run")])
    x, io = neon_inputs(folder)
    x = x[:io[key].shape[1]]
    ran = []
    for name in runtimes.parse(None):   # the runtimes verify.py judges by parity
        if runtimes.installed(name):
            assert rel(runtimes.load(name, onnx)(x), io[key].T) < LOGIT_TOL, name
            ran.append(name)
    assert "onnxruntime" in ran


def test_bgr_import_gives_the_same_logits_on_the_ports_rgb_input(tmp_path):
    """neon's ImageLoader hands the network B, G, R planes: imported with --channels bgr (the default), the
    network gives on the port's RGB planes what neon gave on BGR ones."""
    import_command(f"{V1}/bnwarm.prm", "--save-dir", tmp_path / "run")
    net, _ = Run(tmp_path / "run").load_model()
    x, io = neon_inputs(V1)   # what neon saw, taken as its B, G, R planes
    assert rel(net(mx.nd.array(x[:, ::-1])).asnumpy(), io["infer_bnwarm_logits"].T) < LOGIT_TOL
    assert json.loads((tmp_path / "run" / "imported.json").read_text())["channels"] == "bgr"


def _port_at(prm, dtype):
    """The port's network holding the parameters of neon's file `prm` exactly, in `dtype`."""
    from gluon_resnet.model.resnet import ModelSpec
    model = neon.read(prm)
    net = ModelSpec(model.family, model.n, "A", model.classes).build(ctx=mx.cpu())
    net.cast(dtype)
    for p, (_, a) in zip(net.collect_params().values(), model.params):
        p.set_data(mx.nd.array(a, dtype=dtype))
    return net, model


def _compare(net, trainer, prm):
    """(worst relative difference of the parameters, of the momentum buffers) against neon's file `prm`."""
    ref = neon.read(prm)
    params = list(net.collect_params().values())
    worst_p = max(rel(p.data().asnumpy(), a) if np.abs(a).max() else float(np.abs(p.data().asnumpy()).max())
                  for p, (_, a) in zip(params, ref.params))
    index = {p.name: i for i, p in trainer.optimizer.param_dict.items()}
    states = trainer._updaters[0].states  # the momentum buffers gluon.Trainer keeps without a kvstore
    trained = [p for p in params if p.grad_req != "null"]
    worst_m = max(rel(states[index[p.name]].asnumpy(), v) for p, v in zip(trained, ref.momentum))
    return worst_p, worst_m


def test_three_steps_of_the_ports_training_from_neons_init_give_neons_numbers():
    """fit()'s own step (make_trainer, train_step: SGD, momentum, weight decay on every parameter, the scheduler,
    the static graph) in float64, from neon 2.6's float64 init, on neon's 3 batches without augmentation.
    The bound is what neon's float64 run computes in float32: Convolution and Linear keep their batch sums,
    which the next BatchNorm takes its batch mean from, in a float32 buffer (neon/layers/layer.py), and the cost
    in a float32 one. docs/neon.md: measured 6.5e-7 on the loss, 5e-6 on the parameters and momentum; a float64
    numpy forward with that one rounding gives neon's logits to 4e-15."""
    from gluon_resnet.runs.config import TrainConfig
    from gluon_resnet.train.neon_import import default_meta
    from gluon_resnet.train.steps import make_trainer, train_step
    net, init = _port_at(f"{V2}/init.prm", "float64")
    net.hybridize(static_alloc=True, static_shape=True)
    cfg = TrainConfig.for_recipe(default_meta("cifar10", "cifar").recipe, "", "unused", n=init.n, **init.optimizer)
    trainer = make_trainer(net, cfg, iters_per_epoch=3)
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    x, io = neon_inputs(V2)
    batch = io["train_logits"].shape[2]
    for step, prm in enumerate(["step1.prm", "step2.prm", "after3.prm"]):
        s = slice(step * batch, (step + 1) * batch)
        outs, _, losses = train_step(net, trainer, loss_fn, mx.nd.array(x[s], dtype="float64"),
                                     mx.nd.array(io["labels"][s], dtype="float64"), [mx.cpu()], "float64")
        assert rel(outs[0].asnumpy(), io["train_logits"][step].T) < 5e-6
        assert abs(float(losses[0].mean().asscalar()) - io["losses"][step]) < 2e-6
        worst_p, worst_m = _compare(net, trainer, os.path.join(V2, prm))
        assert worst_p < 2e-5 and worst_m < 2e-5, (prm, worst_p, worst_m)  # no weight decay on gamma: 2.5e-3


def test_an_imported_checkpoint_resumes_on_neons_momentum_and_schedule(tmp_path, packed_cifar):
    """neon's file after 2 steps, imported with a dataset; the trainer restored from the run's .states as fit()
    restores it takes neon's third step (in float32, as fit() trains): neon's momentum buffers and learning
    rate are in it."""
    from gluon_resnet.train.steps import make_trainer, train_step
    save = tmp_path / "run"
    import_command(f"{V2}/step2.prm", "--save-dir", save, "--channels", "rgb", "--data-dir", packed_cifar,
                   "--batch-size", 32)
    run = Run(save)
    state = run.last_checkpoint()
    assert (state.epoch, state.config.batch_size, state.config.lr_step_epochs) == (1, 32, (90.0, 135.0))
    net, _ = _port_at(f"{V2}/step2.prm", "float32")
    trainer = make_trainer(net, state.config, iters_per_epoch=2)
    trainer.load_states(run.params_and_states(state)[1])
    assert trainer.optimizer.num_update == state.num_update == 2  # 60 images in batches of 32: 2 per epoch
    assert trainer.learning_rate == pytest.approx(0.1)
    x, io = neon_inputs(V2)
    s = slice(64, 96)
    train_step(net, trainer, mx.gluon.loss.SoftmaxCrossEntropyLoss(), mx.nd.array(x[s]),
               mx.nd.array(io["labels"][s], dtype="float32"), [mx.cpu()])
    worst_p, worst_m = _compare(net, trainer, f"{V2}/after3.prm")
    assert worst_p < 1e-4 and worst_m < 1e-4, (worst_p, worst_m)
    # without neon's momentum the same step lands elsewhere
    fresh, _ = _port_at(f"{V2}/step2.prm", "float32")
    plain = make_trainer(fresh, state.config, iters_per_epoch=2)
    train_step(fresh, plain, mx.gluon.loss.SoftmaxCrossEntropyLoss(), mx.nd.array(x[s]),
               mx.nd.array(io["labels"][s], dtype="float32"), [mx.cpu()])
    assert _compare(fresh, plain, f"{V2}/after3.prm")[0] > 1e-2


def test_train_resume_continues_an_imported_run_at_neons_epoch_on_its_schedule(tmp_path, packed_cifar):
    """tools/train.py --resume on an imported run: it goes on after neon's epoch, with the learning rate neon's
    schedule gives there (a file saved after epoch 100 of Schedule([90, 135], 0.1): 0.01)."""
    import pickle
    with open(f"{V1}/after3.prm", "rb") as f:
        d = pickle.load(f, encoding="latin1")
    d["epoch_index"] = 100
    late = tmp_path / "epoch100.prm"
    with open(late, "wb") as f:
        pickle.dump(d, f, 2)
    save = tmp_path / "run"
    import_command(late, "--save-dir", save, "--data-dir", packed_cifar, "--batch-size", 20)
    train_command("--save-dir", save, "--resume", "--num-epochs", 101)
    rows = Run(save).read_metrics()
    assert [r["epoch"] for r in rows] == [101] and rows[0]["lr"] == pytest.approx(0.01)
    assert os.path.exists(Run(save).summary)


def test_every_later_tool_reads_an_imported_run(tmp_path, packed_cifar):
    from gluon_resnet.cli.evaluate import main as evaluate
    from gluon_resnet.cli.quantize import main as quantize
    from gluon_resnet.cli.verify import main as verify
    save = tmp_path / "run"
    import_command(f"{V1}/bnwarm.prm", "--save-dir", save, "--data-dir", packed_cifar, "--batch-size", 20)
    result = evaluate.__wrapped__(["--save-dir", str(save), "--json"])
    assert result["images"] == 20 and 0 <= result["single"]["top1_err"] <= 1
    report = verify.__wrapped__(["--save-dir", str(save), "--runtime", "onnxruntime"])
    assert report["runtimes"]["onnxruntime"]["ok"] is True
    quantize.__wrapped__(["--save-dir", str(save), "--images", "40"])
    assert os.path.getsize(Run(save).int8_onnx) > 0
    out = subprocess.run([sys.executable, "onnx_export/predict.py", str(Run(save).onnx),
                          os.path.join(ROOT, "docs", "demo_val_error.png")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert any(name in out.stdout for name in CIFAR10_CLASSES), out.stdout


def test_a_bad_file_is_one_line_and_leaves_nothing(tmp_path):
    from tests.data.test_integrity import _one_line, _tool
    cut = tmp_path / "cut.prm"
    cut.write_bytes(open(f"{V1}/after3.prm", "rb").read()[:5000])
    line = _one_line(_tool("tools/import_neon.py", cut, "--save-dir", tmp_path / "run"), cut, "cut short",
                     exit_code=1)
    assert line and not (tmp_path / "run").exists()
