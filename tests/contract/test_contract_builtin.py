"""The kernel's backend contract suite, run against the built-in backends."""

from outflow.core.test.backend_contract import BackendContract


class TestSequentialContract(BackendContract):
    backend = "default"


class TestParallelContract(BackendContract):
    backend = "parallel"
    config = {"parallel": {"max_workers": 2}}
