"""Settings, configuration and the pipeline context: defaults, overlay, read-only, scope."""

from __future__ import annotations

import types

import pytest

from outflow.core.pipeline import (
    PipelineContext,
    PipelineScopeError,
    activate,
    config,
    context,
    settings,
)
from outflow.core.pipeline.config import Config, ConfigError
from outflow.core.pipeline.settings import Settings, SettingsError


def test_defaults_are_overlaid_by_the_settings_module():
    module = types.ModuleType("my_settings")
    module.PLUGINS = ["outflow.management", "tuto.data_reduction"]
    module.MY_SETTING = [str(i) for i in range(3)]
    module.lowercase_is_ignored = True
    values = Settings(module)
    assert values.PLUGINS == ["outflow.management", "tuto.data_reduction"]
    assert values.MY_SETTING == ["0", "1", "2"]
    assert values.MAIN_DATABASE == "default"
    assert "lowercase_is_ignored" not in values


def test_temp_dir_lives_in_the_pipeline_else_in_the_users_cache(tmp_path, monkeypatch):
    in_pipeline = Settings(ROOT_DIRECTORY=str(tmp_path)).TEMP_DIR
    assert in_pipeline == tmp_path / ".outflow" / "tmp"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    outside = Settings(ROOT_DIRECTORY=None).TEMP_DIR
    assert outside == tmp_path / "cache" / "outflow" / "tmp"


def test_settings_are_read_only_and_missing_ones_are_named():
    values = Settings()
    with pytest.raises(SettingsError, match="read-only at run time: set PLUGINS in settings.py"):
        values.PLUGINS = []
    with pytest.raises(SettingsError, match="'NOPE' is not defined"):
        _ = values.NOPE


def test_config_reads_by_item_and_attribute_but_refuses_attribute_assignment(tmp_path):
    values = Config({"logging": {"version": 1}, "custom_field": "x"}, file=tmp_path / "c.yml")
    assert values.custom_field == values["custom_field"] == "x"
    values["databases"] = {"default": {}}  # tests prepare configurations this way
    assert values.databases == {"default": {}}
    with pytest.raises(ConfigError, match="read-only at run time"):
        values.logging = {}
    with pytest.raises(ConfigError, match="no key 'missing'.*c.yml"):
        _ = values.missing
    assert values.__file__ == tmp_path / "c.yml"


@pytest.mark.parametrize("view", [context, settings, config], ids=["context", "settings", "config"])
def test_views_outside_a_pipeline_raise_a_clear_error(view):
    with pytest.raises(PipelineScopeError, match="only available inside a pipeline"):
        _ = view.anything


def test_views_follow_the_innermost_active_context():
    outer = PipelineContext(config={"name": "outer"})
    inner = PipelineContext(config={"name": "inner"})
    with activate(outer):
        assert config.name == "outer"
        with activate(inner):
            assert config["name"] == "inner"
            context.custom = 42  # tests set attributes such as context._models
            assert inner.custom == 42
        assert config.name == "outer"
        assert settings.MAIN_DATABASE == "default"
        config.update({"backend": "parallel"})
        assert outer.config["backend"] == "parallel"
