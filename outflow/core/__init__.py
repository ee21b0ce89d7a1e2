"""The outflow kernel: hook specs, plugin host, command line root and pipeline.

Import nothing heavy here: ``outflow --help`` imports this package.
"""

__version__ = "1.0.0.dev0"
