"""The dashboard's server time: the runs page and the page of a run with a large map.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py [--items 10000] [--repeat 10]``.

A pipeline (SQLite) records one run of a map of ``--items`` trivial items, then the
two documents the pages ask for are built as the server builds them (queries, JSON,
the secret masker over the text), ``--repeat`` times each; the median is reported,
beside ``json.dumps`` of a list of as many plain dicts (a plain-Python baseline). The
goal: under 300 ms each. No assertion: this is a measurement to read, not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, *sorted((ROOT / "outflow-plugins").glob("outflow-*"))):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from squares_pipeline import make_pipeline  # noqa: E402
from timing import timings  # noqa: E402

from outflow.core.cli.main import run  # noqa: E402


def median_ms(function: Callable[[], object], repeat: int) -> float:
    return statistics.median(timings(function, repeat)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        make_pipeline(root)
        os.chdir(root)
        with redirect_stderr(io.StringIO()):
            assert run(["management", "db", "upgrade", "heads", "-ll", "WARNING"]) == 0
            assert run(["squares", "--n", str(args.items), "--no-progress"]) == 0
            assert run(["squares", "--n", "10", "--no-progress"]) == 0

        from outflow.core.configuration.secrets import text_masker
        from outflow.core.pipeline import Pipeline, context
        from outflow.dashboard.queries import run_document, runs_document

        with Pipeline(root_directory=".", argv=[]):
            databases, settings = context.databases, context.settings
            mask = text_masker(context.config)

            def runs_page() -> None:
                mask(json.dumps(runs_document(databases), default=str))

            def run_page() -> None:
                mask(json.dumps(run_document(databases, settings, 1), default=str))

            runs_page()
            run_page()  # warm: imports, the first connection
            runs_ms = median_ms(runs_page, args.repeat)
            run_ms = median_ms(run_page, args.repeat)
        plain = [{"index": index, "state": "success", "seconds": 0.0001}
                 for index in range(args.items)]
        baseline_ms = median_ms(lambda: json.dumps({"items": plain}), args.repeat)
    print(f"server time, median of {args.repeat}:")
    print(f"  runs page (2 runs)                  {runs_ms:8.1f} ms")
    print(f"  run page, map of {args.items} items   {run_ms:8.1f} ms "
          f"({run_ms / baseline_ms:.1f}x json.dumps of {args.items} plain dicts: "
          f"{baseline_ms:.1f} ms)")
    print("goal: each under 300 ms")


if __name__ == "__main__":
    main()
