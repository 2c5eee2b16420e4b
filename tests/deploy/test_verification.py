"""verify: every runtime's errors, throughput and agreement with MXNet; absent runtimes never pass; bad input."""
import json
import os
import shutil
import subprocess
import sys

import onnx
import pytest

from gluon_resnet.deploy import onnx_io, runtimes
from gluon_resnet.deploy.verification import verify
from gluon_resnet.errors import UserError
from gluon_resnet.runs.folder import Run

from conftest import ROOT


@pytest.mark.parametrize("run", ["cifar_run", "miniplaces_run"])
def test_verify_reports_equal_errors_in_every_runtime(run, request):
    report = verify(request.getfixturevalue(run))
    assert report["ok"] and set(report["runtimes"]) == {"onnxruntime", "openvino", "opencv"}
    for name, row in report["runtimes"].items():
        assert row["status"] == "ran" and row["judged_by"] == "parity" and row["agreement"]["top1_agreement"] == 1
        for key in ("single", "multiscale"):
            assert row[key] == report["mxnet"][key], name
        assert row["images_per_second"] > 0


def test_absent_runtime_is_reported_absent_not_passed(cifar_run, monkeypatch):
    real = runtimes.installed
    monkeypatch.setattr(runtimes, "installed", lambda name: name != "opencv" and real(name))
    report = verify(cifar_run, runtime_names=["onnxruntime", "opencv"])
    assert report["runtimes"]["opencv"] == {"status": "absent", "ok": None}
    assert report["ok"]  # onnxruntime ran and passed
    report = verify(cifar_run, runtime_names=["opencv"])
    assert not report["ok"]  # nothing ran: not a pass


def test_evaluate_tool_matches_verify(cifar_run):
    tool = os.path.join(ROOT, "tools", "evaluate.py")
    out = subprocess.run([sys.executable, tool, "--save-dir", cifar_run, "--json"],
                         capture_output=True, text=True, check=True).stdout
    report = verify(cifar_run, runtime_names=["onnxruntime"])
    assert json.loads(out.strip().splitlines()[-1]) == {k: report["mxnet"][k] for k in ("single", "multiscale")}


def test_verify_cli_writes_its_report(cifar_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(cifar_run, runs / "r")
    for f in ("model.onnx", "verify.json", "model.int8.onnx"):
        if (runs / "r" / f).exists():
            (runs / "r" / f).unlink()
    r = subprocess.run([sys.executable, os.path.join(ROOT, "onnx_export", "verify.py"), "--runtime",
                        "onnxruntime,opencv"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "onnxruntime (fp32)" in r.stdout and "opencv (fp32)" in r.stdout and "OK" in r.stdout
    report = json.load(open(runs / "r" / "verify.json"))["fp32"]
    assert set(report["runtimes"]) == {"onnxruntime", "opencv"}
    for row in report["runtimes"].values():
        assert {"max_abs_diff", "max_rel_diff", "top1_agreement"} <= set(row["agreement"])
        assert {"top1_err", "top5_err"} <= set(row["single"]) and {"top1_err", "top5_err"} <= set(row["multiscale"])
    assert os.path.exists(runs / "r" / "model.onnx")  # exported because it was missing


def test_no_run_found(tmp_path):
    with pytest.raises(UserError, match="no trained run under .*tools/train.py"):
        Run.most_recent(str(tmp_path / "runs"))


def test_not_an_onnx_file(cifar_run, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 this is not protobuf" * 10)
    with pytest.raises(UserError, match="is not an ONNX model"):
        verify(cifar_run, onnx_path=str(junk))


def test_onnx_file_not_made_here(cifar_run, tmp_path):
    model = onnx.load(onnx_io.export(cifar_run))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "foreign.onnx"))
    with pytest.raises(UserError, match="not exported by gluon-resnet: its metadata lacks classes"):
        verify(cifar_run, onnx_path=str(tmp_path / "foreign.onnx"))


def test_model_and_dataset_disagree(cifar_run, packed_miniplaces):
    with pytest.raises(UserError, match="predicts 10 classes but .* has 3"):
        verify(cifar_run, data_dir=packed_miniplaces)


def test_verify_cli_bad_input_exit_code(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "onnx_export", "verify.py")], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no trained run" in r.stderr and "Traceback" not in r.stderr


def test_model_input_size_and_dataset_disagree(cifar_run, packed_cifar, tmp_path):
    other = tmp_path / "packed48"
    shutil.copytree(packed_cifar, other)
    meta = json.load(open(other / "dataset.json"))
    meta["crop_size"] = 48
    json.dump(meta, open(other / "dataset.json", "w"))
    with pytest.raises(UserError, match="expects 32px inputs but .* is packed for 48px crops"):
        verify(cifar_run, data_dir=str(other))
