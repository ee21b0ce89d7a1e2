"""outflow's run dashboard: a local, read-only web page of a pipeline's runs.

``outflow dashboard`` (:mod:`outflow.dashboard.command`) serves it with the standard
library's HTTP server (:mod:`outflow.dashboard.server`): static pages and scripts from
this package (no build step, nothing fetched from elsewhere) and two JSON documents
read from the run database (:mod:`outflow.dashboard.queries`).
"""
