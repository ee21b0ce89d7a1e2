"""The project configuration file: finding, parsing, merging and masking it.

See :mod:`outflow.core.configuration.loader` and :mod:`outflow.core.configuration.secrets`.
Every name is imported on first use: ``outflow --help`` imports this package and must
not pay for parsers it will not use.
"""

from outflow.core import lazy_exports

__all__ = [
    "CONFIG_FILE_NAMES",
    "MASK",
    "ConfigFileError",
    "find_config_file",
    "load_config_file",
    "mask_secrets",
    "mask_text",
    "merge_config",
]

__getattr__ = lazy_exports(globals(), {
    "outflow.core.configuration.loader": ("CONFIG_FILE_NAMES", "ConfigFileError",
                                          "find_config_file", "load_config_file"),
    "outflow.core.configuration.merge": ("merge_config",),
    "outflow.core.configuration.secrets": ("MASK", "mask_secrets", "mask_text"),
})
