"""Plugin host: pluggy markers, entry-point loading and the registry of what plugins provide.

Plugin modules import ``hookimpl`` from here, and the ``Register*`` types to annotate
their registration hooks. The host, its registry and their errors are exported too
(``context.host`` is a :class:`PluginHost`), imported on first use: a plugin module
that only needs ``hookimpl`` must not pay for them.
"""

import pluggy

from outflow.core import lazy_exports

hookimpl = pluggy.HookimplMarker("outflow")

ENTRY_POINT_GROUP = "outflow.plugins"

__all__ = [
    "ENTRY_POINT_GROUP",
    "LoadOptions",
    "PluginHost",
    "PluginLoadError",
    "Provided",
    "RegisterBackend",
    "RegisterBlock",
    "RegisterCommand",
    "RegisterConfigDefaults",
    "RegisterMigrations",
    "RegisterModels",
    "RegistrationError",
    "Registry",
    "hookimpl",
]

__getattr__ = lazy_exports(globals(), {
    "outflow.core.plugins.host": ("LoadOptions", "PluginHost", "PluginLoadError"),
    "outflow.core.plugins.registry": ("Provided", "RegistrationError", "Registry"),
    "outflow.core.plugins.registrars": (
        "RegisterBackend", "RegisterBlock", "RegisterCommand", "RegisterConfigDefaults",
        "RegisterMigrations", "RegisterModels",
    ),
})
