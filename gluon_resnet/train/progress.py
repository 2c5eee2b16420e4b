"""A worker's progress, told to the launcher of its dist job (cluster/supervision.py watches it): one UDP
datagram each time the training loop moves on (a batch done, a validation batch, a checkpoint), saying what
it does now and where that is in the run. Only the training loop reports progress, so a job whose workers
all stop is seen as stalled whatever holds it. Besides, a thread says every HEARTBEAT seconds that the
process is alive: it falls silent when the process is stopped or holds the interpreter, which tells the
worker that hangs from those that wait for it in the kvstore. Outside a launcher job (no PROGRESS_ENV)
nothing is sent."""
import json
import os
import socket
import threading
import time

from ..recipes import PROGRESS_ENV, ROLE_ENV

# Where a report stands in the run, after the epoch: its training batches, then the writer's validation, its
# checkpoint, and the end of the run.
TRAINING, VALIDATING, SAVING, FINISHING = range(4)
HEARTBEAT = 1.0


class Reporter:
    def __init__(self, address=None, role=None):
        self.role, self.last = role, None
        self.sock = None
        if address:
            host, _, port = address.rpartition(":")
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:  # connected: bound to the route's address, and it takes datagrams from the launcher only
                self.sock.connect((host, int(port)))
            except OSError:  # no route yet: the reports are lost, and the stall check says so
                self.sock.close()
                self.sock = None

    @classmethod
    def from_env(cls):
        return cls(os.environ.get(PROGRESS_ENV), os.environ.get(ROLE_ENV))

    def starting(self):
        self._send("starting", 0, TRAINING, 0)
        if self.sock is not None:
            threading.Thread(target=self._beat, daemon=True, name="progress heartbeat").start()

    def _beat(self):
        alive = json.dumps({"role": self.role, "pid": os.getpid()}).encode()
        while True:
            try:
                self.sock.send(alive)
            except OSError:
                pass
            time.sleep(HEARTBEAT)

    def training(self, epoch, batch, of, first=False):
        """`first`: the first batch of this process, in which the graph is built."""
        self._send(f"epoch {epoch}, batch {batch} of {of}{' (the first: the graph is built)' if first else ''}",
                   epoch, TRAINING, batch)

    def validating(self, epoch, batch):
        self._send(f"validating after epoch {epoch}, batch {batch}", epoch, VALIDATING, batch)

    def saving(self, epoch):
        self._send(f"saving the checkpoint of epoch {epoch}", epoch, SAVING, 0)

    def finishing(self, epoch, what):
        self._send(what, epoch, FINISHING, 0)

    def _send(self, what, *at):
        """Never raises: a lost report is what the launcher's stall check is for."""
        if self.sock is None or what == self.last:
            return
        self.last = what
        message = json.dumps({"role": self.role, "pid": os.getpid(), "what": what, "at": at}).encode()
        try:
            self.sock.send(message)
        except OSError:
            pass
