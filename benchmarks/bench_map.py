"""MapWorkflow on the default and the parallel backend, against plain Python and a raw pool.

Run: ``.venv/bin/python benchmarks/bench_map.py [--items 1000] [--cpu-items 8]
[--item-seconds 0.5] [--repeat 3] [--start-method fork]``.

Two measurements, best of ``--repeat`` each, all in this run and this process:

1. ``--items`` trivial items (squaring an int). Baselines: a list comprehension,
   and ``ProcessPoolExecutor(workers).map(square, items, chunksize=100)`` including
   the pool's start and shutdown. Measured: a command's top-level workflow
   ``Values() | MapWorkflow(Square())`` run by the default backend, and by the
   parallel backend (including its pool start and ``close()``, since a command pays
   both), interleaved. The parallel backend's first run of a workflow always uses
   the pool; later runs use the item duration it measured (``measure first``, see
   ``outflow.multiprocessing.timings``), so both are shown, and also a map run on a
   pool that an earlier map of the run started. Goals: parallel / default <= 1
   (never slower, even for trivial items), and the parallel backend's per-item
   cost within 10x of the raw pool's. Trivial maps are timed at least 10 times
   (they take milliseconds, and the machine's load varies more than that).
2. ``--cpu-items`` items of ``--item-seconds`` of pure-Python CPU each. Speedups
   against the plain sequential loop: raw pool (chunksize=1) and parallel backend.
   Goal: the backend's speedup >= 0.9x the raw pool's.

The plugins are loaded as the command line loads them (the management plugin's
block hooks are then called for every inner task, as in a real run, untracked).
No assertion: this is a measurement to read, not a test.
"""

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, *sorted((ROOT / "outflow-plugins").glob("outflow-*"))):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from outflow.core.backends import Backend  # noqa: E402
from outflow.core.pipeline.context import PipelineContext, activate  # noqa: E402
from outflow.core.pipeline.settings import Settings  # noqa: E402
from outflow.core.plugins.host import LoadOptions, PluginHost  # noqa: E402
from outflow.core.tasks import as_task  # noqa: E402
from outflow.core.workflow import Workflow  # noqa: E402
from outflow.library.workflows import MapWorkflow  # noqa: E402
from outflow.multiprocessing.backend import ParallelBackend, available_cpus  # noqa: E402

SPIN_PER_SECOND = 0  # calibrated in main()


def square(value: int) -> int:
    return value * value


def spin(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i % 7
    return total


@as_task
def Values(count: int) -> {"value_array": list}:  # noqa: F821 - an outflow output annotation
    return list(range(count))


@as_task
def Square(value: int) -> {"square": int}:  # noqa: F821
    return value * value


@as_task
def Loops(count: int, loops: int) -> {"loops_array": list}:  # noqa: F821
    return [loops] * count


@as_task
def Spin(loops: int) -> {"total": int}:  # noqa: F821
    return spin(loops)


def best(function: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def run_map(context: PipelineContext, backend_class: type[Backend],
            source: Callable[[], Any], inner: type, expected: int) -> None:
    with Workflow(name="bench") as top:
        source() | MapWorkflow(inner())
    backend = backend_class(context)
    try:
        (outputs,) = backend.run(top)
    finally:
        backend.close()
    (results,) = outputs.values()
    assert len(results) == expected


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def warm_raw_pool(values: list[int], workers: int, method: str, repeat: int) -> float:
    """``executor.map`` on a pool that already ran something."""
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context) as executor:
        list(executor.map(square, values, chunksize=100))
        return best(lambda: list(executor.map(square, values, chunksize=100)), repeat)


def warm_backend(context: PipelineContext, n: int, repeat: int) -> float:
    """A map run by a parallel backend whose pool an earlier map of the run started."""
    backend = ParallelBackend(context)
    times = []
    try:
        for _ in range(repeat + 1):
            with Workflow(name="bench") as top:
                Values(count=n) | MapWorkflow(Square())
            start = time.perf_counter()
            backend.run(top)
            times.append(time.perf_counter() - start)
    finally:
        backend.close()
    return min(times[1:])  # the first one started the pool


def raw_pool(function: Callable[[int], int], values: list[int], workers: int,
             method: str, chunksize: int) -> None:
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context) as executor:
        list(executor.map(function, values, chunksize=chunksize))


def calibrate(seconds: float) -> int:
    loops = 200_000
    while True:
        start = time.perf_counter()
        spin(loops)
        elapsed = time.perf_counter() - start
        if elapsed > 0.1:
            return int(loops * seconds / elapsed)
        loops *= 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--cpu-items", type=int, default=8)
    parser.add_argument("--item-seconds", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--start-method", default="fork")
    parser.add_argument("--no-plugins", action="store_true",
                        help="no plugin loaded (no block hook called)")
    args = parser.parse_args()

    workers = available_cpus()
    host = None if args.no_plugins else PluginHost(LoadOptions.from_environment()).load()
    temp = tempfile.mkdtemp(prefix="bench_map_")
    # Every run of the same command shares TEMP_DIR, where the parallel backend keeps
    # the item durations it measured (see outflow.multiprocessing.timings).
    config = {"parameters": {}, "parallel": {"start_method": args.start_method}}
    context = PipelineContext(settings=Settings(TEMP_DIR=temp), config=config, host=host)
    print(f"{workers} CPUs, start method {args.start_method}, "
          f"plugins {'off' if host is None else 'on'}, best of {args.repeat}")

    with activate(context):
        # 1. trivial items
        n = args.items
        values = list(range(n))
        plain = best(lambda: [square(v) for v in values], args.repeat)
        raw = best(lambda: raw_pool(square, values, workers, args.start_method, 100),
                   args.repeat)
        raw_warm = warm_raw_pool(values, workers, args.start_method, args.repeat)
        par_first = timed(lambda: run_map(context, ParallelBackend, lambda: Values(count=n),
                                          Square, n))
        seq = par = float("inf")
        for _ in range(max(args.repeat, 10)):  # interleaved: both see the same load
            seq = min(seq, timed(lambda: run_map(context, Backend, lambda: Values(count=n),
                                                 Square, n)))
            par = min(par, timed(lambda: run_map(context, ParallelBackend,
                                                 lambda: Values(count=n), Square, n)))
        par_warm = warm_backend(context, n, args.repeat)
        print(f"\n{n} trivial items (total, per item):")
        for label, seconds in (
                ("plain list comprehension", plain),
                ("raw ProcessPoolExecutor, chunksize=100", raw),
                ("  the same, pool already started", raw_warm),
                ("MapWorkflow, default backend", seq),
                ("MapWorkflow, parallel backend", par),
                ("  the same, first run (not measured yet)", par_first),
                ("  the same, pool already started", par_warm)):
            print(f"  {label:42s} {seconds * 1e3:9.2f} ms  {seconds / n * 1e6:8.2f} us")
        print(f"  parallel / default backend:              {par / seq:6.2f}x  (goal <= 1)")
        print(f"    first run / default backend:           {par_first / seq:6.2f}x")
        print(f"    pool started / default backend:        {par_warm / seq:6.2f}x")
        print(f"  parallel / raw pool, per item, cold:     {par_first / raw:6.2f}x  (goal <= 10)")
        print(f"    the same, both pools started:          {par_warm / raw_warm:6.2f}x")

        # 2. CPU-bound items
        loops = calibrate(args.item_seconds)
        count = args.cpu_items
        plain_cpu = best(lambda: [spin(loops) for _ in range(count)], 1)
        raw_cpu = par_cpu = float("inf")
        ratios = []
        for _ in range(args.repeat):  # interleaved: both see the same machine load
            raw_time = timed(lambda: raw_pool(spin, [loops] * count, workers,
                                              args.start_method, 1))
            par_time = timed(lambda: run_map(
                context, ParallelBackend, lambda: Loops(count=count, loops=loops), Spin,
                count))
            raw_cpu, par_cpu = min(raw_cpu, raw_time), min(par_cpu, par_time)
            ratios.append(raw_time / par_time)
        raw_speedup, par_speedup = plain_cpu / raw_cpu, plain_cpu / par_cpu
        print(f"\n{count} items of {args.item_seconds} s of CPU:")
        print(f"  plain loop                             {plain_cpu:8.2f} s")
        print(f"  raw ProcessPoolExecutor, chunksize=1   {raw_cpu:8.2f} s  "
              f"speedup {raw_speedup:5.2f}x")
        print(f"  MapWorkflow, parallel backend          {par_cpu:8.2f} s  "
              f"speedup {par_speedup:5.2f}x")
        print(f"  backend speedup / raw pool speedup:    {par_speedup / raw_speedup:6.2f}x  "
              "(goal >= 0.9)")
        # The same ratio is raw time / backend time: per repetition, under one load.
        print(f"    per repetition:                      "
              f"{', '.join(f'{ratio:.2f}x' for ratio in ratios)}")


if __name__ == "__main__":
    main()
