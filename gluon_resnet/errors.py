"""Errors that end a command with a one-line message and an exit code (no traceback).

`UserError` is bad input the user can fix; `SetupError` a missing piece of the installation; `TrainingDiverged` and
`Interrupted` are how a run ends early. A message is text with `Command`s among it: what to do, as data. The command
line (gluon_resnet.cli) prints `error: <message>` with each command as this machine runs it, and exits with
`exit_code`.
"""
import shlex


class Command:
    """A command of this project: `script` (its path in the repository: tools/train.py, ...) with `args`,
    after `prefix` (a launcher's command, as typed). `shown(words)` writes it with `words(script)`, the
    words that run the script here; str() gives the script's path and the arguments."""

    def __init__(self, script, *args, prefix=""):
        self.script, self.args, self.prefix = script, tuple(map(str, args)), prefix

    def shown(self, words=None):
        line = shlex.join([*(words(self.script) if words else [self.script]), *self.args])
        return f"{self.prefix} {line}" if self.prefix else line

    def __str__(self):
        return self.shown()

    def __eq__(self, other):
        return isinstance(other, Command) and (self.script, self.args, self.prefix) == (
            other.script, other.args, other.prefix)

    def __repr__(self):
        return f"Command({self.shown()!r})"


def render(parts, words=None):
    """Text and Commands joined into one line, each Command `shown(words)`."""
    return "".join(p.shown(words) if isinstance(p, Command) else str(p) for p in parts)


class JobError(Exception):
    """A one-line, actionable message made of `parts` (text and Commands); the command exits with
    `exit_code`."""
    exit_code = 2

    def __init__(self, *parts):
        self.parts = parts
        super().__init__(render(parts))

    def render(self, words=None):
        return render(self.parts, words)


class UserError(JobError):
    """Bad input the user can fix: a missing file, a contradicting option, a corrupt record."""


class SetupError(JobError):
    """The installation lacks something MXNet needs (a package, a system library)."""
    exit_code = 1


class TrainingDiverged(JobError):
    """The loss became NaN or infinite; the last good checkpoint stays on disk."""
    exit_code = 3


class Interrupted(JobError):
    """Ctrl-C or SIGTERM: the run stopped between batches; the last checkpoint is complete."""

    def __init__(self, signum, *parts):
        super().__init__(*parts)
        self.exit_code = 128 + signum
