"""A dist_sync worker for tests/train/test_workers.py: three training steps of a ResNet-8 on known batches.

Worker r takes its slice of each global batch (the same batches test_workers.py steps on in one
process) and saves its parameters to OUT/rank<r>.params. With a second argument `servers`, the servers run
the optimizer (update_on_kvstore=True, as MXNet's Module does on dist kvstores) instead of the workers.
Run by tools/launch.py: dist_steps.py OUT [servers]."""
import sys

import numpy as np

from gluon_resnet.compat import mx
from gluon_resnet.model.resnet import ModelSpec
from gluon_resnet.recipes import RECIPES
from gluon_resnet.runs.config import TrainConfig
from gluon_resnet.train.steps import make_trainer, train_step
from gluon_resnet.train.workers import WorkerGroup

GLOBAL_BATCH, STEPS = 16, 3
CFG = TrainConfig.for_recipe(RECIPES["cifar"], "data", "run", lr_step_epochs=[], wd=1e-3, kv_store="dist_sync")


def batches():
    rng = np.random.RandomState(7)
    for _ in range(STEPS):
        yield (mx.nd.array(rng.normal(size=(GLOBAL_BATCH, 3, 32, 32))),
               mx.nd.array(rng.randint(0, 10, GLOBAL_BATCH)))


class ServersUpdate(WorkerGroup):
    """The servers run the optimizer (MXNet's own flow: the first step sends it, rescaled, to them)."""
    update_on_kvstore = True


def build():
    mx.random.seed(1)
    return ModelSpec("cifar", 1).build(ctx=[mx.cpu()])


if __name__ == "__main__":
    servers = sys.argv[2:] == ["servers"]
    group = (ServersUpdate if servers else WorkerGroup)("dist_sync", [mx.cpu()])
    net = build()
    trainer = make_trainer(net, CFG, 10, group)
    if not servers:
        group.start(trainer)
    per_worker = GLOBAL_BATCH // group.size
    mine = slice(group.rank * per_worker, (group.rank + 1) * per_worker)
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    for x, y in batches():
        train_step(net, trainer, loss, x[mine], y[mine], [mx.cpu()], grad_scale=group.grad_scale(per_worker))
    net.save_parameters(f"{sys.argv[1]}/rank{group.rank}.params")
