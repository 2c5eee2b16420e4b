"""How a command ends: bad input, a diverged loss and a stop signal are told apart by exit code."""
import signal

import pytest

from gluon_resnet.cli import main_guard
from gluon_resnet.errors import Interrupted, TrainingDiverged, UserError


@pytest.mark.parametrize("error,code", [(UserError("no such file"), 2), (TrainingDiverged("nan"), 3),
                                        (Interrupted(signal.SIGINT, "stopped"), 130)])
def test_main_guard_prints_one_line_and_exits_with_the_code(error, code, capsys):
    def command():
        raise error
    with pytest.raises(SystemExit) as exit_:
        main_guard(command)()
    assert exit_.value.code == code
    assert capsys.readouterr().err == f"error: {error}\n"


@pytest.mark.parametrize("error,code,text", [
    (OSError(28, "No space left on device", "/runs/x/checkpoint-0003.params"), 1,
     "error: No space left on device: /runs/x/checkpoint-0003.params; free some space and run again"),
    (PermissionError(13, "Permission denied", "/data/train.rec"), 2, "error: Permission denied: /data/train.rec\n")])
def test_a_file_error_is_one_line_and_a_full_disk_is_a_failure(error, code, text, capsys):
    def command():
        raise error
    with pytest.raises(SystemExit) as exit_:
        main_guard(command)()
    assert exit_.value.code == code and capsys.readouterr().err.startswith(text)
