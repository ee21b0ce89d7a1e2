"""Where the user's code raised, and tracebacks as a person reads them: outflow's
wrappers and frames left out, the part that ran in a worker put back in."""

import os
import pickle
import traceback
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import outflow.core.tracebacks as tracebacks_module
from outflow.core.backends import ItemFailure
from outflow.core.tasks import TaskError
from outflow.core.tracebacks import (
    condense,
    short_location,
    shown_path,
    traceback_text,
    user_frame,
    user_frame_in_text,
)

OUTFLOW_FILE = os.path.join(os.path.dirname(tracebacks_module.__file__), "engine.py")


def _users_code(value: int) -> int:
    if value < 0:
        raise ValueError(f"negative: {value}")
    return value


def _wrapped_error() -> TaskError:
    """A user's error wrapped by a TaskError, as the engine raises it."""
    try:
        try:
            _users_code(-1)
        except ValueError as error:
            raise TaskError("square", error) from error
    except TaskError as wrapped:
        return wrapped
    raise AssertionError("unreachable")


def _text(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def test_the_users_frame_is_found_in_the_error_and_in_its_text() -> None:
    error = _wrapped_error()
    filename, line = user_frame(error)
    assert filename == __file__
    assert "raise ValueError" in Path(filename).read_text().splitlines()[line - 1]
    assert user_frame_in_text(condense(_text(error))) == (filename, line)
    assert short_location((filename, line)) == f"{shown_path(filename)}:{line}"


def test_condense_drops_outflows_wrappers_and_keeps_the_users_error() -> None:
    text = _text(_wrapped_error())
    assert "The above exception was the direct cause" in text
    condensed = condense(text)
    assert "TaskError" not in condensed
    assert "The above exception" not in condensed
    assert condensed.splitlines()[-1] == "ValueError: negative: -1"
    assert 'in _users_code' in condensed


def test_condense_drops_outflows_frames_unless_every_frame_is_outflows() -> None:
    text = ("Traceback (most recent call last):\n"
            f'  File "{OUTFLOW_FILE}", line 69, in call_block\n'
            "    outputs = block(**inputs)\n"
            "              ^^^^^^^^^^^^^^\n"
            '  File "/home/me/pipeline/tasks.py", line 12, in transform\n'
            "    raise KeyError('x')\n"
            "KeyError: 'x'")
    assert condense(text) == ("Traceback (most recent call last):\n"
                              '  File "/home/me/pipeline/tasks.py", line 12, in transform\n'
                              "    raise KeyError('x')\n"
                              "KeyError: 'x'")
    ours = ("Traceback (most recent call last):\n"
            f'  File "{OUTFLOW_FILE}", line 69, in call_block\n'
            "    outputs = block(**inputs)\n"
            "AttributeError: outflow's own bug")
    assert condense(ours) == ours


def test_an_error_raised_while_handling_another_keeps_both_parts() -> None:
    try:
        try:
            _users_code(-2)
        except ValueError:
            {}["missing"]
    except KeyError as error:
        condensed = condense(_text(error))
    assert "ValueError: negative: -2" in condensed
    assert "During handling of the above exception" in condensed
    assert condensed.splitlines()[-1] == "KeyError: 'missing'"


def test_a_failure_from_a_worker_brings_its_traceback_into_the_text() -> None:
    failure = ItemFailure("map m", 3, _wrapped_error())
    back = pickle.loads(pickle.dumps(failure))  # as a worker sends it
    assert back.error.__traceback__ is None
    try:
        raise RuntimeError("the map failed") from back
    except RuntimeError as error:
        text = traceback_text(error)
    assert "in _users_code" in text and text.rstrip().endswith("RuntimeError: the map failed")
    condensed = condense(text)  # the worker's TaskError part is a wrapper: left out
    assert condensed.count("Traceback (most recent call last):") == 2
    assert "TaskError" not in condensed and "ValueError: negative: -1\n" in condensed
    assert condensed.endswith("RuntimeError: the map failed")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_condense_never_fails_and_keeps_the_last_line_of_plain_text(text: str) -> None:
    condensed = condense(text)
    assert isinstance(condensed, str)
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    if lines and "Traceback" not in text and "exception" not in text:
        assert condensed.strip("\n").splitlines()[-1:] == text.strip("\n").splitlines()[-1:]
