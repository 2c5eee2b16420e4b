"""tools/train.py's options: MXNet fit.py's names, every option unset until resolved."""
import pytest

from gluon_resnet.options import floats, train_parser


def test_lr_step_epochs_are_floats():
    assert floats("90,135") == [90.0, 135.0] and all(isinstance(x, float) for x in floats("90,135"))
    assert floats("15,22.5") == [15.0, 22.5] and floats("") == []


def test_fit_py_names_and_unset_options():
    args = train_parser().parse_args(["--gpus", "0,1", "--kv-store", "nccl", "--lr-step-epochs", "40,70"])
    assert args.gpus == "0,1" and args.kv_store == "nccl" and args.lr_step_epochs == [40.0, 70.0]
    # Unset options stay None, so that a resume can tell an option given again from a default.
    assert args.lr is None and args.num_epochs is None and args.weights is None and args.data_threads is None


def test_dist_async_is_refused_with_its_reason(capsys):
    with pytest.raises(SystemExit) as e:
        train_parser().parse_args(["--kv-store", "dist_async"])
    assert e.value.code == 2
    assert "dist_async is not supported" in capsys.readouterr().err
    assert "dist_async is not offered" in train_parser().format_help().replace("\n", " ").replace("  ", " ")
