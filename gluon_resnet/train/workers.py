"""WorkerGroup: the workers of one training job and what they share.

One process (`device`, `local`, `nccl`) is a group of one. Under `dist_sync` / `dist_device_sync`, W
processes started by tools/launch.py each train on their own shard of the data, and every update is
the one a single process would make on the union of their batches:

* the kvstore sums the W workers' gradients (each already summed over the worker's devices), and the
  update divides that sum by the global batch, batch_size x W, as MXNet's Module does for dist*_sync;
  weight decay and momentum are applied once, to that mean gradient, exactly as on one machine;
* rank 0 is the only writer: metrics, checkpoints, logs, plots and exports;
* a per-epoch checksum shows that every worker holds the same parameters.

`dist_async` is not offered: MXNet runs it only with the optimizer on the servers
(update_on_kvstore=True), whose momentum cannot be saved from a worker, so a checkpoint could not resume
it; and each worker's gradient is applied on its own, so it never trains what one machine trains.
"""
import os

import numpy as np

from ..compat import barrier, broadcast_now, mx
from ..errors import Command, JobError, UserError
from ..recipes import STOP_GRACE, STOP_GRACE_ENV

SYNC_KVSTORES = ("dist_sync", "dist_device_sync")
DIST_ENV = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER", "DMLC_NUM_WORKER")
CHECKSUM_KEY = 2 ** 30  # a kvstore key no parameter uses (gluon.Trainer numbers them from 0)


class WorkerGroup:
    """rank, size, the kvstore gluon.Trainer gets, the gradient scale, the writer, the barrier."""

    def __init__(self, kv_store, ctxs):
        if kv_store == "nccl" and ctxs[0].device_type != "gpu":
            raise UserError("--kv-store nccl needs GPUs; on CPU contexts use --kv-store device")
        self.name = kv_store
        if not kv_store.startswith("dist"):
            self.kvstore, self.rank, self.size = kv_store, 0, 1
            return
        if kv_store not in SYNC_KVSTORES:
            raise UserError(f"--kv-store {kv_store} is not supported: use dist_sync (see --help)")
        missing = [v for v in DIST_ENV if v not in os.environ]
        if missing:
            raise UserError(f"--kv-store {kv_store} needs a scheduler, servers and workers: start them with `",
                            Command("tools/launch.py", "-n", "WORKERS", "--"), " ",
                            Command("tools/train.py", "--kv-store", kv_store, "..."), f"` (missing {', '.join(missing)})")
        self.kvstore = mx.kv.create(kv_store)
        self.rank, self.size = self.kvstore.rank, self.kvstore.num_workers

    @property
    def dist(self):
        return self.name.startswith("dist")

    @property
    def is_writer(self):
        """Only rank 0 writes anything under --save-dir."""
        return self.rank == 0

    @property
    def update_on_kvstore(self):
        # False: every worker updates from the summed gradients itself, so the optimizer state (momentum)
        # lives on the workers, where a checkpoint can save it. None lets gluon choose on one machine.
        return False if self.dist else None

    def grad_scale(self, batch_size):
        """What trainer.step() divides the aggregated gradient by: the batch it was summed over."""
        return batch_size * self.size

    @property
    def hard_exit_after(self):
        """A dist worker blocked in the kvstore never returns to Python: StopSignals' alarm ends it this many
        seconds after SIGTERM or Ctrl-C (the job's stop grace, which the launcher passes in STOP_GRACE_ENV)."""
        if not self.dist:
            return None
        value = os.environ.get(STOP_GRACE_ENV, str(STOP_GRACE))
        if not value.isdigit() or int(value) < 1:
            raise UserError(f"{STOP_GRACE_ENV}={value!r}: give a whole number of seconds, at least 1 "
                            f"(launch.py --stop-grace sets it)")
        return int(value)

    def start(self, trainer):
        """Before the first step: every worker holds rank 0's parameters. gluon.Trainer broadcasts them
        lazily, inside the first step, where the engine may order that pull after the first gradient
        push: a worker then starts from summed gradients instead of weights (seen under --launcher ssh,
        caught by the checksum). Broadcast now, and let nobody push before all hold their copy."""
        if not self.dist:
            return
        broadcast_now(trainer)
        mx.nd.waitall()
        self.barrier()
        self.kvstore.init(CHECKSUM_KEY, mx.nd.zeros(2 * self.size, dtype="float64"))

    def barrier(self):
        if self.dist:
            barrier(self.kvstore)

    def check_in_sync(self, net, ctx, epoch):
        """Every worker applied the same updates, so all hold the same trainable parameters. Each puts
        (sum, sum of squares) of its own in its own slot of a vector the servers add up (x + 0 is exact,
        whatever precision the servers add in), so every worker sees everyone's and compares. Returns this
        worker's parameter sum; raises JobError when the workers differ. None outside a dist job."""
        if not self.dist:
            return None
        arrays = [p.data(ctx).asnumpy().astype(np.float64)
                  for p in net.collect_params().values() if p.grad_req != "null"]
        mine = np.zeros((self.size, 2))
        mine[self.rank] = sum(a.sum() for a in arrays), sum((a * a).sum() for a in arrays)
        table = mx.nd.zeros(mine.size, dtype="float64")
        self.kvstore.push(CHECKSUM_KEY, mx.nd.array(mine.ravel(), dtype="float64"))
        self.kvstore.pull(CHECKSUM_KEY, out=table)
        table = table.asnumpy().reshape(mine.shape)
        if not (table == table[self.rank]).all():
            raise JobError(f"worker {self.rank}'s parameters differ from the others' after epoch {epoch} "
                           f"(parameter sums {', '.join(f'{v:.10g}' for v in table[:, 0])} on workers 0-"
                           f"{self.size - 1}): the workers are out of sync")
        return float(table[self.rank, 0])

    def describe(self, batch_size):
        if not self.dist:
            return f"batch {batch_size}"
        return (f"{self.size} workers, batch {batch_size} per worker, {self.grad_scale(batch_size)} per update "
                f"(the gradients of all workers are averaged)")
