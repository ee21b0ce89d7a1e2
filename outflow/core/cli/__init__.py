"""The ``outflow`` command line: one click root shared by ``outflow``, ``python -m outflow``
and a pipeline's ``manage.py``.

Nothing here is for plugins or pipelines to import: they add commands through
:mod:`outflow.core.commands` and run a pipeline with :class:`outflow.core.pipeline.Pipeline`.
The empty ``__all__`` says so (and the public API test keeps it so).
"""

__all__: list[str] = []
