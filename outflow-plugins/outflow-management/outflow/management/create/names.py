"""Check the names given to ``management create`` and derive the template variables.

A refused name raises :class:`InvalidNameError`: its class lives in an ``outflow.*``
module, so the command line prints its message as it is, on one line, and exits 1.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass

from outflow.core.errors import OutflowError
from outflow.core.naming import snake_case


class InvalidNameError(OutflowError, ValueError):
    """A pipeline or plugin name that ``management create`` refuses."""


#: Names the plugin template itself uses in ``commands.py``: a hello command class of
#: that name would replace them.
_TEMPLATE_CLASS_NAMES = frozenset({"Command", "RootCommand", "GenData", "PrintData", "ComputeData"})
#: Commands the plugin template defines: a hello command of that name would clash.
_TEMPLATE_COMMAND_NAMES = frozenset({"compute_data"})


def check_pipeline_name(name: str) -> str:
    """Return ``name`` if it can be a directory name; raise :class:`InvalidNameError`."""
    problem = None
    if not name or not name.strip():
        problem = "it is empty"
    elif name != name.strip():
        problem = "it starts or ends with white space"
    elif name in (".", ".."):
        problem = "it is a special directory name"
    elif "/" in name or "\\" in name:
        problem = "it contains a path separator (use --pipeline_dir to choose the location)"
    elif "\0" in name or any(not char.isprintable() for char in name):
        problem = "it contains a control character"
    elif name.startswith("-"):
        problem = "it starts with '-'"
    if problem is not None:
        raise InvalidNameError(f"invalid pipeline name {name!r}: {problem}")
    return name


@dataclass(frozen=True)
class PluginNames:
    """The names derived from a plugin's dotted name, as the templates use them."""

    plugin: str  #: ``tuto.data_reduction``
    namespace: str  #: ``tuto``
    name: str  #: ``data_reduction``
    class_name: str  #: ``DataReduction``
    command_name: str  #: ``data_reduction``: the hello command
    distribution: str  #: ``tuto-data-reduction``

    @property
    def package_path(self) -> str:
        """``tuto/data_reduction``: where the package lives in the plugin directory."""
        return self.plugin.replace(".", "/")

    @property
    def namespace_path(self) -> str:
        """``tuto``: the PEP 420 namespace directories, ``/``-separated."""
        return self.namespace.replace(".", "/")

    def variables(self) -> dict[str, str]:
        """The template variables (see ``templates/README.md``)."""
        hello_name_arg = "" if snake_case(self.class_name) == self.command_name else (
            f'name="{self.command_name}", '
        )
        return {
            "plugin": self.plugin,
            "namespace": self.namespace,
            "name": self.name,
            "class_name": self.class_name,
            "command_name": self.command_name,
            "distribution": self.distribution,
            "package_path": self.package_path,
            "namespace_path": self.namespace_path,
            "hello_name_arg": hello_name_arg,
        }


def camel_case(name: str) -> str:
    """``data_reduction`` -> ``DataReduction`` (``tools2d`` -> ``Tools2d``)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def check_plugin_name(dotted: str, reserved_commands: frozenset[str] = frozenset()) -> PluginNames:
    """Validate a plugin's dotted name (``tuto.data_reduction``) and derive its names.

    The name must have at least two components (a PEP 420 namespace, then the
    package), each an ASCII Python identifier that is not a keyword. The namespace may
    not be a module of the standard library (it would hide the namespace), and the last
    component may not clash with the names of the template or with ``reserved_commands``
    (commands registered by installed plugins, such as ``management``).
    """
    parts = dotted.split(".")

    def refuse(problem: str) -> InvalidNameError:
        return InvalidNameError(f"invalid plugin name {dotted!r}: {problem}")

    if len(parts) < 2:
        raise refuse("use a dotted name with a namespace, such as 'my_namespace.my_plugin'")
    for part in parts:
        if not part:
            raise refuse("empty component between dots")
        if not part.isascii():
            raise refuse(f"{part!r} is not ASCII")
        if not part.isidentifier():
            raise refuse(f"{part!r} is not a valid Python identifier")
        if keyword.iskeyword(part):
            raise refuse(f"{part!r} is a Python keyword")
    if parts[0] in getattr(sys, "stdlib_module_names", ()):
        raise refuse(f"the namespace {parts[0]!r} is a module of the Python standard library")
    name = parts[-1]
    class_name = camel_case(name)
    if not class_name.isidentifier():
        raise refuse(f"{name!r} gives no class name (use letters)")
    if class_name in _TEMPLATE_CLASS_NAMES:
        raise refuse(f"the command class {class_name} would clash with a name of the template")
    if name in _TEMPLATE_COMMAND_NAMES or name in reserved_commands:
        raise refuse(f"the command {name!r} already exists")
    return PluginNames(
        plugin=dotted,
        namespace=".".join(parts[:-1]),
        name=name,
        class_name=class_name,
        command_name=name,
        distribution=re.sub(r"[-_.]+", "-", dotted).strip("-").lower(),
    )
