"""How a command ends: bad input, a diverged loss and a stop signal are told apart by exit code."""
import signal

import pytest

from gluon_resnet.cli import main_guard
from gluon_resnet.errors import Interrupted, JobError, TrainingDiverged, UserError


def test_only_bad_input_is_a_user_error():
    assert issubclass(UserError, JobError) and not issubclass(TrainingDiverged, UserError)
    assert not issubclass(Interrupted, UserError)
    assert (UserError("x").exit_code, TrainingDiverged("x").exit_code) == (2, 3)
    assert Interrupted("x", signal.SIGTERM).exit_code == 128 + signal.SIGTERM


@pytest.mark.parametrize("error,code", [(UserError("no such file"), 2), (TrainingDiverged("nan"), 3),
                                        (Interrupted("stopped", signal.SIGINT), 130)])
def test_main_guard_prints_one_line_and_exits_with_the_code(error, code, capsys):
    def command():
        raise error
    with pytest.raises(SystemExit) as exit_:
        main_guard(command)()
    assert exit_.value.code == code
    assert capsys.readouterr().err == f"error: {error}\n"
