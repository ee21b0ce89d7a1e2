"""``management display_config``: which configuration file is used, and what it holds."""

from __future__ import annotations

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
    """

    def add_arguments(self) -> None:
        self.add_argument("--format", choices=["yaml", "json"], default="yaml",
                          help="Output format.")

    def setup_tasks(self) -> None:
        import json

        from outflow.core.configuration.secrets import mask_secrets, text_masker
        from outflow.core.pipeline import context

        config = context.config
        mask = text_masker(config)
        print(mask(f"# configuration file: {config.__file__ or '(none: defaults only)'}"))
        masked = mask_secrets(config)
        if context.args.format == "json":
            print(mask(json.dumps(masked, indent=2, default=str)))
            return
        import io

        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        rendered = io.StringIO()
        yaml.dump(masked, rendered)
        print(mask(rendered.getvalue()), end="")
