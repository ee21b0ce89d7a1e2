"""The kernel's backend contract suite, run against the slurm backend on a real cluster."""

from outflow.core.test.backend_contract import BackendContract


class TestSlurmContract(BackendContract):
    backend = "slurm"
    # Polling fast: the test cluster answers at once and the items are short.
    config = {"slurm": {"poll_interval": 0.2, "max_poll_interval": 1.0}}
    # The slurm backend refuses a directive sbatch does not know, and the test cluster
    # has no partition "contract": the maps ask for what it can run.
    resources = {"cpus_per_task": 1, "mem": "100M"}
    timeout = 180.0
