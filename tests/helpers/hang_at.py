"""A worker that hangs where a test asks: `python hang_at.py validating|saving EPOCH tools/train.py ARGS...` runs
train.py as written, except that the worker that validates (or saves) epoch EPOCH stops itself with SIGSTOP
right after it has told the launcher so, as a process stuck in a read or a driver would stop: alive, silent,
doing nothing."""
import os
import runpy
import signal
import sys

from gluon_resnet.train.progress import Reporter

step, epoch, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.argv = [script, *sys.argv[4:]]
original = getattr(Reporter, step)  # Reporter.validating(self, epoch, batch) or Reporter.saving(self, epoch)


def reported_then_stopped(self, at_epoch, *args):
    original(self, at_epoch, *args)
    if at_epoch == epoch:
        os.kill(os.getpid(), signal.SIGSTOP)


setattr(Reporter, step, reported_then_stopped)
runpy.run_path(script, run_name="__main__")
