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


class SettingsError(OutflowError, AttributeError):
    """Reading an undefined setting, or assigning one at run time."""


class Computed:
    """A default setting computed on first read (for values costly to import or compute)."""

    __slots__ = ("factory",)

    def __init__(self, factory: Any) -> None:
        self.factory = factory


def _uppercase_names(module: ModuleType) -> dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


class Settings:
    """Read-only view of the default settings overlaid by a settings module."""

    __slots__ = ("_values", "_module_name")

    def __init__(self, module: str | ModuleType | None = None, **overrides: Any) -> None:
        from outflow.core.pipeline import default_settings

        values = _uppercase_names(default_settings)
        module_name = None
        if module is not None:
            if isinstance(module, str):
                module = importlib.import_module(module)
            module_name = module.__name__
            values.update(_uppercase_names(module))
        values.update({key: value for key, value in overrides.items() if key.isupper()})
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_module_name", module_name)

    @property
    def module_name(self) -> str | None:
        """The pipeline's settings module, or None when only defaults are in use."""
        return self._module_name

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise SettingsError(
                f"setting {name!r} is not defined: add it to the pipeline's settings.py"
            ) from None
        if isinstance(value, Computed):
            value = self._values[name] = value.factory()
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
