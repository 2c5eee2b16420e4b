"""Errors that end a command with a one-line message and an exit code (no traceback).

`UserError` is bad input the user can fix; `SetupError` a missing piece of the installation; `TrainingDiverged` and `Interrupted` are how a run ends
early. Command-line tools print `error: <message>` and exit with `exit_code`.
"""


class JobError(Exception):
    """A one-line, actionable message; the command exits with `exit_code`."""
    exit_code = 2


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

    def __init__(self, message, signum):
        super().__init__(message)
        self.exit_code = 128 + signum
