"""Measure the start-up time and memory of the ``outflow`` command line.

Usage::

    .venv/bin/python benchmarks/bench_startup.py [--runs N] [--warmup N]

Each command runs ``N`` times (after warm-up runs), every time in a fresh
subprocess, in an empty temporary directory (no pipeline), with the interpreter and
``outflow`` script of the virtual environment running this script. The commands are
interleaved: each round runs every command once, in a rotating order, so that a
slow spell of a shared machine weighs on all of them alike.

Reported: median and minimum wall time, peak RSS, and the ratio to
``python -c "import click"``: click is the floor of any click-based CLI, so the goal
is ``outflow --help`` within 1.5x of it. The ratio is the median of the per-round
ratios (each command against click in the same round); the ratio of the minimums
is shown beside it.

Two more rows run ``python -m outflow --help`` and ``import click`` in a directory of
10,000 files: there the working directory is on ``sys.path``. Python's import system
lists it once per process, for click as for outflow; the entry-point cache must not
list it again on every start. That row's ratio is to ``import click`` in the same
directory.

Byte-code is compiled first (``compileall``), so results do not depend on
``PYTHONDONTWRITEBYTECODE`` or on which files happened to be imported before.
Results are printed as a table and written to ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
GOAL_RATIO = 1.5
BASELINE = "import click"
CROWDED_FILES = 10_000


@dataclass
class Measurement:
    """Timings of one command."""

    label: str
    argv: list[str]
    median_ms: float
    min_ms: float
    rss_mb: float
    ratio_to_click: float | None = None
    min_ratio_to_click: float | None = None


def outflow_source_dirs() -> list[Path]:
    """The repository's ``outflow`` package directories (kernel and bundled plugins)."""
    dirs = [REPO / "outflow"]
    dirs += sorted(path / "outflow" for path in (REPO / "outflow-plugins").glob("outflow-*")
                   if (path / "outflow").is_dir())
    return dirs


def compile_bytecode() -> None:
    """Write ``__pycache__`` for the sources and site-packages, whatever the environment says."""
    targets = [*outflow_source_dirs(), Path(sysconfig.get_paths()["purelib"])]
    platlib = Path(sysconfig.get_paths()["platlib"])
    if platlib not in targets:
        targets.append(platlib)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, targets)],
                   env=env, check=False, stdout=subprocess.DEVNULL)


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time (s) of one run of ``argv`` in a fresh process; the command must succeed."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {stderr}")
    return elapsed


def peak_rss_mb(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Peak RSS (MB) of one run of ``argv``.

    Measured with ``/usr/bin/time``: the ``ru_maxrss`` that ``wait4`` reports for a
    child of *this* process would include this process's own memory, which Linux
    carries over ``fork`` and ``exec``. Without ``/usr/bin/time`` that upper bound is
    what is returned.
    """
    timer = Path("/usr/bin/time")
    if timer.exists():
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
            subprocess.run([str(timer), "-f", "%M", "-o", report.name, *argv], cwd=cwd,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            kilobytes = float(report.read().split()[-1])
    else:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        kilobytes = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)
    return kilobytes / 1024


Command = tuple[str, list[str], Path, str]  # label, argv, working directory, baseline label


def measure_all(commands: list[Command], runs: int, warmup: int, env: dict[str, str],
                rss_runs: int = 3) -> list[Measurement]:
    """Interleaved rounds: wall times, ratios to the baseline per round, peak RSS."""
    for _ in range(warmup):
        for _, argv, cwd, _ in commands:
            run_once(argv, cwd, env)
    times: dict[str, list[float]] = {label: [] for label, _, _, _ in commands}
    for round_index in range(runs):
        shift = round_index % len(commands)
        for label, argv, cwd, _ in commands[shift:] + commands[:shift]:
            times[label].append(run_once(argv, cwd, env) * 1000)
    results = []
    for label, argv, cwd, baseline_label in commands:
        baseline = times[baseline_label]
        ratios = [mine / base for mine, base in zip(times[label], baseline, strict=True)]
        peak = max(peak_rss_mb(argv, cwd, env) for _ in range(rss_runs))
        results.append(Measurement(
            label, argv, round(statistics.median(times[label]), 1), round(min(times[label]), 1),
            round(peak, 1), round(statistics.median(ratios), 2),
            round(min(times[label]) / min(baseline), 2),
        ))
    return results


def commands(workdir: Path) -> list[Command]:
    """What is measured: the interpreter, the click baseline, then ``outflow``."""
    python = sys.executable
    script = Path(python).with_name("outflow")
    if not script.exists():
        raise SystemExit(f"no outflow script next to {python}: run with the dev venv's python")
    empty, crowded = workdir / "empty", workdir / "crowded"
    empty.mkdir()
    crowded.mkdir()
    for index in range(CROWDED_FILES):
        (crowded / f"frame-{index:05d}.fits").touch()
    written = time.time() - 3600  # data written an hour ago, not during the benchmark
    os.utime(crowded, (written, written))
    crowded_click = f"import click, {CROWDED_FILES // 1000}k files in cwd"
    return [
        ("python -c pass", [python, "-c", "pass"], empty, BASELINE),
        (BASELINE, [python, "-c", "import click"], empty, BASELINE),
        ("outflow --version", [str(script), "--version"], empty, BASELINE),
        ("outflow --help", [str(script), "--help"], empty, BASELINE),
        ("outflow plugins list", [str(script), "plugins", "list"], empty, BASELINE),
        (crowded_click, [python, "-c", "import click"], crowded, crowded_click),
        (f"python -m outflow --help, {CROWDED_FILES // 1000}k files in cwd",
         [python, "-m", "outflow", "--help"], crowded, crowded_click),
    ]


def print_table(results: list[Measurement]) -> None:
    """The human-readable report."""
    header = (f"{'command':<46}{'median ms':>11}{'min ms':>9}{'RSS MB':>9}{'x base':>9}"
              f"{'x base (min)':>15}")
    print(header)
    print("-" * len(header))
    for item in results:
        print(f"{item.label:<46}{item.median_ms:>11.1f}{item.min_ms:>9.1f}"
              f"{item.rss_mb:>9.1f}{item.ratio_to_click:>9.2f}{item.min_ratio_to_click:>15.2f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 (the goal is reported, not enforced)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per command")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first")
    parser.add_argument("--output", type=Path, default=RESULTS / "startup.json",
                        help="JSON file to write")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    compile_bytecode()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OUTFLOW_")}
    with tempfile.TemporaryDirectory(prefix="outflow-bench-") as tmp:
        workdir = Path(tmp)
        env["XDG_CACHE_HOME"] = str(workdir / ".cache")  # the entry-point cache, warmed up
        results = measure_all(commands(workdir), options.runs, max(options.warmup, 1), env)

    print_table(results)
    help_ratio = next(item for item in results if item.label == "outflow --help").ratio_to_click
    verdict = "met" if help_ratio is not None and help_ratio <= GOAL_RATIO else "NOT met"
    print(f"\ngoal: outflow --help within {GOAL_RATIO}x of `{BASELINE}`: {verdict} "
          f"({help_ratio:.2f}x, median of per-round ratios)")

    options.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "runs": options.runs,
        "warmup": options.warmup,
        "goal_ratio": GOAL_RATIO,
        "goal_met": verdict == "met",
        "rss_note": "peak RSS from /usr/bin/time -f %M, the largest of 3 extra runs",
        "results": [asdict(item) for item in results],
    }
    options.output.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written to {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
