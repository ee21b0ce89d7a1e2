"""``management display_config``: which configuration file is used, and what it holds."""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management


@Management.subcommand(db_untracked=True)
class DisplayConfig(Command):
    """Print the configuration file's path and the effective configuration, secrets masked.

    The configuration is masked by :func:`~outflow.core.configuration.secrets.mask_secrets`
    (secret keys, URL passwords, database credentials), then the printed text once more
    by :func:`~outflow.core.configuration.secrets.mask_text`: a secret value repeated
    under an ordinary key, or shown by the ``str()`` of an object the JSON output
    falls back to, is masked too.

    ``--format json`` prints JSON and nothing else (the configuration file's path goes
    to stderr), so that it can be piped to ``jq`` or ``json.load``. The YAML is folded
    to the terminal's width (:func:`~outflow.core.cli.tables.terminal_columns`) where
    a value has spaces to fold at; a value is never cut: this is the configuration a
    run would see.
    """

    help = ("Print the configuration file's path and the effective configuration, secrets "
            "masked.\n\n--format json prints JSON only (the file's path goes to stderr).")

    def add_arguments(self) -> None:
        self.add_argument("--format", choices=["yaml", "json"], default="yaml",
                          help="Output format.")

    def setup_tasks(self) -> None:
        import json
        import sys

        from outflow.core.configuration.secrets import mask_secrets, text_masker
        from outflow.core.pipeline import context

        config = context.config
        mask = text_masker(config)
        header = mask(f"# configuration file: {config.__file__ or '(none: defaults only)'}")
        masked = mask_secrets(config)
        if context.args.format == "json":
            print(header, file=sys.stderr)
            print(mask(json.dumps(json_safe(masked), indent=2, default=str, allow_nan=False)))
            return
        print(header)
        from outflow.core.cli.tables import terminal_columns

        print(mask(fitted_yaml(masked, terminal_columns())), end="")


#: The narrowest width tried: folding narrower makes the YAML harder to read than long lines.
MIN_YAML_WIDTH = 20


def fitted_yaml(data: Any, columns: int) -> str:
    """``data`` as block YAML whose lines fit ``columns`` where values can be folded.

    ruamel folds a long string at a space only once a line is past its ``width``, so a
    line may overshoot by a word, and a value without spaces cannot fold at all. When
    the first dump overshoots, the widest ``width`` that overshoots no more than the
    narrowest one is looked for (a binary search, a few dumps): no fold is made that
    does not help.
    """
    widest = max(columns - 1, MIN_YAML_WIDTH)
    text = _dump_yaml(data, widest)
    excess = _excess(text, columns)
    if excess == 0 or widest == MIN_YAML_WIDTH:
        return text
    narrowest = _dump_yaml(data, MIN_YAML_WIDTH)
    least = _excess(narrowest, columns)
    if least >= excess:
        return text
    best, low, high = narrowest, MIN_YAML_WIDTH + 1, widest - 1
    while low <= high:
        middle = (low + high) // 2
        candidate = _dump_yaml(data, middle)
        if _excess(candidate, columns) <= least:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _dump_yaml(data: Any, width: int) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = width
    rendered = io.StringIO()
    yaml.dump(data, rendered)
    return rendered.getvalue()


def _excess(text: str, columns: int) -> int:
    """How many characters of ``text`` are past ``columns``."""
    return sum(max(len(line) - columns, 0) for line in text.splitlines())


def json_safe(value: Any) -> Any:
    """``value`` with the floats JSON has no literal for (YAML's ``.nan``, ``.inf``)
    written as YAML writes them, as strings: ``NaN`` would make the output invalid."""
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
