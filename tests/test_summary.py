import pytest

from gluon_resnet import count_macs, count_parameters, get_model, model_table
from gluon_resnet.summary import weight_layers

# The exact counts of this implementation (paper: 0.27M, 0.46M, 0.85M, 1.7M; MACs 40.55M ... 252.89M).
CIFAR = {3: (269_732, 40.55e6), 5: (464_164, 68.86e6), 9: (853_028, 125.49e6), 18: (1_727_972, 252.89e6)}
PAPER_PARAMS = {3: 0.270e6, 5: 0.464e6, 9: 0.853e6, 18: 1.728e6}


@pytest.mark.parametrize("n", sorted(CIFAR))
def test_cifar_parameters_macs_and_depth(n):
    net = get_model("cifar10", n)
    params, macs = CIFAR[n]
    assert count_parameters(net) == params
    assert abs(count_parameters(net) / PAPER_PARAMS[n] - 1) < 0.01
    assert abs(count_macs(net, 32) / macs - 1) < 0.01
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
