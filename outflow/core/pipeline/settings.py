"""Settings: the kernel defaults overlaid by the pipeline's ``settings.py``.

Settings describe the pipeline itself (which plugins, where temporary files go) and
are versioned with it; they are read-only once the pipeline starts, so that every
task of a run sees the same values.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from outflow.core.errors import OutflowError
from outflow.core.pipeline.config import ConfigurationError, describe_entry


class SettingsError(OutflowError, AttributeError):
    """Reading an undefined setting, or assigning one at run time."""


class InvalidSettingError(ConfigurationError):
    """A setting of the wrong shape (``PLUGINS = 'tuto.plugin'``): exit status 2."""


class Computed:
    """A default setting computed on first read (for values costly to import or compute,
    or that depend on other settings): ``factory(settings)`` gives the value."""

    __slots__ = ("factory",)

    def __init__(self, factory: Any) -> None:
        self.factory = factory


def _uppercase_names(module: ModuleType) -> dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


class Settings:
    """Read-only view of the default settings overlaid by a settings module."""

    __slots__ = ("_values", "_module_name", "_module_file")

    def __init__(self, module: str | ModuleType | None = None, **overrides: Any) -> None:
        from outflow.core.pipeline import default_settings

        values = _uppercase_names(default_settings)
        module_name = module_file = None
        if module is not None:
            if isinstance(module, str):
                module = importlib.import_module(module)
            module_name = module.__name__
            module_file = getattr(module, "__file__", None)
            values.update(_uppercase_names(module))
        values.update({key: value for key, value in overrides.items() if key.isupper()})
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_module_name", module_name)
        object.__setattr__(self, "_module_file", module_file)

    @property
    def module_name(self) -> str | None:
        """The pipeline's settings module, or None when only defaults are in use."""
        return self._module_name

    @property
    def location(self) -> str:
        """Where the settings come from, for messages: the settings file, else its
        module, else the kernel's defaults."""
        return self._module_file or self._module_name or "outflow's default settings"

    def plugin_modules(self) -> list[str]:
        """``PLUGINS``, checked: a list (or tuple) of module names.

        A string is refused rather than iterated: ``PLUGINS = 'tuto.plugin'`` would
        otherwise ask for the plugins ``t``, ``u``, ``t``... Raises
        :class:`InvalidSettingError` naming the settings file.
        """
        return self._names("PLUGINS", "plugin module names",
                           "PLUGINS = ['outflow.management', 'tuto.data_reduction']")

    def config_sections(self) -> list[str]:
        """``CONFIG_SECTIONS``, checked like :meth:`plugin_modules`: the top-level
        configuration sections the pipeline's own code reads."""
        return self._names("CONFIG_SECTIONS", "configuration section names",
                           "CONFIG_SECTIONS = ['my_section']")

    def _names(self, setting: str, what: str, example: str) -> list[str]:
        value = getattr(self, setting)
        if not isinstance(value, (list, tuple)):
            hint = f" (write {setting} = [{value!r}])" if isinstance(value, str) else ""
            raise InvalidSettingError(
                f"{self.location}: {setting} must be a list of {what}, got "
                f"{describe_entry(value)}{hint}; e.g. {example}"
            )
        for index, name in enumerate(value):
            if not isinstance(name, str) or not name.strip():
                raise InvalidSettingError(
                    f"{self.location}: {setting}[{index}] must be a non-empty string, got "
                    f"{describe_entry(name)}; e.g. {example}"
                )
        return list(value)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise SettingsError(
                f"setting {name!r} is not defined: add it to the pipeline's settings.py"
            ) from None
        if isinstance(value, Computed):
            value = self._values[name] = value.factory(self)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        where = self._module_name or "settings.py"
        raise SettingsError(
            f"settings are read-only at run time: set {name} in {where} instead"
        )

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._values}

    def __repr__(self) -> str:
        return f"<Settings {self._module_name or 'defaults'}>"
