"""outflow-library: the standard blocks of outflow.

Import them from :mod:`outflow.library.tasks` or :mod:`outflow.library.workflows`
(both name every block, as the user guide uses both). This package itself imports
nothing, so that loading the plugin at start-up costs nothing.
"""
