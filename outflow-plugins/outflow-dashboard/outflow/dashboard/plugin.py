"""Entry point of outflow-dashboard: the ``dashboard`` command, named lazily.

Imported at every start-up of ``outflow``: nothing here imports the server, SQLAlchemy
or the pages until the command runs.
"""

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_commands(register):
    register("dashboard", "outflow.dashboard.command:Dashboard",
             help="Serve a local, read-only web page of the pipeline's runs.")
