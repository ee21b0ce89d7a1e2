"""The ``outflow`` command line: one click root shared by ``outflow``, ``python -m outflow``
and a pipeline's ``manage.py``."""
