"""MapWorkflow on the default and the parallel backend, against plain Python and a raw pool.

Run: ``.venv/bin/python benchmarks/bench_map.py [--items 1000] [--small-items 300]
[--cpu-items 8] [--item-seconds 0.5] [--repeat 10] [--cpu-repeat 3]
[--start-method fork]``.

Three measurements, all in this run and this process, the compared variants
interleaved (they see the same machine load) and repeated; the tables show the
best time of each, the ratios also the median of the per-repetition ratios:

1. ``--items`` trivial items (squaring an int). Baselines: a list comprehension,
   and ``ProcessPoolExecutor(workers).map(square, items, chunksize=100)``
   including the pool's start and shutdown (and on a pool already started).
   Measured: a command's top-level workflow ``Values() | MapWorkflow(Square())``
   run by the parallel backend as a command runs it: a new backend (its pool
   started before the first task, every item in a worker process) and its
   ``close()``, in a new pipeline context with an empty ``TEMP_DIR``. Also: maps on
   a backend whose pool an earlier map of the run started (warm). Goal: within 10x
   of the raw pool, cold.
2. ``--small-items`` trivial items, the same command on the default backend and on
   the parallel one (both first runs). Goal: the parallel run at most 50 ms slower.
3. ``--cpu-items`` items of ``--item-seconds`` of pure-Python CPU each. Speedups
   against the plain sequential loop: raw pool (chunksize=1, including its start)
   and the parallel backend (first run, fresh ``TEMP_DIR``). Goal: the backend's
   speedup >= 0.9x the raw pool's.

The plugins are loaded as the command line loads them (the management plugin's
block hooks are then called for every inner task, as in a real run, untracked).
No assertion: this is a measurement to read, not a test.
"""

import argparse
import multiprocessing
import random
import statistics
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

from timing import timed, timings  # noqa: E402

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


def fresh_context(host: Any, start_method: str | None) -> PipelineContext:
    """A command's pipeline context with an empty ``TEMP_DIR`` of its own."""
    config = {"parameters": {}, "parallel": {"start_method": start_method}}
    return PipelineContext(settings=Settings(TEMP_DIR=tempfile.mkdtemp(prefix="bench_map_")),
                           config=config, host=host)


def run_map(context: PipelineContext, backend: Backend | type[Backend],
            source: Callable[[], Any], inner: type, expected: int) -> None:
    """One command: ``source() | MapWorkflow(inner())``; a class is a new backend,
    closed after the run (what a command pays)."""
    with Workflow(name="bench") as top:
        source() | MapWorkflow(inner())
    instance = backend(context) if isinstance(backend, type) else backend
    try:
        with activate(context):
            (outputs,) = instance.run(top)
    finally:
        if isinstance(backend, type):
            instance.close()
    (results,) = outputs.values()
    assert len(results) == expected


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


def interleaved(variants: dict[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    """Each variant ``repeat`` times, all of them in each round: the same load for all.

    The order changes from round to round (shuffled, always the same way): what
    runs right after a fork pays the page faults of the driver's memory that the
    fork made copy-on-write, and no variant should always be the one that does.
    """
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    shuffle = random.Random(0).shuffle
    for _ in range(repeat):
        shuffle(order)
        for name in order:
            times[name].append(timed(variants[name]))
    return times


def ratio(times: list[float], reference: list[float]) -> str:
    paired = statistics.median(a / b for a, b in zip(times, reference))
    return f"{min(times) / min(reference):5.2f}x best, {paired:5.2f}x median of pairs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--small-items", type=int, default=300)
    parser.add_argument("--cpu-items", type=int, default=8)
    parser.add_argument("--item-seconds", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=10, help="trivial items")
    parser.add_argument("--cpu-repeat", type=int, default=3, help="CPU-bound items")
    parser.add_argument("--start-method", default=None,
                        help="default: the backend's choice for this platform")
    parser.add_argument("--no-plugins", action="store_true",
                        help="no plugin loaded (no block hook called)")
    args = parser.parse_args()

    workers = available_cpus()
    method = args.start_method
    raw_method = method or "fork"
    host = None if args.no_plugins else PluginHost(LoadOptions.from_environment()).load()
    print(f"{workers} CPUs, start method {method or 'the backend default'} "
          f"(raw pool: {raw_method}), plugins {'off' if host is None else 'on'}")

    # 1. trivial items, parallel against the raw pool
    n = args.items
    values = list(range(n))
    plain = min(timings(lambda: [square(v) for v in values], args.repeat))
    context = fresh_context(host, method)
    # A new command each time: new backend, new pipeline context, empty TEMP_DIR (the
    # contexts are made beforehand: making one is not the backend's time).
    fresh = {name: [fresh_context(host, method) for _ in range(args.repeat)]
             for name in ("first", "small default", "small parallel")}

    def first_run(name: str, backend_class: type[Backend], count: int) -> None:
        run_map(fresh[name].pop(), backend_class, lambda: Values(count=count), Square, count)

    warm = ParallelBackend(context)  # an earlier map of the run started the pool
    run_map(context, warm, lambda: Values(count=n), Square, n)
    print(f"the parallel backend's pool started with {warm.pool().method}")
    small = args.small_items
    try:
        times = interleaved({
            "first": lambda: first_run("first", ParallelBackend, n),
            "raw": lambda: raw_pool(square, values, workers, raw_method, 100),
            "warm": lambda: run_map(context, warm, lambda: Values(count=n), Square, n),
            "small default": lambda: first_run("small default", Backend, small),
            "small parallel": lambda: first_run("small parallel", ParallelBackend, small),
        }, args.repeat)
    finally:
        warm.close()
    # Apart: the threads of a running executor would make the backend choose forkserver.
    raw_warm_executor = ProcessPoolExecutor(workers,
                                            mp_context=multiprocessing.get_context(raw_method))
    list(raw_warm_executor.map(square, values, chunksize=100))
    with raw_warm_executor:
        times["raw warm"] = timings(
            lambda: list(raw_warm_executor.map(square, values, chunksize=100)), args.repeat)
    print(f"\n{n} trivial items (best of {args.repeat} interleaved; total, per item):")
    for label, seconds in (
            ("plain list comprehension", plain),
            ("raw ProcessPoolExecutor, chunksize=100", min(times["raw"])),
            ("  the same, pool already started", min(times["raw warm"])),
            ("MapWorkflow, parallel backend, first run", min(times["first"])),
            ("  the same, pool already started (warm)", min(times["warm"]))):
        print(f"  {label:44s} {seconds * 1e3:9.2f} ms  {seconds / n * 1e6:8.2f} us")
    print(f"  parallel / raw pool, cold:         {ratio(times['first'], times['raw'])}"
          "  (goal <= 10)")
    print(f"  parallel / raw pool, warm:         {ratio(times['warm'], times['raw warm'])}")

    # 2. a small trivial map: parallel against default
    default_small, parallel_small = times["small default"], times["small parallel"]
    extra = statistics.median(p - d for p, d in zip(parallel_small, default_small))
    print(f"\n{small} trivial items, first runs (best of {args.repeat} interleaved):")
    print(f"  MapWorkflow, default backend           {min(default_small) * 1e3:8.2f} ms")
    print(f"  MapWorkflow, parallel backend          {min(parallel_small) * 1e3:8.2f} ms")
    print(f"  parallel - default: {(min(parallel_small) - min(default_small)) * 1e3:.1f} ms "
          f"best, {extra * 1e3:.1f} ms median of pairs  (goal <= 50 ms)")
    print(f"  parallel / default:                {ratio(parallel_small, default_small)}")

    # 3. CPU-bound items (each parallel run a new command, its context made beforehand)
    loops = calibrate(args.item_seconds)
    contexts = [fresh_context(host, method) for _ in range(args.cpu_repeat)]
    count = args.cpu_items
    plain_cpu = raw_cpu = par_cpu = float("inf")
    ratios = []
    for _ in range(args.cpu_repeat):  # interleaved: all see the same machine load
        plain_time = timed(lambda: [spin(loops) for _ in range(count)])
        raw_time = timed(lambda: raw_pool(spin, [loops] * count, workers, raw_method, 1))
        par_time = timed(lambda: run_map(contexts.pop(), ParallelBackend,
                                         lambda: Loops(count=count, loops=loops), Spin, count))
        plain_cpu = min(plain_cpu, plain_time)
        raw_cpu, par_cpu = min(raw_cpu, raw_time), min(par_cpu, par_time)
        ratios.append(raw_time / par_time)
    raw_speedup, par_speedup = plain_cpu / raw_cpu, plain_cpu / par_cpu
    print(f"\n{count} items of {args.item_seconds} s of CPU (best of {args.cpu_repeat}):")
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
