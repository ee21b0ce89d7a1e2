"""The mpi backend against a raw ``mpi4py.futures`` map of the same work, same run.

Run: ``.venv/bin/python benchmarks/bench_mpi.py [--items 1000] [--repeat 5]``, with
mpi4py and an MPI library installed (the test extra brings the ``mpich`` wheel). Every
command runs under ``mpiexec -n 3`` of this environment: rank 0 drives, two ranks work.

Two measurements, the variants interleaved:

1. Per-item overhead: a map of ``--items`` trivial items (squaring an int) and a map
   of two items (one per worker rank: both set up), each timed inside the program
   from just before the map to just after it (the start of Python, of MPI and of the
   pipeline left out); the per-item cost is ``(span(N + 2) - span(2)) / N``, the
   medians of ``--repeat`` runs:
   - raw: ``mpiexec -n 3 python -m mpi4py.futures`` of a script mapping with
     ``MPIPoolExecutor().map`` (mpi4py's own chunked map, ``chunksize`` 16);
   - outflow: ``mpiexec -n 3 python -m outflow squares --n N --backend mpi`` (the
     map's workflow shipped to each rank, the worker set-up, chunks, results back in
     order, progress), untracked.
   Goal: outflow's per-item cost within 2x of raw.
2. Speedup: 8 items each burning 0.5 s of CPU on the 2 worker ranks; speedup is the
   time the 8 items take one after the other in this process over the map's span.
   Goal: outflow's speedup at least 0.9x raw's.

Results are printed and written to ``benchmarks/results/mpi.json``. No assertion: a
measurement to read, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).parent / "mpiexec"

WORK = '''
import time


def square(value):
    return value * value


def burn(seconds):
    """Burn ``seconds`` of this process's CPU time; return them."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return seconds
'''

RAW = '''
import sys
import time

from mpi4py.futures import MPIPoolExecutor

from work import burn, square


def main():
    n, cpu = int(sys.argv[-2]), float(sys.argv[-1])
    with MPIPoolExecutor() as executor:
        list(executor.map(square, [0, 1]))  # the workers are up, as in outflow's case
        begin = time.perf_counter()
        if cpu:
            results = list(executor.map(burn, [cpu] * n))
        else:
            results = list(executor.map(square, range(n), chunksize=16))
        span = time.perf_counter() - begin
    assert len(results) == n
    print(f"SPAN {span}")


if __name__ == "__main__":  # not in the worker ranks, which import this module
    main()
'''

COMMANDS = '''
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import context
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow

from work import burn, square


@as_task
def Values() -> {"value_array": list}:
    context.config["stamps"]["begin"] = time.perf_counter()
    return list(range(context.args.n))


@as_task
def Square(value: int) -> {"result": float}:
    cpu = context.args.cpu
    return burn(cpu) if cpu else square(value)


@as_task
def Show(results: list):
    span = time.perf_counter() - context.config["stamps"]["begin"]
    assert len(results) == context.args.n
    print(f"SPAN {span}")


@RootCommand.subcommand(db_untracked=True)
class Squares(Command):
    def add_arguments(self):
        self.add_argument("--n", type=int, default=1)
        self.add_argument("--cpu", type=float, default=0.0)

    def setup_tasks(self):
        Values() | MapWorkflow(Square(), output_name="results") | Show()
'''


def make_pipeline(root: Path) -> None:
    """A pipeline with the ``squares`` command, and the raw script, sharing ``work.py``."""
    package = root / "plugins" / "mpibench" / "mpibench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "commands.py").write_text(textwrap.dedent(COMMANDS).lstrip())
    (root / "work.py").write_text(WORK.lstrip())
    (root / "raw.py").write_text(RAW.lstrip())
    (root / "settings.py").write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n"
        "PLUGINS = ['outflow.management', 'mpibench']\nCONFIG_SECTIONS = ['stamps']\n")
    (root / "config.json").write_text(json.dumps({"stamps": {}, "databases": {
        "default": {"dialect": "sqlite"}}}))


def span(root: Path, variant: str, n: int, cpu: float = 0.0) -> float:
    """The map's span, as the program measured it."""
    if variant == "raw":
        program = [sys.executable, "-m", "mpi4py.futures", "raw.py", str(n), str(cpu)]
    else:
        program = [sys.executable, "-m", "outflow", "squares", "--n", str(n), "--cpu",
                   str(cpu), "--backend", "mpi"]
    env = {**os.environ, "PATH": f"{MPIEXEC.parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(root)}
    done = subprocess.run(["timeout", "300", str(MPIEXEC), "-n", "3", *program], cwd=root,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("SPAN "))
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mpi-") as directory:
        root = Path(directory)
        make_pipeline(root)
        per_item: dict[str, list[float]] = {"raw": [], "outflow": []}
        for _round in range(options.repeat):
            for variant in per_item:
                many = span(root, variant, options.items + 2)
                two = span(root, variant, 2)
                per_item[variant].append((many - two) / options.items)
        sys.path.insert(0, str(root))
        from work import burn

        began = time.perf_counter()
        for _ in range(8):
            burn(0.5)
        serial = time.perf_counter() - began
        speedup: dict[str, list[float]] = {"raw": [], "outflow": []}
        for _round in range(max(1, options.repeat // 2)):
            for variant in speedup:
                speedup[variant].append(serial / span(root, variant, 8, cpu=0.5))
    overhead = {variant: statistics.median(values) for variant, values in per_item.items()}
    speed = {variant: statistics.median(values) for variant, values in speedup.items()}
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "items": options.items,
        "per_item_seconds": {variant: values for variant, values in per_item.items()},
        "per_item_median_us": {variant: value * 1e6 for variant, value in overhead.items()},
        "per_item_ratio": overhead["outflow"] / overhead["raw"],
        "serial_seconds": serial,
        "speedup": speedup,
        "speedup_median": speed,
        "speedup_ratio": speed["outflow"] / speed["raw"],
    }
    print(f"per item, {options.items} trivial items on 2 ranks: raw "
          f"{overhead['raw'] * 1e6:.1f} us, outflow {overhead['outflow'] * 1e6:.1f} us "
          f"({results['per_item_ratio']:.2f}x raw; goal within 2x)")
    print(f"speedup, 8 x 0.5 s CPU on 2 ranks (serial {serial:.2f} s): raw "
          f"{speed['raw']:.2f}, outflow {speed['outflow']:.2f} "
          f"({results['speedup_ratio']:.2f}x raw; goal at least 0.9x)")
    out = ROOT / "benchmarks" / "results" / "mpi.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
