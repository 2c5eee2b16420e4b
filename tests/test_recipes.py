"""The recipe numbers, against neon's scripts and READMEs (../shared/reference, RECIPE.md)."""
from gluon_resnet.recipes import RECIPES, family_of


def test_cifar_recipe_is_neons():
    r = RECIPES["cifar"]
    assert (r.crop, r.lr, r.wd, r.num_epochs, r.lr_step_epochs) == (32, 0.1, 1e-4, 180, (90, 135))
    assert (r.momentum, r.batch_size, r.lr_factor, r.eval_scales) == (0.9, 128, 0.1, (32, 40, 48))
    assert r.min_random_scale == r.max_random_scale == 1.0


def test_miniplaces_recipe_is_neons():
    r = RECIPES["miniplaces"]
    assert (r.crop, r.lr, r.wd, r.num_epochs, r.lr_step_epochs) == (112, 0.1, 5e-4, 80, (40, 70))
    assert r.eval_scales == (112, 128, 160, 240)
    assert (r.min_random_scale, r.max_random_scale) == (1.0, 240 / 128)  # s in [128, 240] over 128 px


def test_every_other_dataset_takes_the_cifar_recipe():
    assert family_of("miniplaces") == "miniplaces"
    assert {family_of(d) for d in ("cifar10", "digits", "folder", "my-photos")} == {"cifar"}
