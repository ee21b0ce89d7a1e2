"""What the run features cost per item: the progress bar, the run's log file, tracking.

Run: ``.venv/bin/python benchmarks/bench_run_features.py [--items 2000] [--repeat 5]``.

A pipeline whose command maps a trivial task (squaring an int) over ``--items``
items, run in this process as the command line runs it, on the default backend, in
these configurations (interleaved, repeated; the median of each is kept):

- ``engine``: untracked, no progress bar, no run log (``--db-untracked
  --no-progress``);
- ``tracked``: tracked in SQLite, but neither bar nor run log (``--no-progress``,
  ``RUN_LOG_KEEP = 0``): what a tracked run cost before them;
- ``everything``: tracked, the run's log file at DEBUG, and the progress bar drawn on
  a terminal (stderr is replaced by one that says it is a terminal).

Each configuration also runs a 10-item map; the cost per item is the difference
divided by the difference in items, so that the fixed cost of a command (loading
the pipeline, opening the database) is left out. Plain Python (a list comprehension
of the same function) is the baseline. The goal: ``everything`` within 10% of
``tracked`` per item. No assertion: this is a measurement to read, not a test.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, *sorted((ROOT / "outflow-plugins").glob("outflow-*"))):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from squares_pipeline import SETTINGS, make_pipeline  # noqa: E402

from outflow.core.cli.main import run  # noqa: E402

CONFIGURATIONS = {
    "engine": (["--db-untracked", "--no-progress"], False),
    "tracked": (["--no-progress"], False),
    "everything": ([], True),
}


class Terminal(io.StringIO):
    """A stderr that says it is a terminal: the bar is drawn (into memory)."""

    def isatty(self) -> bool:
        return True


def square(value: int) -> int:
    return value * value


def run_once(root: Path, name: str, items: int) -> float:
    options, terminal = CONFIGURATIONS[name]
    settings = root / "settings.py"
    keep = "" if name == "everything" else "RUN_LOG_KEEP = 0\n"
    settings.write_text(SETTINGS + keep)
    saved, root_logger = sys.stderr, logging.getLogger()
    handlers = list(root_logger.handlers)
    sys.stderr = Terminal() if terminal else io.StringIO()
    try:
        start = time.perf_counter()
        code = run(["squares", "--n", str(items), "-ll", "WARNING", *options])
        elapsed = time.perf_counter() - start
    finally:
        sys.stderr = saved
        for handler in list(root_logger.handlers):
            if handler not in handlers:
                root_logger.removeHandler(handler)
                handler.close()
    if code != 0:
        raise SystemExit(f"{name}: the command failed ({code})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["TERM"] = "xterm"
    os.environ.pop("OUTFLOW_PROGRESS", None)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        make_pipeline(root)
        os.chdir(root)
        assert run(["management", "db", "upgrade", "heads", "-ll", "WARNING"]) == 0
        small, large = {}, {}
        for name in CONFIGURATIONS:  # warm up: imports, first database writes
            run_once(root, name, 10)
        for _ in range(args.repeat):
            for name in CONFIGURATIONS:
                small.setdefault(name, []).append(run_once(root, name, 10))
                large.setdefault(name, []).append(run_once(root, name, args.items))
        plain = []
        values = list(range(args.items))
        for _ in range(args.repeat):
            start = time.perf_counter()
            _ = [square(value) for value in values]
            plain.append(time.perf_counter() - start)
    per_item = {name: (statistics.median(large[name]) - statistics.median(small[name]))
                / (args.items - 10) for name in CONFIGURATIONS}
    python = statistics.median(plain) / args.items
    print(f"{args.items} items, median of {args.repeat} runs; per item:")
    print(f"  plain Python      {python * 1e6:9.2f} us")
    for name in CONFIGURATIONS:
        print(f"  {name:<17} {per_item[name] * 1e6:9.2f} us   "
              f"({per_item[name] / python:,.0f}x plain Python)")
    ratio = per_item["everything"] / per_item["tracked"]
    print(f"everything / tracked: {ratio:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
