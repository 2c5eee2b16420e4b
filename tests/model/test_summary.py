"""Parameter and multiply-add counts against figures computed here by hand from the layer shapes, and
against the paper's rounded parameter counts (He et al. 2015: 0.27M, 0.46M, 0.85M, 1.7M, option A)."""
import pytest

from gluon_resnet import count_macs, count_parameters, get_model, model_table
from gluon_resnet.compat import mx
from gluon_resnet.model.resnet import ProjectionShortcut

nn = mx.gluon.nn

PAPER_PARAMS = {3: 0.27e6, 5: 0.46e6, 9: 0.85e6, 18: 1.7e6}


def cifar_by_hand(n):
    """(parameters, MACs at 32x32) of the 6n+2 CIFAR ResNet, option A: bias-free 3x3 convs each followed
    by a BatchNorm (gamma, beta), stages of 16/32/64 filters at 32/16/8 pixels, a bias-free 64 -> 10
    dense and a BatchNorm(10). Shortcuts have no parameters and no multiply-adds."""
    convs = [(3, 16, 32)]  # (in channels, out channels, output side)
    cin = 16
    for width, side in ((16, 32), (32, 16), (64, 8)):
        for _ in range(2 * n):
            convs.append((cin, width, side))
            cin = width
    params = sum(9 * i * o + 2 * o for i, o, _ in convs) + 64 * 10 + 2 * 10
    macs = sum(side * side * o * 9 * i for i, o, side in convs) + 64 * 10
    return params, macs


@pytest.mark.parametrize("n", sorted(PAPER_PARAMS))
def test_cifar_counts(n):
    net = get_model("cifar10", n)
    params, macs = cifar_by_hand(n)
    assert count_parameters(net) == params and count_macs(net, 32) == macs
    # The paper rounds to two significant digits: within half a unit of the last one.
    assert abs(params - PAPER_PARAMS[n]) <= (0.005e6 if n < 18 else 0.05e6)


def _main_path_layers(net):
    """Conv and dense layers outside the option-B projections (which the paper does not count in depth)."""
    found, stack = 0, [net]
    while stack:
        b = stack.pop()
        if isinstance(b, ProjectionShortcut):
            continue
        found += isinstance(b, (nn.Conv2D, nn.Dense))
        stack.extend(b._children.values())
    return found


@pytest.mark.parametrize("dataset,n,per_n", [("cifar10", 3, 6), ("cifar10", 18, 6), ("miniplaces", 1, 8),
                                             ("miniplaces", 9, 8)])
def test_depth_is_the_layers_on_the_main_path(dataset, n, per_n):
    net = get_model(dataset, n)
    assert _main_path_layers(net) == per_n * n + 2 == net.depth
    assert _main_path_layers(get_model(dataset, n, shortcut="B")) == net.depth


def test_macs_scale_with_input_area():
    net = get_model("cifar10", 3)
    conv = count_macs(net, 32) - 640  # minus the 64x10 dense layer
    assert count_macs(net, 64) - 640 == 4 * conv


def test_model_table_lists_the_family():
    params, macs = cifar_by_hand(18)
    table = model_table()
    assert f"{params:,}" in table and f"{macs / 1e6:.2f}M" in table and "MiniPlacesResNet(n=9)" in table
