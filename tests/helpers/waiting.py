"""Waiting in the tests for something that happens in another process, without a sleep tuned to one CPU."""
import json
import socket
import time

from gluon_resnet.recipes import PROGRESS_ENV, ROLE_ENV


def wait_until(condition, timeout, what, interval=0.2, alive=None, said=None):
    """Call `condition()` every `interval` seconds until it returns a true value, and return that value.
    AssertionError naming `what` after `timeout` seconds, or at once when `alive()` says the process it
    waits on has ended; `said()` adds what that process wrote."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        ended = alive is not None and not alive()
        if ended or time.monotonic() > deadline:
            why = f"ended while waiting for {what}" if ended else f"no {what} within {timeout} s"
            raise AssertionError(f"{why}{f': {said()}' if said else ''}")
        time.sleep(interval)


class ProgressListener:
    """The reports a training process sends its launcher (train/progress.py), received here: `env` makes a
    process started outside a launcher send them; `reached(at)` waits until one stands at or past `at`
    ((epoch, step, batch))."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.env = {PROGRESS_ENV: f"127.0.0.1:{self.sock.getsockname()[1]}", ROLE_ENV: "worker 0"}
        self.last = None

    def _read(self):
        while True:
            try:
                d = json.loads(self.sock.recv(65536))
            except BlockingIOError:
                return self.last
            if "at" in d:
                self.last = tuple(d["at"])

    def reached(self, at, timeout, alive=None):
        return wait_until(lambda: (self._read() or ()) >= tuple(at) and self.last, timeout,
                          f"a progress report at {at}", interval=0.02, alive=alive)

    def close(self):
        self.sock.close()
