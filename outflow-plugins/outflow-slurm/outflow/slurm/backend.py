"""The ``slurm`` backend: each MapWorkflow runs as Slurm job arrays.

Everything but the items of maps runs in the calling process (the driver), as with
the default backend. Each map becomes one job array (several above the cluster's
``MaxArraySize``), one element per item (:mod:`outflow.slurm.submission`); each
element is a process of its own that sets itself up from the map's payload and runs
its item (:mod:`outflow.slurm.job`), so maps nested in an item run inside its element.

Configuration, the ``slurm`` section (``config.yml``)::

    slurm:
      partition: short          # any sbatch directive, for every map of the pipeline;
      account: my_project       # a map's own keyword arguments win
      poll_interval: 0.5        # seconds between two looks at the queue, at first...
      max_poll_interval: 10     # ...growing to this while nothing changes
      python: /path/to/python   # the interpreter on the nodes (default: this one)
      keep_files: false         # keep each map's payload, results and logs after success
      array_size: 500           # at most this many elements per job array

Requirements: the Slurm client commands on the PATH, the same Python environment on
the nodes as here (its path), and ``TEMP_DIR`` on a filesystem the nodes share (by
default ``.outflow/tmp`` in the pipeline's directory: share the pipeline's directory).
Run tracking works from every element (the worker hooks); SQLite on a shared
filesystem is not safe for concurrent writers: use PostgreSQL on a cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from outflow.core.backends import Backend, Capabilities

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow
    from outflow.slurm.directives import Directives
    from outflow.slurm.settings import SlurmSettings

log = logging.getLogger(__name__)


class SlurmBackend(Backend):
    """Runs map items as Slurm job arrays."""

    name: ClassVar[str] = "slurm"
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel=True, other_processes=True, needs_shared_filesystem=True, remote=True,
        item_timeout=True,
    )

    def __init__(self, pipeline_context: PipelineContext) -> None:
        super().__init__(pipeline_context)
        #: Job ids of the arrays submitted and not known to be over (``close`` cancels).
        self.active: set[str] = set()
        self._maps = 0
        self._max_array: int | None = None
        self._warned = False
        self._settings: SlurmSettings | None = None
        self._run_key: str | None = None

    @property
    def slurm_settings(self) -> SlurmSettings:
        """The backend's settings, checked once (:class:`ConfigurationError` names one
        that is wrong)."""
        if self._settings is None:
            from outflow.slurm.settings import SlurmSettings, locator

            self._settings = SlurmSettings(self.settings,
                                           locator(self.pipeline_context.config))
        return self._settings

    def directives(self, workflow: Any, resources: Mapping[str, Any] | None) -> Directives:
        """The checked sbatch directives of a map: the ``slurm`` section's, then the
        map's resources (:class:`~outflow.slurm.directives.DirectiveError` names the
        first bad one)."""
        from outflow.slurm.directives import Directives
        from outflow.slurm.settings import SlurmSettings, locator

        return Directives.of(SlurmSettings.directives(self.settings), resources,
                             f"map {getattr(workflow, 'name', workflow)}",
                             locator(self.pipeline_context.config))

    def execute(self, workflow: Workflow) -> list[dict[str, Any]]:
        """Check the settings and the directives of every map of the command before
        anything runs: a typo fails the command at once, not after hours of work."""
        self.slurm_settings  # noqa: B018 - checked now
        for block in workflow.iter_blocks():
            resources = getattr(block, "resources", None)
            if isinstance(resources, Mapping):
                self.directives(block, resources)
        return super().execute(workflow)

    def map(self, workflow: Workflow, items: Sequence[Any], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Run ``workflow.run_item`` for each item in a Slurm job array; results in
        input order. The directives are checked before anything is written."""
        settings = self.slurm_settings
        directives = self.directives(workflow, resources)
        if not items:
            return []
        self._warn_about_sqlite()
        from outflow.slurm.submission import MapSubmission

        self._maps += 1
        return MapSubmission(self, workflow, items, directives, settings,
                             self._map_dir()).run()

    def _map_dir(self) -> Any:
        from pathlib import Path

        from outflow.core.private_directory import private_directory

        base = Path(self.pipeline_context.settings.TEMP_DIR) / "slurm" / self.run_key()
        return private_directory(base / f"map-{self._maps}", "Slurm map directory")

    def run_key(self) -> str:
        """The run's uuid (a fresh one for a workflow run outside a command)."""
        run = self.pipeline_context.run
        if run is not None:
            return str(run.uuid)
        if self._run_key is None:
            import uuid

            self._run_key = str(uuid.uuid4())
        return self._run_key

    def job_name(self) -> str:
        """``outflow-<run uuid>``: every job of a run carries its id."""
        return f"outflow-{self.run_key()}"

    def max_array_size(self) -> int:
        """Elements per job array: the cluster's ``MaxArraySize`` (read once per run),
        or ``array_size`` when smaller."""
        if self._max_array is None:
            from outflow.slurm.commands import max_array_size

            self._max_array = max_array_size()
        wanted = self.slurm_settings.array_size
        return min(self._max_array, wanted) if wanted else self._max_array

    def _warn_about_sqlite(self) -> None:
        """Once per run: a tracked run whose database is SQLite, on a cluster."""
        context = self.pipeline_context
        if self._warned or context.db_untracked or context.dry_run:
            return
        self._warned = True
        try:
            path = context.databases.sqlite_file()
        except Exception:  # noqa: BLE001 - no database configured: nothing to say
            return
        if path is not None:
            log.warning("outflow: run tracking writes to the SQLite file %s from every Slurm "
                        "job; SQLite is not safe for concurrent writers on a shared "
                        "filesystem: use PostgreSQL on a cluster", path)

    def close(self) -> None:
        """Cancel the arrays still running (a run that failed or was interrupted)."""
        if self.active:
            from outflow.slurm.commands import cancel

            cancel(self.job_name())
            self.active.clear()
        super().close()


__all__ = ["SlurmBackend"]
