"""The plugin host: isolation of broken plugins, selection switches, registrations."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from outflow.core.plugins import host as host_module
from outflow.core.plugins.discovery import EntryPointInfo
from outflow.core.plugins.host import LoadOptions, PluginHost, PluginLoadError

GOOD = '''
from outflow.core.plugins import hookimpl

@hookimpl
def outflow_register_backends(register):
    register("fast", "fakeplug_good.backend:Fast", aliases=("quick",))

@hookimpl
def outflow_register_commands(register):
    register("greet", "fakeplug_good.commands:Greet", help="Say hello")

@hookimpl
def outflow_config_defaults(register):
    register("fast", {"workers": 2})
'''


@pytest.fixture
def plugins_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_tree):
    """Write plugin modules to disk and make discovery return their entry points."""
    sys.path.insert(0, str(tmp_path))

    def install(modules: dict[str, str], entry_points: dict[str, str]) -> None:
        write_tree(tmp_path, {f"{name}.py": text for name, text in modules.items()})
        infos = [EntryPointInfo(name, value, f"outflow-{name}", "1.2") for name, value in
                 entry_points.items()]
        monkeypatch.setattr(host_module, "discover_entry_points", lambda: infos)

    return install


def load(options: LoadOptions | None = None) -> PluginHost:
    return PluginHost(options or LoadOptions()).load()


def test_registrations_are_attributed_and_stay_lazy(plugins_on_disk):
    plugins_on_disk({"fakeplug_good": GOOD}, {"good": "fakeplug_good"})
    host = load()
    registry = host.collect()
    assert registry.get("backends", "quick").name == "fast"
    assert registry.get("commands", "greet").plugin == "good"
    assert "fakeplug_good.backend" not in sys.modules  # targets import on use only
    record = host.records["good"]
    assert record.status == "loaded"
    assert record.provides == {"backends": ["fast"], "commands": ["greet"],
                               "config_defaults": ["fast"]}
    assert "outflow_register_backends" in record.hooks
    assert host.records["outflow.core"].kind == "builtin"


def test_a_broken_plugin_is_reported_once_and_dropped(plugins_on_disk, capsys):
    plugins_on_disk(
        {"fakeplug_good": GOOD, "fakeplug_broken": "import does_not_exist_anywhere\n"},
        {"good": "fakeplug_good", "broken": "fakeplug_broken"},
    )
    for _ in range(2):
        host = load()
    err = capsys.readouterr().err
    assert err.count("plugin broken (outflow-broken 1.2) failed to load") == 1
    assert "No module named 'does_not_exist_anywhere'" in err
    assert host.records["broken"].status == "error"
    assert host.collect().get("commands", "greet") is not None  # the rest works


def test_a_hook_without_spec_drops_the_plugin(plugins_on_disk, capsys):
    nospec = ("from outflow.core.plugins import hookimpl\n\n"
              "@hookimpl\ndef outflow_nope():\n    pass\n")
    plugins_on_disk({"fakeplug_nospec": nospec}, {"nospec": "fakeplug_nospec"})
    host = load()
    assert host.records["nospec"].status == "error"
    assert "implements hooks with no spec: outflow_nope" in host.records["nospec"].error
    assert host.pm.get_plugin("nospec") is None
    assert "outflow_nope" in capsys.readouterr().err


def test_strict_mode_makes_failures_fatal(plugins_on_disk):
    plugins_on_disk({"fakeplug_broken": "raise RuntimeError('boom')\n"},
                    {"broken": "fakeplug_broken"})
    with pytest.raises(PluginLoadError, match="plugin broken .* RuntimeError: boom"):
        load(LoadOptions(strict=True))


@pytest.mark.parametrize("order", ["good first", "other first"])
def test_a_collision_gives_the_name_to_neither_plugin_whatever_the_order(
        plugins_on_disk, capsys, order):
    other = GOOD.replace("fakeplug_good", "fakeplug_other").replace('"greet"', '"other"')
    other += ("\n\n@hookimpl\ndef outflow_block_started(run, block, inputs):\n"
              "    pass\n")
    entry_points = {"good": "fakeplug_good", "other": "fakeplug_other"}
    if order == "other first":
        entry_points = dict(reversed(entry_points.items()))
    plugins_on_disk({"fakeplug_good": GOOD, "fakeplug_other": other}, entry_points)
    host = load()
    registry = host.collect()
    assert registry.get("backends", "fast") is None  # neither wins...
    assert registry.get("backends", "quick") is None  # ...nor keeps its aliases
    assert registry.conflict("backends", "fast") == ("good", "other")
    for name, rival in (("good", "other"), ("other", "good")):  # both say so...
        record = host.records[name]
        assert record.status == "loaded"  # ...and keep everything else
        assert "backend 'fast'" in record.error and f"'{rival}'" in record.error
    assert registry.get("commands", "other").plugin == "other"
    assert registry.get("commands", "greet").plugin == "good"
    assert "outflow_block_started" in host.records["other"].hooks
    err = capsys.readouterr().err
    assert err.count("backend 'fast' is registered by plugin 'good' and by 'other'") == 1


def test_a_collision_is_fatal_in_strict_mode(plugins_on_disk):
    other = GOOD.replace("fakeplug_good", "fakeplug_other").replace('"greet"', '"other"')
    plugins_on_disk({"fakeplug_good": GOOD, "fakeplug_other": other},
                    {"good": "fakeplug_good", "other": "fakeplug_other"})
    with pytest.raises(PluginLoadError, match="registered by plugin 'good' and by 'other'"):
        load(LoadOptions(strict=True)).collect()


@pytest.mark.parametrize(
    ("options", "loaded"),
    [
        (LoadOptions(blocked=frozenset({"good"})), False),
        (LoadOptions(allow=frozenset({"other"})), False),
        (LoadOptions(allow=frozenset({"outflow-good"})), True),  # distribution names work
        (LoadOptions(autoload=False), False),
        (LoadOptions(autoload=False, requested=frozenset({"good"})), True),
    ],
)
def test_selection_switches(plugins_on_disk, options, loaded):
    plugins_on_disk({"fakeplug_good": GOOD}, {"good": "fakeplug_good"})
    host = load(options)
    assert (host.records["good"].status == "loaded") is loaded
    assert (host.collect().get("commands", "greet") is not None) is loaded
    if not loaded:
        assert host.records["good"].status == "blocked"


def test_options_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OUTFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("OUTFLOW_PLUGINS", "a, b")
    monkeypatch.setenv("OUTFLOW_STRICT_PLUGINS", "1")
    options = LoadOptions.from_environment(["no:x", "y"])
    assert options == LoadOptions(autoload=False, allow=frozenset({"a", "b"}),
                                  blocked=frozenset({"x"}), requested=frozenset({"y"}),
                                  strict=True)


def test_addhooks_lets_a_plugin_publish_its_own_specs(plugins_on_disk):
    specs = ("import pluggy\nspec = pluggy.HookspecMarker('outflow')\n\n"
             "@spec\ndef extra_hook(x):\n    pass\n")
    publisher = (
        "from outflow.core.plugins import hookimpl\nimport fakeplug_specs\n\n"
        "@hookimpl\ndef outflow_addhooks(pluginmanager):\n"
        "    pluginmanager.add_hookspecs(fakeplug_specs)\n"
    )
    user = ("from outflow.core.plugins import hookimpl\n\n"
            "@hookimpl\ndef extra_hook(x):\n    return x * 2\n")
    plugins_on_disk({"fakeplug_specs": specs, "fakeplug_pub": publisher, "fakeplug_user": user},
                    {"a_publisher": "fakeplug_pub", "b_user": "fakeplug_user"})
    host = load()
    assert host.records["b_user"].status == "loaded"
    assert host.hook.extra_hook(x=21) == [42]


def test_invalid_names_are_refused(plugins_on_disk):
    bad = GOOD.replace('"greet"', '"bad name!"')
    plugins_on_disk({"fakeplug_bad": bad}, {"bad": "fakeplug_bad"})
    host = load()
    host.collect()
    assert "invalid command name 'bad name!'" in host.records["bad"].error


def test_an_installed_pipeline_plugin_still_has_its_commands_imported(tmp_path, plugins_on_disk,
                                                                      write_tree):
    write_tree(tmp_path, {"fakepipe/__init__.py": "", "fakepipe/commands.py": "LOADED = True\n"})
    plugins_on_disk({}, {"fakepipe": "fakepipe"})
    host = load()
    host.add_pipeline_plugins(["fakepipe"])
    assert "fakepipe.commands" in sys.modules
    assert host.records["fakepipe"].kind == "entry-point"  # not listed twice


def test_a_blocked_plugin_is_not_imported_as_a_pipeline_plugin(tmp_path, plugins_on_disk,
                                                               write_tree):
    write_tree(tmp_path, {"fakeblock/__init__.py": "", "fakeblock/commands.py": "X = 1\n"})
    plugins_on_disk({}, {"fakeblock": "fakeblock"})
    host = load(LoadOptions(blocked=frozenset({"fakeblock"})))
    host.add_pipeline_plugins(["fakeblock"])
    assert "fakeblock.commands" not in sys.modules
    assert host.records["fakeblock"].status == "blocked"


def test_plugins_list_shows_backends_with_aliases_capabilities_and_help(run_cli, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every cell on one line
    code, out, _ = run_cli(["plugins", "list", "--json"], tmp_path)
    assert code == 0
    backends = {backend["name"]: backend for backend in json.loads(out)["backends"]}
    assert backends["parallel"] == {
        "name": "parallel", "aliases": ["multiprocessing"], "plugin": "multiprocessing",
        "help": "run MapWorkflow items in a pool of processes on this machine",
        "capabilities": ["parallel", "other_processes", "item_timeout"], "error": None}
    assert backends["default"]["aliases"] == ["sequential"]
    assert backends["default"]["capabilities"] == []
    code, out, _ = run_cli(["plugins", "list"], tmp_path)
    table = out.split("\nBACKEND", 1)[1].splitlines()
    parallel = next(line for line in table if line.startswith("parallel"))
    assert "multiprocessing" in parallel and "parallel, other_processes" in parallel


def test_a_backend_that_cannot_be_imported_is_listed_with_its_error(plugins_on_disk):
    from outflow.core.cli.plugins_command import _describe_backend

    plugins_on_disk({"fakeplug_good": GOOD}, {"good": "fakeplug_good"})
    entry = load().collect().get("backends", "fast")
    described = _describe_backend(entry)
    assert described["capabilities"] is None
    assert described["error"].startswith("ModuleNotFoundError: No module named 'fakeplug_good.")
