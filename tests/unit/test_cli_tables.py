"""The table renderer shared by ``plugins list`` and ``management list_runs``."""

from __future__ import annotations

import io
import sys

import pytest

from outflow.core.cli.tables import (
    TRUNCATE,
    WRAP,
    Column,
    fit_widths,
    format_table,
    terminal_columns,
    truncate,
    wrap,
)


@pytest.mark.parametrize(("columns", "expected"), [("60", 60), ("300", 300), ("", 80),
                                                   ("wide", 80), ("-5", 80)])
def test_terminal_columns_follow_columns_then_the_terminal_then_80(
        monkeypatch: pytest.MonkeyPatch, columns: str, expected: int) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr(sys, "__stdout__", io.StringIO())  # not a terminal
    assert terminal_columns() == expected


def test_a_table_that_fits_is_left_alone() -> None:
    text = format_table([Column("id"), Column("name", WRAP)], [("1", "alpha"), ("22", "b")],
                        width=80)
    assert text.splitlines() == ["id  name", "1   alpha", "22  b"]


def test_long_cells_wrap_or_are_cut_and_keep_columns_stay_whole() -> None:
    columns = [Column("NAME"), Column("LIST", WRAP, min_width=4), Column("MORE", TRUNCATE,
                                                                         min_width=4)]
    rows = [("a-very-long-name", "one, two, three, four, five", "x" * 40)]
    lines = format_table(columns, rows, width=40).splitlines()
    assert max(len(line) for line in lines) <= 40
    assert lines[1].startswith("a-very-long-name  ")
    assert lines[1].endswith("…")
    wrapped = " ".join(line[18:18 + 10].strip() for line in lines[1:])
    assert wrapped == "one, two, three, four, five"


def test_the_widest_column_gives_way_first() -> None:
    columns = [Column("A", WRAP), Column("B", WRAP)]
    assert fit_widths(columns, [10, 100], 50) == [10, 38]
    assert fit_widths(columns, [60, 100], 50) == [24, 24]


def test_minimum_widths_and_keep_columns_may_make_the_table_wider() -> None:
    columns = [Column("NAME"), Column("DESCRIPTION", WRAP, min_width=20)]
    widths = fit_widths(columns, [30, 50], 40)
    assert widths == [30, 20]  # 52 columns: never narrower than the minimum


def test_wrap_breaks_at_spaces_then_after_dots_then_anywhere() -> None:
    assert wrap("one two three", 8) == ["one two", "three"]
    assert wrap("outflow.management.plugin", 12) == ["outflow.", "management.", "plugin"]
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert wrap("", 5) == [""]


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"
    assert truncate("abcdefg", 6, "...") == "abc..."


def test_the_ellipsis_falls_back_to_dots_where_stdout_cannot_encode_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    text = format_table([Column("A"), Column("B", TRUNCATE, min_width=5)],
                        [("a", "b" * 30)], width=12)
    assert text.splitlines()[1] == "a  bbbbbb..."  # 12 columns
    text.encode("ascii")


def test_multi_line_cells_become_one_line() -> None:
    text = format_table([Column("A"), Column("B")], [("x", "first\nsecond")], width=80)
    assert text.splitlines()[1] == "x  first second"


def test_an_unknown_overflow_is_refused() -> None:
    with pytest.raises(ValueError, match="overflow must be"):
        Column("A", "squeeze")
