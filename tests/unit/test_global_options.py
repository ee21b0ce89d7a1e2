"""Global options are accepted before or after the subcommand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.cli.global_options import GlobalOptionError, hoist_global_options

VALUE_OPTIONS = {"--settings": "settings", "--config": "config", "-b": "backend",
                 "--backend": "backend", "-ll": "log_level", "--log-level": "log_level"}
FLAGS = {"--dry-run": "dry_run", "--db-untracked": "db_untracked",
         "--overwrite-cache": "overwrite_cache"}

words = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
command_tokens = st.lists(st.one_of(words, words.map(lambda w: f"--{w}x")), max_size=6)


@st.composite
def global_groups(draw: st.DrawFn) -> list[list[str]]:
    groups = []
    for option in draw(st.lists(st.sampled_from(sorted(VALUE_OPTIONS)), unique_by=VALUE_OPTIONS.get,
                                max_size=3)):
        value = draw(words)
        groups.append([f"{option}={value}"] if option.startswith("--") and draw(st.booleans())
                      else [option, value])
    for flag in draw(st.lists(st.sampled_from(sorted(FLAGS)), unique=True)):
        groups.append([flag])
    return groups


@given(command_tokens, global_groups(), st.randoms())
def test_position_of_global_options_does_not_matter(command, groups, random):
    before = [token for group in groups for token in group] + command
    slots: list[list[str]] = [[] for _ in range(len(command) + 1)]
    for group in groups:  # each option group goes whole between two command tokens
        slots[random.randint(0, len(command))].extend(group)
    shuffled = list(slots[0])
    for token, slot in zip(command, slots[1:]):
        shuffled += [token, *slot]
    first, ordered_first = hoist_global_options(before)
    second, ordered_second = hoist_global_options(shuffled)
    assert first == second
    # the rest keeps its order, after the hoisted options
    assert ordered_second[len(ordered_second) - len(command):] == command
    assert ordered_first[len(ordered_first) - len(command):] == command


def test_values_are_parsed():
    options, ordered = hoist_global_options(
        ["compute_data", "--multiplier", "3", "-b", "parallel", "-ll", "DEBUG", "--dry-run",
         "-p", "no:slurm", "--config=other.yml"]
    )
    assert options.backend == "parallel"
    assert options.log_level == "DEBUG"
    assert options.dry_run is True
    assert options.plugins == ["no:slurm"]
    assert options.config == "other.yml"
    assert ordered[-3:] == ["compute_data", "--multiplier", "3"]


def test_tokens_after_double_dash_are_left_alone():
    options, ordered = hoist_global_options(["run", "--", "--dry-run"])
    assert options.dry_run is False
    assert ordered == ["run", "--", "--dry-run"]


def test_missing_value_is_an_error():
    with pytest.raises(GlobalOptionError, match="--backend requires a value"):
        hoist_global_options(["compute", "--backend"])


def test_each_option_is_declared_once_for_hoisting_click_and_reserved_names():
    from outflow.core.cli.app import _global_params
    from outflow.core.cli.global_options import GLOBAL_OPTIONS, OPTION_STRINGS, GlobalOptions
    from outflow.core.commands.arguments import RESERVED_OPTIONS

    params = _global_params()
    assert [param.opts for param in params] == [list(option.names) for option in GLOBAL_OPTIONS]
    assert [param.help for param in params] == [option.help for option in GLOBAL_OPTIONS]
    for param, option in zip(params, GLOBAL_OPTIONS):
        assert param.name == option.attribute
        assert param.is_flag is not option.takes_value
        assert param.metavar == option.metavar
        assert param.multiple is option.repeated
    assert sorted(RESERVED_OPTIONS - OPTION_STRINGS) == ["--help"]
    assert OPTION_STRINGS <= RESERVED_OPTIONS
    # GlobalOptions' slots come from the declarations; its annotations must follow.
    assert list(GlobalOptions.__annotations__) == [option.attribute for option in GLOBAL_OPTIONS]
    assert GlobalOptions.__slots__ == tuple(GlobalOptions.__annotations__)


def test_defaults_and_repeated_values():
    options, _ = hoist_global_options(["-p", "a", "run", "-p", "no:b"])
    assert options.plugins == ["a", "no:b"]
    assert hoist_global_options([])[0].plugins == []  # a new list each time
    fresh = hoist_global_options([])[0]
    assert (fresh.version, fresh.settings, fresh.dry_run) == (False, None, False)
