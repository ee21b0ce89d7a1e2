"""Plugin host: pluggy markers, entry-point loading and the registry of what plugins provide.

Plugin modules import ``hookimpl`` from here; everything else lives in the submodules
and is imported by the command line and the pipeline when they need it.
"""

import pluggy

hookimpl = pluggy.HookimplMarker("outflow")

ENTRY_POINT_GROUP = "outflow.plugins"

__all__ = ["ENTRY_POINT_GROUP", "hookimpl"]
