"""The start-up path's value classes compare, hash and print by their slots."""

from __future__ import annotations

import pytest

from outflow.core.cli.global_options import GlobalOptions
from outflow.core.plugins.discovery import EntryPointInfo
from outflow.core.plugins.host import LoadOptions


def test_equal_values_make_equal_records():
    first, second = GlobalOptions(), GlobalOptions()
    assert first == second
    second.backend = "parallel"
    assert first != second
    assert first != "GlobalOptions()"  # another type is never equal


def test_mutable_records_are_unhashable_and_frozen_ones_hash_by_value():
    with pytest.raises(TypeError):
        hash(GlobalOptions())
    info = EntryPointInfo("alpha", "alpha.plugin:hooks", "outflow-alpha", "1.0")
    same = EntryPointInfo("alpha", "alpha.plugin:hooks", "outflow-alpha", "1.0")
    assert {info, same} == {info}
    assert LoadOptions(strict=True) in {LoadOptions(strict=True)}
    assert info.module == "alpha.plugin"


def test_repr_names_every_field():
    text = repr(LoadOptions(autoload=False))
    assert text.startswith("LoadOptions(autoload=False, allow=None")
    assert "strict=False" in text
