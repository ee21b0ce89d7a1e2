"""outflow-management: the ``management`` command group (pipelines, plugins, database, runs)."""
