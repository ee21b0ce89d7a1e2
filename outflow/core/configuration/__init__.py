"""The project configuration file: finding, parsing, merging and masking it.

See :mod:`outflow.core.configuration.loader` and :mod:`outflow.core.configuration.secrets`.
Nothing is imported here on purpose: ``outflow --help`` imports the kernel and must not
pay for parsers it will not use.
"""
