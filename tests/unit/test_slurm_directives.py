"""The slurm backend's checks that need no cluster: directives, settings, squeue's ids."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.pipeline.config import ConfigurationError
from outflow.library import progress
from outflow.library.progress import MapProgress
from outflow.slurm.commands import _expand
from outflow.slurm.directives import SBATCH_OPTIONS, DirectiveError, Directives, check
from outflow.slurm.settings import SlurmSettings


def test_the_map_wins_over_the_configuration_and_options_are_sbatchs() -> None:
    directives = Directives.of({"partition": "long", "mem": "1G", "account": "physics"},
                               {"partition": "short", "cpus_per_task": 2, "exclusive": True,
                                "simultaneous_tasks": 5}, "map work")
    assert directives.simultaneous_tasks == 5
    assert directives.options() == ["--account=physics", "--cpus-per-task=2", "--exclusive",
                                    "--mem=1G", "--partition=short"]


@given(st.floats(min_value=0.001, max_value=1e6))
def test_a_maps_timeout_becomes_the_time_limit_in_whole_minutes(seconds: float) -> None:
    directives = Directives.of({}, {"timeout": seconds}, "map work")
    minutes = directives.sbatch["time"]
    assert minutes >= 1 and minutes * 60 >= seconds and (minutes - 1) * 60 < max(seconds, 60)
    assert "timeout" not in directives.sbatch
    assert Directives.of({}, {"timeout": seconds, "time": "2:00:00"},
                         "map work").options() == ["--time=2:00:00"]  # given: it wins


@pytest.mark.parametrize("value", [0, -5, "1 min"])
def test_a_bad_timeout_is_named(value: object) -> None:
    with pytest.raises(DirectiveError, match="map work: timeout must be a positive number"):
        Directives.of({}, {"timeout": value}, "map work")


def test_none_and_false_leave_a_directive_out() -> None:
    directives = Directives.of({"partition": "long", "exclusive": True},
                               {"partition": None, "exclusive": False}, "map work")
    assert directives.options() == []


@pytest.mark.parametrize(("name", "value", "message"), [
    ("partiton", "short", "map work: partiton is not an sbatch directive (did you mean "
                          "'partition'?)"),
    ("array", "0-3", "map work: array is an sbatch option that the slurm backend sets"),
    ("job_name", "mine", "map work: job_name is an sbatch option that the slurm backend"),
    ("mem", "10GO", "map work: mem must be a size such as 4G or 500M, got '10GO'"),
    ("time", "an hour", "map work: time must be a time limit"),
    ("cpus_per_task", "2", "map work: cpus_per_task must be a positive integer, got '2'"),
    ("simultaneous_tasks", 0, "map work: simultaneous_tasks must be a positive integer"),
    ("comment", "two\nlines", "map work: comment must be a non-empty line"),
    ("mpi", True, "map work: mpi=True (a whole map as one MPI job) is not supported"),
])
def test_a_bad_directive_is_named(name: str, value: object, message: str) -> None:
    with pytest.raises(DirectiveError) as raised:
        Directives.of({}, {name: value}, "map work")
    assert message in str(raised.value)
    assert isinstance(raised.value, ConfigurationError)  # exit code 2, one line


def test_configuration_entries_are_located_by_the_caller() -> None:
    with pytest.raises(DirectiveError, match=r"^config.yml:3:3: slurm.qso is not an sbatch "
                                             r"directive \(did you mean 'qos'\?\)$"):
        Directives.of({"qso": "normal"}, {}, "map work",
                      lambda name: f"config.yml:3:3: slurm.{name}")


# sbatch's own syntax (checked against sbatch --test-only on the test cluster): a number
# and an optional K/M/G/T unit, with or without B, any case.
@given(st.integers(min_value=1, max_value=10**6),
       st.sampled_from(["", "K", "M", "G", "T", "k", "m", "g", "t", "KB", "GB", "mb"]))
def test_every_memory_size_sbatch_takes_is_taken(amount: int, unit: str) -> None:
    assert check("mem", f"{amount}{unit}", "map work") == f"{amount}{unit}"


@given(st.text(min_size=1).filter(lambda text: not any("0" <= c <= "9" for c in text)))
def test_memory_without_an_ascii_number_is_refused(text: str) -> None:
    with pytest.raises(DirectiveError):
        check("mem", text, "map work")


@given(st.one_of(
    st.integers(min_value=1, max_value=10**5).map(str),  # minutes
    st.tuples(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59)).map(
        lambda t: f"{t[0]}:{t[1]:02d}:{t[2]:02d}"),
    st.tuples(st.integers(0, 30), st.integers(0, 23), st.integers(0, 59)).map(
        lambda t: f"{t[0]}-{t[1]:02d}:{t[2]:02d}"),
    st.tuples(st.integers(0, 30), st.integers(0, 23)).map(lambda t: f"{t[0]}-{t[1]}"),
))
def test_every_time_limit_form_is_taken(limit: str) -> None:
    assert check("time", limit, "map work") == limit


def test_the_known_options_are_python_names() -> None:
    assert all(name == name.lower() and "-" not in name for name in SBATCH_OPTIONS)
    assert {"partition", "account", "qos", "gres", "mem", "time", "cpus_per_task"} <= (
        SBATCH_OPTIONS)


# -- settings -----------------------------------------------------------------------
def test_settings_and_directives_share_the_section() -> None:
    section = {"poll_interval": 1, "max_poll_interval": 0.5, "keep_files": True,
               "array_size": 100, "python": "/opt/python", "partition": "short"}
    settings = SlurmSettings(section)
    assert (settings.poll_interval, settings.max_poll_interval) == (1.0, 1.0)
    assert (settings.keep_files, settings.array_size, settings.python) == (
        True, 100, "/opt/python")
    assert SlurmSettings.directives(section) == {"partition": "short"}
    assert SlurmSettings({}).python == sys.executable


@pytest.mark.parametrize(("section", "message"), [
    ({"poll_interval": 0}, "slurm.poll_interval must be a positive number of seconds"),
    ({"max_poll_interval": "10s"}, "slurm.max_poll_interval must be a positive number"),
    ({"keep_files": "yes"}, "slurm.keep_files must be true or false, got 'yes'"),
    ({"array_size": 0}, "slurm.array_size must be a positive integer, got 0"),
    ({"python": ""}, "slurm.python must be the path of an interpreter"),
])
def test_a_bad_setting_is_named(section: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SlurmSettings(section)


# -- squeue's element ids -------------------------------------------------------------
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 20)), min_size=1,
                max_size=5), st.one_of(st.none(), st.integers(1, 50)))
def test_pending_ranges_expand_to_every_element(ranges: list[tuple[int, int]],
                                               limit: int | None) -> None:
    parts = [f"{first}-{first + extra}" if extra else str(first) for first, extra in ranges]
    job = "812_[" + ",".join(parts) + (f"%{limit}" if limit else "") + "]"
    expected = [f"812_{index}" for first, extra in ranges
                for index in range(first, first + extra + 1)]
    assert _expand(job) == expected


def test_single_elements_and_plain_jobs_stay_as_they_are() -> None:
    assert _expand("812_4") == ["812_4"]
    assert _expand("813") == ["813"]


# -- progress -------------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_what_runs_and_waits_in_the_queue(monkeypatch) -> None:
    monkeypatch.setattr(progress, "REDRAW_INTERVAL", 0.0)
    monkeypatch.setattr(progress, "QUIET_BELOW", 0.0)
    stream = Terminal()
    bar = MapProgress(10, "map work", stream=stream)
    bar.queued(running=2, pending=8)
    bar.queued(running=2, pending=8)  # unchanged: not redrawn
    bar.advance(1)
    bar.queued(running=3, pending=6)
    bar.advance(9)
    bar.close()
    lines = stream.getvalue().split("\r")[1:]
    assert "0/10 items, 0 failed, 2 running, 8 pending" in lines[0]
    assert "1/10 items, 0 failed, 2 running, 8 pending" in lines[1]
    assert "1/10 items, 0 failed, 3 running, 6 pending" in lines[2]
    assert "10/10 items, 0 failed, " in lines[-1] and "running" not in lines[-1]  # done
    assert len(lines) == 5


# -- no Slurm here ----------------------------------------------------------------------
def test_without_slurm_commands_the_error_says_what_is_missing(tmp_path) -> None:
    script = ("from outflow.slurm.commands import SlurmError, submit\n"
              "try:\n    submit([], '#!/bin/sh\\n')\n"
              "except SlurmError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"PATH": str(tmp_path)}, timeout=60)
    assert done.stdout.strip() == ("sbatch not found: the slurm backend needs the Slurm "
                                   "client commands (sbatch, squeue, scontrol, scancel) on "
                                   "the PATH")
