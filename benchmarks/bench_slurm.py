"""A map on the slurm backend against raw ``sbatch --array`` plus polling, same cluster.

Run: ``.venv/bin/python benchmarks/bench_slurm.py [--items 100] [--repeat 3]
[--idle-items 4] [--idle-seconds 20]``, as root with Slurm installed
(``scripts/services/slurm.sh install``). With ``SLURM_CONF`` set, the cluster it
names is used; else one is started for the run (``scripts/services/slurm.sh start``,
on free ports) and stopped at the end.

Two measurements, in this run:

1. ``--items`` trivial items (squaring an int), wall clock from the command to its
   results, repeated, the two variants interleaved (they see the same cluster state):
   - raw: ``sbatch --array=0-N`` of a script whose elements each run Python to square
     their index and write it to a file, then ``squeue -j`` every 0.5 s until the
     array left the queue, then the files read back;
   - outflow: ``python -m outflow squares --n N --backend slurm`` (the command's start,
     its pipeline, the payload, the arrays, the polling with the default settings,
     every element setting up outflow, the results back in order), untracked.
   Goal: outflow within 1.5x of raw (best and median).
2. The driver's CPU while it waits: ``--idle-items`` items sleeping ``--idle-seconds``
   each, the driver's user+system CPU time (its Slurm commands included) over its wall
   time. Goal: under 5% of one core.

Results are printed and written to ``benchmarks/results/slurm.json``. No assertion:
a measurement to read, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "slurm"))

from slurmkit import SlurmPipeline  # noqa: E402

RAW_POLL_SECONDS = 0.5
RAW_ELEMENT = """#!/bin/sh
exec {python} -c "import os; i = int(os.environ['SLURM_ARRAY_TASK_ID']); \\
open('{directory}/result-%d' % i, 'w').write(str(i * i))"
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_cluster(directory: Path) -> Path:
    ports = {"SLURMCTLD_PORT": str(_free_port()), "SLURMD_PORT": str(_free_port())}
    subprocess.run([str(ROOT / "scripts" / "services" / "slurm.sh"), "start", str(directory)],
                   check=True, capture_output=True, env={**os.environ, **ports}, timeout=120)
    return directory / "slurm.conf"


def raw_map(items: int, directory: Path) -> float:
    """Seconds for raw sbatch --array + polling + reading the results back."""
    for old in directory.glob("result-*"):
        old.unlink()
    script = RAW_ELEMENT.format(python=sys.executable, directory=directory)
    began = time.perf_counter()
    job = subprocess.run(["sbatch", "--parsable", f"--array=0-{items - 1}",
                          "--output=/dev/null"], input=script, capture_output=True,
                         text=True, check=True).stdout.strip().split(";")[0]
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True,
                         text=True).stdout.strip():
        time.sleep(RAW_POLL_SECONDS)
    results = [int((directory / f"result-{index}").read_text()) for index in range(items)]
    elapsed = time.perf_counter() - began
    assert results == [index * index for index in range(items)]
    return elapsed


def outflow_map(pipeline: SlurmPipeline, items: int) -> float:
    began = time.perf_counter()
    done = pipeline.run("--n", str(items), "--db-untracked", timeout=1800)
    elapsed = time.perf_counter() - began
    assert pipeline.results(done) == [index * index for index in range(items)]
    return elapsed


def driver_cpu_share(pipeline: SlurmPipeline, items: int, seconds: float) -> dict[str, float]:
    """The driver's CPU (its Slurm commands included) over its wall time, while its
    items sleep."""
    pipeline.log.write_text("")
    began = time.perf_counter()
    process = subprocess.Popen(pipeline.command("--n", str(items), "--sleep", str(seconds),
                                                "--db-untracked"),
                               cwd=pipeline.root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=pipeline.environment())
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    assert os.waitstatus_to_exitcode(status) == 0
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 3),
            "cpu_share_percent": round(100 * cpu / wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle-items", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    arguments = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="outflow-bench-slurm-"))
    cluster = None
    if not os.environ.get("SLURM_CONF"):
        cluster = work / "cluster"
        os.environ["SLURM_CONF"] = str(start_cluster(cluster))
    try:
        pipeline = SlurmPipeline(work / "pipeline")
        # The backend's default polling (the tests' pipeline polls faster).
        pipeline.configure({"poll_interval": 0.5, "max_poll_interval": 10.0})
        raw_directory = work / "raw"
        raw_directory.mkdir()
        raw_map(2, raw_directory)  # the first job of a fresh cluster waits for a pass
        raw, ours, ratios = [], [], []
        for _ in range(arguments.repeat):
            raw.append(raw_map(arguments.items, raw_directory))
            ours.append(outflow_map(pipeline, arguments.items))
            ratios.append(ours[-1] / raw[-1])
        squeue_calls = len(pipeline.slurm_calls("squeue"))
        idle = driver_cpu_share(pipeline, arguments.idle_items, arguments.idle_seconds)
    finally:
        if cluster is not None:
            subprocess.run([str(ROOT / "scripts" / "services" / "slurm.sh"), "stop",
                            str(cluster)], capture_output=True, timeout=120, check=False)

    report = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "items": arguments.items,
        "repeat": arguments.repeat,
        "raw_s": [round(value, 2) for value in raw],
        "outflow_s": [round(value, 2) for value in ours],
        "best_ratio": round(min(ours) / min(raw), 2),
        "median_ratio": round(statistics.median(ratios), 2),
        "squeue_calls_last_run": squeue_calls,
        "goal_ratio": 1.5,
        "idle": {"items": arguments.idle_items, "item_seconds": arguments.idle_seconds,
                 **idle, "goal_percent": 5.0},
    }
    print(f"{arguments.items} trivial items, best of {arguments.repeat}:")
    print(f"  raw sbatch --array + squeue polling  {min(raw):7.2f} s")
    print(f"  outflow --backend slurm              {min(ours):7.2f} s   "
          f"{report['best_ratio']:.2f}x raw (median ratio {report['median_ratio']:.2f}x), "
          f"{squeue_calls} squeue calls")
    print(f"driver while {arguments.idle_items} items sleep {arguments.idle_seconds:g} s: "
          f"{idle['cpu_s']:.2f} s CPU in {idle['wall_s']:.1f} s = "
          f"{idle['cpu_share_percent']:.2f}% of one core")
    output = ROOT / "benchmarks" / "results" / "slurm.json"
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
