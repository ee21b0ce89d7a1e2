"""One root for the errors outflow reports on one line: :class:`OutflowError`.

The command line prints an ``OutflowError`` as its message alone and any other
exception with its type: the decision is the class, never the module defining it.
"""

from __future__ import annotations

import pytest

from outflow.core.cli.app import describe
from outflow.core.cli.global_options import GlobalOptionError
from outflow.core.commands import ArgumentDefinitionError, BackendNotFoundError
from outflow.core.configuration import ConfigFileError
from outflow.core.db import DatabaseConfigError, DatabaseError
from outflow.core.errors import OutflowError
from outflow.core.pipeline import (
    ConfigError,
    PipelineNotFoundError,
    PipelineScopeError,
    SettingsError,
)
from outflow.core.tasks import EngineError
from outflow.core.workflow import CacheKeyError
from outflow.management.create.names import InvalidNameError
from outflow.management.create.rendering import TargetExistsError, TemplateError
from outflow.management.runs import RunNotFound

#: Each error and the standard class it also is, for code catching it by that one.
ONE_LINE_ERRORS = [
    (ArgumentDefinitionError, ValueError),
    (BackendNotFoundError, LookupError),
    (CacheKeyError, ValueError),
    (ConfigError, AttributeError),
    (ConfigFileError, Exception),
    (DatabaseConfigError, ValueError),
    (DatabaseError, RuntimeError),
    (EngineError, Exception),
    (GlobalOptionError, ValueError),
    (PipelineNotFoundError, LookupError),
    (PipelineScopeError, RuntimeError),
    (SettingsError, AttributeError),
    (InvalidNameError, ValueError),
    (RunNotFound, LookupError),
    (TargetExistsError, FileExistsError),
    (TemplateError, RuntimeError),
]


@pytest.mark.parametrize(("error_class", "standard"), ONE_LINE_ERRORS,
                         ids=[cls.__name__ for cls, _ in ONE_LINE_ERRORS])
def test_outflow_errors_are_one_line_and_keep_their_standard_base(
        error_class: type[Exception], standard: type[Exception]) -> None:
    assert issubclass(error_class, OutflowError)
    assert issubclass(error_class, standard)
    if error_class is ConfigFileError:
        error = ConfigFileError("config.yml", "bad value", line=3)
    else:
        error = error_class("config.yml:3: bad value")
    assert describe(error) == "config.yml:3: bad value"


def test_other_errors_keep_their_type() -> None:
    assert describe(ValueError("bad")) == "ValueError: bad"
    assert describe(KeyError("x")) == "KeyError: 'x'"
    assert describe(RuntimeError()) == "RuntimeError: RuntimeError"


def test_a_user_error_in_the_outflow_namespace_is_not_mistaken_for_outflows() -> None:
    # A plugin may live in the ``outflow.`` namespace: its errors are not outflow's.
    user_error = type("QuotaExceeded", (RuntimeError,), {"__module__": "outflow.acme.tasks"})
    assert describe(user_error("over quota")) == "QuotaExceeded: over quota"


def test_a_plugin_opts_in_by_deriving_from_outflow_error() -> None:
    class NoSuchSample(OutflowError, LookupError):
        pass

    assert describe(NoSuchSample("no sample 'x' in catalog.csv")) == "no sample 'x' in catalog.csv"
