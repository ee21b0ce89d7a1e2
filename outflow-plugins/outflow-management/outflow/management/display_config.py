"""``management display_config``: which configuration file is used, and what it holds."""

from __future__ import annotations

from outflow.core.commands import Command
from outflow.management.commands import Management


@Management.subcommand(db_untracked=True)
class DisplayConfig(Command):
    """Print the configuration file's path and the effective configuration, secrets masked."""

    def add_arguments(self) -> None:
        self.add_argument("--format", choices=["yaml", "json"], default="yaml",
                          help="Output format.")

    def setup_tasks(self) -> None:
        import json

        from outflow.core.configuration.secrets import mask_secrets
        from outflow.core.pipeline import context

        config = context.config
        print(f"# configuration file: {config.__file__ or '(none: defaults only)'}")
        masked = mask_secrets(config)
        if context.args.format == "json":
            print(json.dumps(masked, indent=2, default=str))
            return
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        import sys

        yaml.dump(masked, sys.stdout)
