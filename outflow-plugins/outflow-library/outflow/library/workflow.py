"""``outflow.library.workflow``: the spelling the user guide uses once; same blocks as
:mod:`outflow.library.tasks`."""

from outflow.library.tasks import *  # noqa: F403
from outflow.library.tasks import __all__  # noqa: F401
