"""Parameter and Skipped cross process boundaries: they must pickle."""

# ruff: noqa: UP006, UP007, UP035, UP045 - these tests exercise the `typing` spellings
# (List, Optional, Union...) that the documentation and users write.

import pickle
from typing import List, Optional

import cloudpickle
import pytest

from outflow.core.target import MISSING, Target
from outflow.core.types import Parameter, Skipped, is_skipped


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
@pytest.mark.parametrize("hint", [int, List[int], Optional[str]])
def test_parameter_pickles(dumps, hint):
    marker = Parameter(hint)
    restored = pickle.loads(dumps(marker))
    assert restored == marker and restored.type == hint
    assert hash(restored) == hash(marker)


def test_parameter_is_immutable_and_readable():
    marker = Parameter(int)
    with pytest.raises(AttributeError):
        marker.type = str
    assert repr(marker) == "Parameter(int)"


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_skipped_is_a_singleton_even_after_pickling(dumps):
    assert Skipped() is Skipped()
    assert pickle.loads(dumps(Skipped())) is Skipped()
    assert is_skipped(Skipped()) and is_skipped(Skipped) and not is_skipped(None)


def test_target_pickles_without_its_checker():
    target = Target("x", List[int], default=MISSING)
    assert target.checker() is not None
    restored = pickle.loads(pickle.dumps(target))
    assert restored == target and not restored.optional
    assert restored.checker()([1, 2])
    assert Target("y").checker() is None  # Any: nothing to check


def test_target_names_are_identifiers():
    with pytest.raises(ValueError, match="identifier"):
        Target("not valid")
