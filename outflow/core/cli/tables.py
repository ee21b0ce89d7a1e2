"""Tables that fit the terminal: ``plugins list``, ``management list_runs``, and the width
``management display_config`` folds its YAML to.

One renderer for every listing, so that they agree on the width and on what gives way
when a table is wider than the terminal. Each column says what it does then
(:class:`Column`): a name or a state is kept whole (``KEEP``), a long list or prose is
wrapped onto more lines (``WRAP``), a detail is cut with an ellipsis (``TRUNCATE``; the
commands' ``--json`` has the full values). Only the columns that may give way shrink,
the widest first, so that a short column is never wrapped to make room for a long one.

This module is on the start-up path of ``outflow plugins list``: it imports nothing but
``os`` and ``sys`` (``shutil.get_terminal_size`` alone would cost 4 to 5 ms, and
``textwrap`` imports ``re``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from outflow.core.records import FrozenRecord

#: Never cut nor wrapped: names, states, dates.
KEEP = "keep"
#: Wrapped onto as many lines as needed: lists and prose.
WRAP = "wrap"
#: Cut to the column's width, the cut marked with an ellipsis: details.
TRUNCATE = "truncate"

#: What a table without a terminal is fitted to, as click does.
DEFAULT_COLUMNS = 80
#: Between two columns.
GAP = "  "


def terminal_columns() -> int:
    """The width to fit: ``COLUMNS`` when set, else the terminal's, else 80.

    Click's rule (``shutil.get_terminal_size``) without importing ``shutil``: the
    columns of the terminal that ``sys.__stdout__`` is, 80 when it is not one (output
    piped or captured). ``COLUMNS`` comes first so that a script or a test can choose.
    """
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or DEFAULT_COLUMNS


def ellipsis_mark() -> str:
    """``…`` where standard output can encode it, else ``...``.

    A table printed to a Latin-1 or ASCII terminal must not fail on its own marker.
    """
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "…".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return "..."
    return "…"


class Column(FrozenRecord):
    """A column's header, what it does when the table is too wide, and how narrow it may get.

    ``min_width`` protects a ``WRAP`` or ``TRUNCATE`` column from being squeezed to a
    few characters (never wider than its widest cell, never narrower than its header).
    """

    __slots__ = ("header", "overflow", "min_width")

    def __init__(self, header: str, overflow: str = KEEP, min_width: int = 10) -> None:
        if overflow not in (KEEP, WRAP, TRUNCATE):
            raise ValueError(f"overflow must be {KEEP!r}, {WRAP!r} or {TRUNCATE!r}, "
                             f"not {overflow!r}")
        self.header = header
        self.overflow = overflow
        self.min_width = min_width


def format_table(columns: Sequence[Column], rows: Sequence[Sequence[object]],
                 width: int | None = None) -> str:
    """The table as text (no final newline): headers, then one row per row, fitted to
    ``width`` (default :func:`terminal_columns`).

    The table is wider than ``width`` only when its ``KEEP`` columns and the minimum
    widths of the others are. Lines carry no trailing spaces.
    """
    width = terminal_columns() if width is None else width
    table = [[column.header for column in columns],
             *([_one_line(cell) for cell in row] for row in rows)]
    natural = [max(len(row[index]) for row in table) for index in range(len(columns))]
    widths = fit_widths(columns, natural, width)
    mark = ellipsis_mark()
    lines: list[str] = []
    for row in table:
        cells = [_cell_lines(text, column.overflow, size, mark)
                 for text, column, size in zip(row, columns, widths)]
        for index in range(max(len(cell) for cell in cells)):
            parts = [(cell[index] if index < len(cell) else "").ljust(size)
                     for cell, size in zip(cells, widths)]
            lines.append(GAP.join(parts).rstrip())
    return "\n".join(lines)


def fit_widths(columns: Sequence[Column], natural: Sequence[int], width: int) -> list[int]:
    """Each column's width: its widest cell when the table fits, else the columns that
    may give way share what ``KEEP`` columns leave, the widest shrinking first.

    Water-filling: the shrinking columns are capped at one width, the largest that
    fits; a column narrower than the cap keeps its natural width, and none gets
    narrower than its minimum (then the table is wider than ``width``).
    """
    widths = list(natural)
    budget = width - len(GAP) * (len(columns) - 1)
    if sum(widths) <= budget:
        return widths
    shrinking = [index for index, column in enumerate(columns) if column.overflow != KEEP]
    budget -= sum(size for index, size in enumerate(natural) if index not in shrinking)
    floors = {index: min(natural[index], max(columns[index].min_width,
                                             len(columns[index].header)))
              for index in shrinking}

    def capped(cap: int) -> dict[int, int]:
        return {index: min(natural[index], max(floors[index], cap)) for index in shrinking}

    cap = max((natural[index] for index in shrinking), default=0)
    while cap > 0 and sum(capped(cap).values()) > budget:
        cap -= 1
    sizes = capped(cap)
    spare = budget - sum(sizes.values())
    for index in shrinking:  # what the cap leaves, one column each, left to right
        if spare > 0 and sizes[index] < natural[index]:
            sizes[index] += 1
            spare -= 1
        widths[index] = sizes[index]
    return widths


def wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` characters.

    At a space when there is one; else just after a ``.``, ``,``, ``/``, ``_`` or ``-``
    (a dotted module name breaks between its parts); else anywhere.
    """
    width = max(width, 1)
    lines: list[str] = []
    text = text.strip()
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        if cut > 0:
            lines.append(text[:cut].rstrip())
            text = text[cut + 1:].lstrip()
            continue
        cut = max(text.rfind(separator, 0, width) for separator in ".,/_-") + 1
        if cut <= 0:
            cut = width
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return lines


def truncate(text: str, width: int, mark: str = "…") -> str:
    """``text``, or its beginning and ``mark`` when it is longer than ``width``."""
    if len(text) <= width:
        return text
    if width <= len(mark):
        return text[:width]
    return text[:width - len(mark)].rstrip() + mark


def _cell_lines(text: str, overflow: str, width: int, mark: str) -> list[str]:
    if overflow == WRAP:
        return wrap(text, width)
    if overflow == TRUNCATE:
        return [truncate(text, width, mark)]
    return [text]


def _one_line(cell: object) -> str:
    """A cell's text on one line: a multi-line error message would break the row."""
    text = "-" if cell is None else str(cell)
    return " ".join(text.split()) if "\n" in text or "\t" in text else text


__all__ = ["KEEP", "TRUNCATE", "WRAP", "Column", "ellipsis_mark", "fit_widths",
           "format_table", "terminal_columns", "truncate", "wrap"]
