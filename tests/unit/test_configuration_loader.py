"""Tests of outflow.core.configuration.loader: formats, includes, errors, merging."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.configuration.loader import (
    CONFIG_FILE_NAMES,
    ConfigFileError,
    find_config_file,
    load_config_file,
    merge_config,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_plain(value: Any) -> None:
    """Only builtin types, exactly (no ruamel subclasses)."""
    if isinstance(value, dict):
        assert type(value) is dict
        for key, item in value.items():
            assert_plain(key)
            assert_plain(item)
    elif isinstance(value, list):
        assert type(value) is list
        for item in value:
            assert_plain(item)
    else:
        assert value is None or type(value) in (str, int, float, bool)


# ------------------------------------------------------------------ find / formats


def test_find_config_file_prefers_the_first_name(tmp_path: Path) -> None:
    assert find_config_file(tmp_path) is None
    write(tmp_path / "config.json", "{}")
    write(tmp_path / "config.toml", "")
    assert find_config_file(tmp_path) == tmp_path / "config.toml"
    write(tmp_path / "config.yml", "")
    assert find_config_file(tmp_path) == tmp_path / "config.yml"
    assert CONFIG_FILE_NAMES[0] == "config.yml"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("config.yml", "a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\n"),
        ("config.yaml", "a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\n"),
        ("config.toml", 'a = 1\nb = ["x", 2.5, true]\n[c]\nd = "e"\n'),
        ("config.json", '{"a": 1, "b": ["x", 2.5, true, null], "c": {"d": "e"}}'),
    ],
)
def test_each_format(tmp_path: Path, name: str, text: str) -> None:
    data = load_config_file(write(tmp_path / name, text))
    assert data["a"] == 1
    assert data["b"][:3] == ["x", 2.5, True]
    assert data["c"] == {"d": "e"}
    assert_plain(data)


def test_yaml_values_are_plain_types(tmp_path: Path) -> None:
    data = load_config_file(write(tmp_path / "c.yml", "f: 1.0e+3\ni: 0x10\nl: [{a: 1}]\n"))
    assert data == {"f": 1000.0, "i": 16, "l": [{"a": 1}]}
    assert_plain(data)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_yaml_gives_empty_dict(tmp_path: Path, text: str) -> None:
    assert load_config_file(write(tmp_path / "config.yml", text)) == {}


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_config_file(path) == {"a": 1}


@pytest.mark.parametrize(
    ("name", "text", "got"),
    [
        ("c.yml", "- a\n- b\n", "list"),
        ("c.yml", "just text\n", "str"),
        ("c.json", "[1, 2]", "list"),
        ("c.json", "3", "int"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, name: str, text: str, got: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigFileError) as info:
        load_config_file(path)
    assert str(info.value) == f"{path}: top level must be a mapping, got {got}"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        load_config_file(tmp_path / "config.yml")
    assert info.value.path == tmp_path / "config.yml"
    assert "not found" in str(info.value)
    assert info.value.line is None


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"config\.ini: unsupported"):
        load_config_file(write(tmp_path / "config.ini", "[a]\n"))


# ----------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("name", "text", "line", "column"),
    [
        ("c.yml", "a: 1\nb: [1, 2\nc: 3\n", 3, 2),
        ("c.yml", "a: 1\n  b: 2\n", 2, 4),
        ("c.yml", "a: 1\na: 2\n", 2, 1),
        ("c.toml", "a = 1\nb = \n", 2, 5),
        ("c.toml", "[x]\n[x]\n", 2, 3),
        ("c.json", '{\n  "a": 1,\n  "b": }\n', 3, 8),
        ("c.json", "", 1, 1),
    ],
)
def test_malformed_files_give_path_line_column(
    tmp_path: Path, name: str, text: str, line: int, column: int
) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigFileError) as info:
        load_config_file(path)
    error = info.value
    assert (error.path, error.line, error.column) == (path, line, column)
    assert str(error).startswith(f"{path}:{line}:{column}: ")
    assert error.message
    assert "\n" not in str(error)


def test_error_str_without_position() -> None:
    assert str(ConfigFileError(Path("a.yml"), "boom")) == "a.yml: boom"
    assert str(ConfigFileError(Path("a.yml"), "boom", 3)) == "a.yml:3: boom"
    assert str(ConfigFileError(Path("a.yml"), "two\n  lines", 3, 4)) == "a.yml:3:4: two lines"


def test_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(ConfigFileError(Path("a.yml"), "boom", 3, 4)))
    assert (str(error), error.line, error.column) == ("a.yml:3:4: boom", 3, 4)


# ------------------------------------------------------------------------ includes


def test_include_relative_to_the_including_file_and_nested(tmp_path: Path) -> None:
    write(tmp_path / "config.yml", "name: demo\ndatabases: !include conf/databases.yml\n")
    write(tmp_path / "conf" / "databases.yml", "default: !include db/default.yml\n")
    write(tmp_path / "conf" / "db" / "default.yml", "dialect: sqlite\nport: !include port.json\n")
    write(tmp_path / "conf" / "db" / "port.json", "5432")
    data = load_config_file(tmp_path / "config.yml")
    assert data == {
        "name": "demo",
        "databases": {"default": {"dialect": "sqlite", "port": 5432}},
    }
    assert_plain(data)


def test_include_in_a_list(tmp_path: Path) -> None:
    write(tmp_path / "config.yml", "items:\n  - !include one.yml\n  - 2\n")
    write(tmp_path / "one.yml", "[1, 1]\n")
    assert load_config_file(tmp_path / "config.yml") == {"items": [[1, 1], 2]}


def test_include_cycle_names_the_chain(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yml", "x: 1\nb: !include b.yml\n")
    b = write(tmp_path / "b.yml", "y: 2\n\na:   !include a.yml\n")
    with pytest.raises(ConfigFileError) as info:
        load_config_file(a)
    error = info.value
    assert "a.yml -> b.yml -> a.yml" in error.message
    assert (error.path, error.line, error.column) == (b, 3, 6)
    assert str(error).startswith(f"{b}:3:6: include cycle")


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yml", "me: !include ./a.yml\n")
    with pytest.raises(ConfigFileError, match=r"a\.yml -> a\.yml"):
        load_config_file(a)


def test_same_file_included_twice_is_not_a_cycle(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yml", "one: !include c.yml\ntwo: !include c.yml\n")
    write(tmp_path / "c.yml", "v: 1\n")
    assert load_config_file(a) == {"one": {"v": 1}, "two": {"v": 1}}


def test_missing_include_names_the_including_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path / "config.yml", "a: 1\ndatabases: !include databases.yml\n")
    with pytest.raises(ConfigFileError) as info:
        load_config_file(config)
    error = info.value
    assert (error.path, error.line, error.column) == (config, 2, 12)
    assert str(error) == f"{config}:2:12: included file not found: {tmp_path / 'databases.yml'}"


def test_missing_nested_include_names_the_nested_file(tmp_path: Path) -> None:
    write(tmp_path / "config.yml", "sub: !include sub/s.yml\n")
    nested = write(tmp_path / "sub" / "s.yml", "x:\n  y: !include nope.yml\n")
    with pytest.raises(ConfigFileError) as info:
        load_config_file(tmp_path / "config.yml")
    assert str(info.value).startswith(f"{nested}:2:6: included file not found:")
    assert str(tmp_path / "sub" / "nope.yml") in str(info.value)


def test_malformed_included_file_names_it(tmp_path: Path) -> None:
    write(tmp_path / "config.yml", "sub: !include s.yml\n")
    nested = write(tmp_path / "s.yml", "a: [\n")
    with pytest.raises(ConfigFileError) as info:
        load_config_file(tmp_path / "config.yml")
    assert info.value.path == nested
    assert info.value.line is not None


def test_include_needs_a_path(tmp_path: Path) -> None:
    config = write(tmp_path / "config.yml", "a: !include {x: 1}\n")
    with pytest.raises(ConfigFileError, match="expects a file path") as info:
        load_config_file(config)
    assert info.value.line == 1


def test_include_tag_does_not_leak_into_ruamel(tmp_path: Path) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import ConstructorError

    load_config_file(write(tmp_path / "c.yml", "a: 1\n"))
    with pytest.raises(ConstructorError):
        YAML(typ="safe", pure=True).load("a: !include b.yml\n")


# --------------------------------------------------------------------------- merge


def test_merge_config_recursive_and_lists_replaced() -> None:
    defaults = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}
    overrides = {"a": {"c": [3]}, "e": 5, "g": {"h": 1}}
    merged = merge_config(defaults, overrides)
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 5, "g": {"h": 1}}
    assert defaults == {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}
    assert overrides == {"a": {"c": [3]}, "e": 5, "g": {"h": 1}}


def test_merge_config_shares_nothing_mutable() -> None:
    defaults = {"a": {"b": [1]}}
    overrides = {"c": {"d": [2]}}
    merged = merge_config(defaults, overrides)
    merged["a"]["b"].append(9)
    merged["c"]["d"].append(9)
    assert defaults == {"a": {"b": [1]}}
    assert overrides == {"c": {"d": [2]}}


_keys = st.sampled_from(list("abcde"))
_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text("xyz", max_size=3))
_configs = st.recursive(
    st.dictionaries(_keys, _leaves, max_size=4),
    lambda children: st.dictionaries(
        _keys, st.one_of(_leaves, children, st.lists(_leaves, max_size=3)), max_size=4
    ),
    max_leaves=8,
)


def _leaf_paths(config: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """(path, value) of every non-mapping value, and of empty mappings."""
    found: list[tuple[Any, ...]] = []
    for key, value in config.items():
        if isinstance(value, dict) and value:
            found.extend(_leaf_paths(value, (*prefix, key)))
        elif not isinstance(value, dict):
            found.append(((*prefix, key), value))
    return found


def _get(config: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        config = config[key]
    return config


@given(_configs)
def test_merge_with_empty_is_identity(config: dict[str, Any]) -> None:
    assert merge_config(config, {}) == config
    assert merge_config({}, config) == config


@given(_configs, _configs)
def test_override_leaves_always_win(defaults: dict[str, Any], overrides: dict[str, Any]) -> None:
    merged = merge_config(defaults, overrides)
    for path, value in _leaf_paths(overrides):
        assert _get(merged, path) == value
    # Every default survives where overrides did not speak.
    for path, value in _leaf_paths(defaults):
        node: Any = overrides
        for key in path:
            if not isinstance(node, dict):
                break  # an override replaced the whole branch
            if key not in node:
                assert _get(merged, path) == value
                break
            node = node[key]
