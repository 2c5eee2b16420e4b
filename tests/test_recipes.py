"""The CIFAR recipe against neon's own script (../shared/reference/neon_cifar10_msra.py): its optimizer
line is parsed, not copied."""
import os
import re

import pytest
from conftest import ROOT

from gluon_resnet.recipes import RECIPES, family_of

NEON = os.path.join(os.path.dirname(ROOT), "shared", "reference", "neon_cifar10_msra.py")


@pytest.mark.skipif(not os.path.exists(NEON), reason="the neon reference files are not beside this checkout")
def test_cifar_recipe_is_what_neons_script_runs():
    text = open(NEON).read()
    m = re.search(r"GradientDescentMomentum\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*wdecay\s*=\s*([\d.e-]+)\s*,\s*"
                  r"schedule\s*=\s*Schedule\(\s*\[([\d,\s]+)\]\s*,\s*([\d.]+)\s*\)", text)
    lr, mom, wd, steps, factor = float(m[1]), float(m[2]), float(m[3]), m[4], float(m[5])
    r = RECIPES["cifar"]
    assert (r.lr, r.momentum, r.wd, r.lr_factor) == (lr, mom, wd, factor)
    assert r.lr_step_epochs == tuple(int(s) for s in steps.split(","))


def test_every_other_dataset_takes_the_cifar_recipe():
    assert family_of("miniplaces") == "miniplaces"
    assert {family_of(d) for d in ("cifar10", "digits", "folder", "my-photos")} == {"cifar"}
