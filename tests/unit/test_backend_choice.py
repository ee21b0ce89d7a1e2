"""What a user is told when the backend they ask for is not available."""

from __future__ import annotations

import pytest

from outflow.core.commands import backend_choice
from outflow.core.commands.backend_choice import BackendNotFoundError, resolve_backend
from outflow.core.pipeline.config import ConfigurationError
from outflow.core.pipeline.settings import Settings
from outflow.core.plugins import host as host_module
from outflow.core.plugins.host import LoadOptions, PluginHost


def _error(name: str, host: PluginHost) -> str:
    with pytest.raises(BackendNotFoundError) as caught:
        resolve_backend(name, host, Settings())
    assert isinstance(caught.value, ConfigurationError)  # a usage error: exit 2
    return str(caught.value)


def test_a_typo_gets_the_closest_name_and_no_install_hint():
    message = _error("paralel", PluginHost(LoadOptions()).load())
    assert message.startswith("unknown backend 'paralel' (did you mean 'parallel'?); "
                              "installed: default, mpi, multiprocessing, parallel, "
                              "sequential, slurm")
    assert "pip install" not in message


def test_a_name_nobody_provides_gets_no_install_hint():
    message = _error("lsf", PluginHost(LoadOptions()).load())
    assert message.startswith("unknown backend 'lsf'") and "pip install" not in message


def test_autoload_off_says_which_plugin_provides_default_and_how_to_load_it():
    message = _error("default", PluginHost(LoadOptions(autoload=False)).load())
    assert message == (
        "backend 'default' is provided by plugin 'sequential' (outflow-sequential), which "
        "is not loaded: autoload disabled (OUTFLOW_DISABLE_PLUGIN_AUTOLOAD); load it with "
        "-p sequential")


def test_a_backend_of_ours_not_installed_names_its_distribution(monkeypatch):
    monkeypatch.setattr(host_module, "discover_entry_points", lambda: [])
    message = _error("parallel", PluginHost(LoadOptions()).load())
    assert message == ("backend 'parallel' is provided by outflow-multiprocessing, which is "
                       "not installed: pip install outflow-multiprocessing")


def test_the_slurm_backend_not_installed_names_its_distribution(monkeypatch):
    monkeypatch.setattr(host_module, "discover_entry_points", lambda: [])
    message = _error("slurm", PluginHost(LoadOptions()).load())
    assert message == ("backend 'slurm' is provided by outflow-slurm, which is not "
                       "installed: pip install outflow-slurm")


def test_the_table_lists_only_distributions_that_exist():
    from pathlib import Path

    from outflow.core.plugins.known import KNOWN_DISTRIBUTIONS

    plugins = Path(__file__).resolve().parents[2] / "outflow-plugins"
    assert set(KNOWN_DISTRIBUTIONS) <= {path.name for path in plugins.iterdir()}
    assert backend_choice.DEFAULT_BACKEND == "default"


def test_unknown_plugin_names_in_the_switches_are_warned_about(monkeypatch, capsys):
    monkeypatch.setattr(host_module, "_WARNED", set())
    monkeypatch.setenv("OUTFLOW_PLUGINS", "managment,sequential,multiprocessing")
    options = LoadOptions.from_environment(["no:sequentail", "bogus"])
    PluginHost(options).load()
    err = capsys.readouterr().err.splitlines()
    assert ("outflow: warning: -p no:sequentail: no installed plugin is named 'sequentail' "
            "(did you mean 'sequential'?)") in err
    assert "outflow: warning: -p bogus: no installed plugin is named 'bogus'" in err
    assert ("outflow: warning: OUTFLOW_PLUGINS: no installed plugin is named 'managment' "
            "(did you mean 'management'?)") in err
    assert len(err) == 3  # the names that exist are not mentioned


def test_unknown_plugin_names_are_fatal_in_strict_mode(monkeypatch):
    monkeypatch.setattr(host_module, "_WARNED", set())
    options = LoadOptions(requested=frozenset({"bogus"}), strict=True)
    with pytest.raises(host_module.PluginLoadError, match="-p bogus: no installed plugin"):
        PluginHost(options).load()
