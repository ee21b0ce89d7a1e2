"""The kernel's public API, written down: changing it must be a deliberate edit here.

Each kernel package states what plugins and pipelines may import in its ``__init__``
and its ``__all__``. This snapshot fails on any addition or removal, so that a name
does not become public (or stop being public) by accident; update the list in the
same change, and say so in the changelog.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

import pytest

PUBLIC_API: dict[str, list[str]] = {
    "outflow.core.backends": [
        "Backend", "BackendError", "Capabilities", "ContextSnapshot", "Item", "ItemFailure",
        "ItemTimedOut", "ProcessDied", "WorkerDied", "WorkerKit", "context_snapshot",
        "current_backend", "current_item_index", "current_item_path", "earliest", "worker_kit",
    ],
    "outflow.core.cli": [],
    "outflow.core.commands": [
        "ArgumentDefinitionError", "BackendNotFoundError", "Command", "RootCommand",
    ],
    "outflow.core.configuration": [
        "CONFIG_FILE_NAMES", "ConfigFileError", "MASK", "find_config_file", "load_config_file",
        "mask_secrets", "mask_text", "merge_config",
    ],
    "outflow.core.db": [
        "DatabaseConfigError", "DatabaseError", "Databases", "Model", "SQLITE_BEGIN_OPTION",
        "bind_key_of", "module_of",
    ],
    "outflow.core.errors": ["CommandInterrupted", "OutflowError"],
    "outflow.core.logging": [
        "LEVEL_NAMES", "LOG_FORMAT", "ModuleLogger", "configure_logging",
        "default_logging_config", "is_debug", "logger",
    ],
    "outflow.core.pipeline": [
        "Config", "ConfigError", "Pipeline", "PipelineContext", "PipelineNotFoundError",
        "PipelineScopeError", "Settings", "SettingsError", "activate", "active_context",
        "config", "context", "has_active_context", "settings",
    ],
    "outflow.core.plugins": [
        "ENTRY_POINT_GROUP", "LoadOptions", "PluginHost", "PluginLoadError", "Provided",
        "RegisterBackend", "RegisterBlock", "RegisterCommand", "RegisterConfigDefaults",
        "RegisterMigrations", "RegisterModels", "RegistrationError", "Registry", "hookimpl",
    ],
    "outflow.core.runs": ["RunInfo"],
    "outflow.core.target": ["MISSING", "Target"],
    "outflow.core.tasks": [
        "Block", "EngineError", "GraphError", "MISSING", "MissingParameterError", "Parameter",
        "Skipped", "Target", "TargetError", "Task", "TaskError", "TaskInputError",
        "TaskOutputError", "TaskTypeError", "as_task", "connect", "current_definition",
    ],
    "outflow.core.test": [
        "BackendContract", "CommandTestCase", "PostgresCommandTestCase", "TaskTestCase",
        "make_test_context",
    ],
    "outflow.core.types": ["Parameter", "SKIPPED", "Skipped", "is_skipped"],
    "outflow.core.workflow": [
        "CacheKeyError", "Hooks", "Plan", "Step", "Workflow", "WorkflowCache", "WorkflowFactory",
        "as_workflow", "cache_directory", "cache_key", "execute",
    ],
}


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_public_api_is_the_written_one(name: str) -> None:
    package = importlib.import_module(name)
    assert sorted(package.__all__) == PUBLIC_API[name]
    assert len(set(package.__all__)) == len(package.__all__), "a name is listed twice"


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_every_public_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    for attribute in package.__all__:
        value = getattr(package, attribute)
        # A submodule of the same name must not hide the re-exported object.
        assert not isinstance(value, ModuleType), f"{name}.{attribute} is a module"


def test_unknown_names_still_raise_attribute_error() -> None:
    plugins = importlib.import_module("outflow.core.plugins")
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = plugins.nothing_here


def test_pipeline_views_are_not_the_submodules_of_the_same_name() -> None:
    from outflow.core import pipeline
    from outflow.core.pipeline.context import config, settings

    assert pipeline.config is config
    assert pipeline.settings is settings


#: Package -> modules its lazy re-exports name, which importing it must not import.
LAZY = {
    "outflow.core.commands": ["outflow.core.commands.backend_choice"],
    "outflow.core.configuration": ["outflow.core.configuration.loader",
                                   "outflow.core.configuration.secrets"],
    "outflow.core.pipeline": ["outflow.core.pipeline.pipeline", "outflow.core.pipeline.discovery"],
    "outflow.core.plugins": ["outflow.core.plugins.host", "outflow.core.plugins.registrars"],
    "outflow.core.test": ["outflow.core.test.test_cases", "outflow.core.test.backend_contract"],
    "outflow.core.workflow": ["outflow.core.workflow.cache"],
}

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)))
"""


@pytest.mark.parametrize("name", sorted(LAZY))
def test_importing_a_package_leaves_its_lazy_names_unimported(name: str) -> None:
    """In a fresh interpreter: ``sys.modules`` of the test process has everything."""
    done = subprocess.run([sys.executable, "-c", _PROBE, name, json.dumps(LAZY[name])],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
