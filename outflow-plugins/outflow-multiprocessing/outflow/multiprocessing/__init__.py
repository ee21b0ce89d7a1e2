"""outflow-multiprocessing: the ``parallel`` backend (alias ``multiprocessing``).

Nothing is imported here: the backend module loads when a command selects it.
"""
