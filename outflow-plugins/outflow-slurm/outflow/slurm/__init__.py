"""outflow-slurm: the ``slurm`` backend, each MapWorkflow as a Slurm job array.

Nothing is imported here: the backend module loads when a command selects it.
"""
