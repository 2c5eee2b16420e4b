import pytest

from gluon_resnet import count_macs, count_parameters, get_model, model_table
from gluon_resnet.summary import weight_layers

# Independent figures: He et al. 2015 (0.27M, 0.46M, 0.85M, 1.7M parameters, option A) and the
# recipe's forward multiply-adds per 32x32 image.
PAPER_PARAMS = {3: 0.27e6, 5: 0.46e6, 9: 0.85e6, 18: 1.7e6}
RECIPE_MACS = {3: 40.55e6, 5: 68.86e6, 9: 125.49e6, 18: 252.89e6}


@pytest.mark.parametrize("n", sorted(PAPER_PARAMS))
def test_cifar_parameters_macs_and_depth(n):
    net = get_model("cifar10", n)
    # The paper rounds to two significant digits: within half a unit of the last one.
    assert abs(count_parameters(net) - PAPER_PARAMS[n]) <= (0.005e6 if n < 18 else 0.05e6)
    assert abs(count_macs(net, 32) - RECIPE_MACS[n]) <= 0.005e6
    assert len(weight_layers(net)) == 6 * n + 2 == net.depth


@pytest.mark.parametrize("n", [1, 2, 9])
def test_miniplaces_depth(n):
    net = get_model("miniplaces", n)
    assert len(weight_layers(net)) == 8 * n + 2 == net.depth


def test_projection_shortcuts_do_not_count_in_depth():
    net = get_model("cifar10", 3, shortcut="B")
    assert len(weight_layers(net)) == 20


def test_macs_scale_with_input_area():
    net = get_model("cifar10", 3)
    conv = count_macs(net, 32) - 640  # minus the 64x10 dense layer
    assert count_macs(net, 64) - 640 == 4 * conv


def test_model_table_lists_the_family():
    table = model_table()
    assert "CifarResNet(n=18)" in table and "269,732" in table and "40.55M" in table
    assert "MiniPlacesResNet(n=9)" in table
