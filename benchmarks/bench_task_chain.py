"""Engine overhead per task: a chain of 200 trivial tasks against 200 plain function calls.

Run: ``.venv/bin/python benchmarks/bench_task_chain.py [--tasks 200] [--repeat 30]``.

Measured in the same process, best of ``--repeat`` runs each:

- baseline: 200 chained calls of the same function, passing a dict like tasks do;
- run: ``Backend.run`` of the validated top-level workflow (untracked, no plugin
  implementing the lifecycle hooks), i.e. what every command pays at run time;
- build + validate: instantiating the tasks, piping them and validating the graph.

The goal is <= 30 us of engine overhead per task for the run. No assertion: this
is a measurement to read, not a test.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "outflow-plugins" / "outflow-sequential"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from timing import timings  # noqa: E402

from outflow.core.backends import Backend  # noqa: E402
from outflow.core.pipeline.context import PipelineContext, activate  # noqa: E402
from outflow.core.tasks import as_task  # noqa: E402
from outflow.core.workflow import Workflow  # noqa: E402


def increment(x: int) -> dict[str, int]:
    return {"x": x + 1}


@as_task
def Start() -> {"x": int}:  # noqa: F821 - an outflow output annotation
    return 0


@as_task
def Increment(x: int) -> {"x": int}:  # noqa: F821
    return x + 1


def baseline(n_tasks: int) -> int:
    result = {"x": 0}
    for _ in range(n_tasks):
        result = increment(**result)
    return result["x"]


def build(n_tasks: int) -> Workflow:
    with Workflow(name="chain") as top:
        block = Start()
        for _ in range(n_tasks):
            block = block | Increment()
    top.validate()
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()
    n = options.tasks

    context = PipelineContext()
    with activate(context):
        backend = Backend(context)
        top = build(n)
        assert backend.run(top) == [{"x": n}], "the chain computed a wrong result"
        assert baseline(n) == n

        base = min(timings(lambda: baseline(n), options.repeat * 10))
        run = min(timings(lambda: backend.run(top), options.repeat))
        setup = min(timings(lambda: build(n), max(3, options.repeat // 3)))

    per_task = (run - base) / n * 1e6
    print(f"tasks in the chain:              {n}")
    print(f"baseline, {n} chained calls:     {base * 1e6:9.1f} us ({base / n * 1e6:.2f} us/call)")
    print(f"engine run (Backend.run):        {run * 1e6:9.1f} us ({run / n * 1e6:.2f} us/task)")
    print(f"engine overhead per task:        {per_task:9.2f} us   (goal <= 30 us)")
    print(f"ratio engine run / baseline:     {run / base:9.1f}x")
    print(f"build + validate per task:       {setup / n * 1e6:9.2f} us")


if __name__ == "__main__":
    main()
