"""``Pipeline``: sets up settings, configuration, logging and plugins, then runs the CLI.

The generated ``manage.py`` does::

    with Pipeline(root_directory=ROOT) as pipeline:
        sys.exit(pipeline.run())

and the ``outflow`` script does the same with the pipeline found from the working
directory. Set-up order matters: plugins' configuration defaults are needed to build
the configuration, and the pipeline's own plugin code is imported only once the
configuration is active (the user guide lets commands read ``config`` at import).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from outflow.core.cli.global_options import GlobalOptions, hoist_global_options
from outflow.core.pipeline.config import (
    KERNEL_SECTIONS,
    Config,
    check_sections,
    parameters_section,
)
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.pipeline.discovery import locate_pipeline
from outflow.core.pipeline.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from outflow.core.process_role import ProcessRole


class Pipeline:
    """A pipeline ready to run commands; use it as a context manager."""

    def __init__(
        self,
        root_directory: str | os.PathLike[str] | None = None,
        settings_module: str | None = None,
        argv: Sequence[str] | None = None,
        *,
        config_path: str | os.PathLike[str] | None = None,
        force_dry_run: bool = False,
        prog_name: str | None = None,
    ) -> None:
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.prog_name = prog_name or os.path.basename(sys.argv[0] or "outflow")
        if self.prog_name in ("__main__.py", "-c", ""):
            self.prog_name = "outflow"
        self.root_directory = root_directory
        self.settings_module = settings_module
        self.config_path = config_path
        self.force_dry_run = force_dry_run
        self.context: PipelineContext | None = None
        self.result: Any = None
        self.setup_error: BaseException | None = None
        #: what a plugin made of this process (outflow_process_role); None: the usual
        self.role: ProcessRole | None = None
        self._stack = ExitStack()

    # -- set-up -------------------------------------------------------------------
    def __enter__(self) -> Pipeline:
        try:
            self.options, self.ordered_argv = hoist_global_options(self.argv)
            from outflow.core.plugins.host import LoadOptions, PluginHost

            host = PluginHost(LoadOptions.from_environment(self.options.plugins)).load()
            self.role = host.hook.outflow_process_role(argv=list(self.argv))
            if self.role is not None and not self.role.needs_pipeline:
                return self  # the process serves another one (an MPI rank): no pipeline
            self.context = self._build_context(self.options, host)
            self._stack.enter_context(activate(self.context))
            settings = self.context.settings
            self.context.host.add_pipeline_plugins(settings.plugin_modules(),
                                                   where=f"{settings.location}: PLUGINS")
            self._add_late_defaults(self.context)
            check_configuration(self.context)
        except Exception as error:  # noqa: BLE001 - reported by run() on one line
            self.setup_error = error
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stack.close()

    def _build_context(self, options: GlobalOptions, host: Any) -> PipelineContext:
        location = locate_pipeline(options.settings or self.settings_module, self.root_directory)
        overrides = {}
        if location.root is not None and not getattr(location.settings_module,
                                                     "ROOT_DIRECTORY", None):
            overrides["ROOT_DIRECTORY"] = str(location.root)
        settings = Settings(location.settings_module, **overrides)
        config = self._load_config(options, location.root, host)
        pipeline_context = PipelineContext(settings, config, host=host,
                                           root_directory=location.root)
        pipeline_context.force_dry_run = self.force_dry_run
        pipeline_context.argv = list(self.argv)
        pipeline_context.log_level = options.log_level
        #: Unknown configuration entries are errors (``--strict``, ``OUTFLOW_STRICT=1``).
        pipeline_context.strict = bool(options.strict) or strict_from_environment()
        #: ``--plan[=FORMAT]``: show the command's validated graph instead of running it.
        pipeline_context.plan = options.plan
        #: ``--no-progress``: maps log their progress instead of drawing a bar.
        pipeline_context.no_progress = bool(options.no_progress)
        if location.settings_module is not None:
            pipeline_context.configure_logging()  # the pipeline's code may log on import
        return pipeline_context

    @staticmethod
    def _add_late_defaults(pipeline_context: PipelineContext) -> None:
        """Defaults registered by the pipeline's own plugins (``settings.PLUGINS``), which
        load after the configuration file is read: under what the file says."""
        from outflow.core.configuration.merge import merge_config

        config = pipeline_context.config
        late = [entry for entry in pipeline_context.host.collect().all("config_defaults")
                if entry.plugin in pipeline_context.host.pipeline_plugins()]
        if not late:
            return
        defaults: dict[str, Any] = {}
        for entry in late:
            defaults = merge_config(defaults, {entry.name: entry.target})
        pipeline_context.config = Config(merge_config(defaults, dict(config)),
                                         file=getattr(config, "__file__", None))

    def _load_config(self, options: GlobalOptions, root: Path | None, host: Any) -> Config:
        from outflow.core.configuration.merge import merge_config

        chosen = options.config or self.config_path or os.environ.get("OUTFLOW_CONFIG_PATH")
        path: Path | None = None
        if chosen:
            from pathlib import Path

            path = Path(chosen)
        elif root:
            from outflow.core.configuration.loader import find_config_file

            path = find_config_file(root)
        defaults: dict[str, Any] = {}
        for entry in host.collect().all("config_defaults"):
            defaults = merge_config(defaults, {entry.name: entry.target})
        values: dict[str, Any] = {}
        if path is not None:
            from outflow.core.configuration.loader import load_config_file
            from outflow.core.configuration.overrides import interpolate_environment

            values = interpolate_environment(load_config_file(path), path)
        merged = merge_config(defaults, values)
        if options.overrides:  # --set: the command line wins
            from outflow.core.configuration.overrides import apply_overrides

            merged = apply_overrides(merged, options.overrides)
        return Config(merged, file=path)

    # -- running ------------------------------------------------------------------
    def run(self, argv: Sequence[str] | None = None) -> int:
        """Run the command line; return the exit code (the result is in ``self.result``).

        A plugin that gave this process a role (:func:`outflow_process_role`) runs it
        instead: it calls the command line, or serves the process's other purpose.
        """
        if self.role is not None:
            return int(self.role.run(lambda: self._run_command_line(argv)))
        return self._run_command_line(argv)

    def _run_command_line(self, argv: Sequence[str] | None) -> int:
        from outflow.core.cli.app import EXIT_USAGE, build_root, describe, report, run_root

        if self.setup_error is not None:
            return report(describe(self.setup_error), EXIT_USAGE, self.setup_error)
        if self.context is None:
            raise RuntimeError("use Pipeline as a context manager: `with Pipeline(...) as p:`")
        ordered = self.ordered_argv if argv is None else hoist_global_options(argv)[1]
        root = build_root(self.context, name=self.prog_name)
        code, self.result = run_root(root, ordered, self.prog_name)
        return code

    @staticmethod
    def get_parent_directory_posix_path(module_path: str | os.PathLike[str]) -> str:
        """Directory of a file (``manage.py``'s ``__file__``), as a POSIX path."""
        from pathlib import Path

        return Path(module_path).resolve().parent.as_posix()


def strict_from_environment() -> bool:
    """``OUTFLOW_STRICT=1``: ``--strict`` for every command, e.g. in CI or in the tests
    of a pipeline, which run commands without typing their command line."""
    return os.environ.get("OUTFLOW_STRICT", "").strip().lower() not in ("", "0", "false", "no")


def known_sections(pipeline_context: PipelineContext) -> set[str]:
    """The top-level configuration sections something reads.

    The kernel's (:data:`~outflow.core.pipeline.config.KERNEL_SECTIONS`), those
    plugins register defaults for (``outflow_config_defaults``: the way for a plugin
    to declare its section), those named after a backend (a backend's settings, e.g.
    ``parallel:``; its aliases too, and ``settings.BACKENDS``) and the pipeline's own,
    listed in ``settings.CONFIG_SECTIONS``.
    """
    settings = pipeline_context.settings
    registry = pipeline_context.host.collect()
    extra_backends = getattr(settings, "BACKENDS", None) or {}
    return {
        *KERNEL_SECTIONS,
        *(entry.name for entry in registry.all("config_defaults")),
        *registry.names("backends", True),
        *(extra_backends if isinstance(extra_backends, dict) else ()),
        *settings.config_sections(),
    }


def check_configuration(pipeline_context: PipelineContext) -> None:
    """What can be checked of the configuration before any command runs.

    The shape of ``parameters`` (an error: no command could use it), then the
    top-level sections that nothing reads (warnings, errors when strict). Task and
    parameter names are checked against each command's graph when it is validated
    (:func:`outflow.core.tasks.parameters.check_parameter_names`).
    """
    config = pipeline_context.config
    parameters_section(config)
    check_sections(config, known_sections(pipeline_context),
                   strict=getattr(pipeline_context, "strict", False),
                   pipeline_context=pipeline_context)
