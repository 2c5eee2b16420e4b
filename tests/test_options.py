"""tools/train.py's options: MXNet fit.py's names, recipe defaults left unset until resolved."""
from gluon_resnet.options import floats, train_parser


def test_lr_step_epochs_are_floats():
    assert floats("90,135") == [90.0, 135.0] and all(isinstance(x, float) for x in floats("90,135"))
    assert floats("15,22.5") == [15.0, 22.5] and floats("") == []


def test_fit_py_names_and_unset_recipe_values():
    args = train_parser().parse_args(["--gpus", "0,1", "--kv-store", "nccl", "--lr-step-epochs", "40,70"])
    assert args.gpus == "0,1" and args.kv_store == "nccl" and args.lr_step_epochs == [40.0, 70.0]
    assert args.lr is None and args.wd is None and args.num_epochs is None  # filled from the recipe later
    assert args.export == "final"
