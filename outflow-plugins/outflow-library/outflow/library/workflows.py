"""``outflow.library.workflows``: the same blocks as :mod:`outflow.library.tasks`.

The user guide imports them from both modules; which one a user picks does not matter.
"""

from outflow.library.tasks import *  # noqa: F403
from outflow.library.tasks import __all__  # noqa: F401
