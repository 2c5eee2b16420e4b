"""A run's report: the final epoch is the headline, the best one is labelled as selected on validation."""
import pytest

from gluon_resnet.train.report import BEST_LABEL, closing_line, epoch_line, neon_table, summary_of
from gluon_resnet.runs.folder import Run


def _rows():
    errs = [0.5, 0.2, 0.3]  # the best (epoch 2) is not the last
    return [{"epoch": e + 1, "lr": 0.1, "train_loss": 1.0, "train_top1_err": 0.4, "val_top1_err": v,
             "val_top5_err": v / 10, "epoch_seconds": 2.0 + e, "images_per_second": 100.0 * (e + 1),
             "gpu_memory_mib": None, "host_rss_mib": 500.0 + e} for e, v in enumerate(errs)]


def test_headline_is_the_final_epoch(cifar_run):
    state = Run(cifar_run).last_checkpoint()
    s = summary_of(_rows(), state, "final", 1234)
    assert (s.val_top1_err, s.val_top5_err, s.epochs) == (0.3, pytest.approx(0.03), 3)
    assert (s.best_epoch, s.best_val_top1_err) == (2, 0.2)
    assert s.seconds_per_epoch == 3.0 and s.images_per_second == 200.0 and s.total_seconds == 9.0
    assert s.peak_gpu_memory_mib is None and s.peak_host_rss_mib == 502.0
    assert s.model == "ResNet-8" and s.parameters == 1234 and s.exported_selection == "final"
    table = neon_table(s)
    assert "|              30.00 |" in table and "502 MiB (host)" in table
    line = closing_line(s, Run(cifar_run))
    assert "final epoch 3: val top-1 30.00%" in line and f"{BEST_LABEL}: 2, 20.00%" in line


def test_gpu_memory_is_named_as_such(cifar_run):
    rows = _rows()
    rows[1]["gpu_memory_mib"] = 860.0
    s = summary_of(rows, Run(cifar_run).last_checkpoint(), "final", 1)
    assert s.peak_gpu_memory_mib == 860.0 and "|          860 MiB |" in neon_table(s)


def test_epoch_line_without_validation():
    row = {**_rows()[0], "val_top1_err": None, "val_top5_err": None}
    assert "val -" in epoch_line(row, 3) and "epoch   1/3" in epoch_line(row, 3)
