"""``outflow plugins list``: what is installed, what loaded, and what each plugin provides.

Broken plugins are listed with their error and the command still exits 0, so that
the listing is the place to look when something is missing; ``--check`` exits 1
when a plugin failed or had a registration refused, for CI. Backends are listed too,
with their aliases, capabilities and help: their classes are imported for the
capabilities (a backend module is small: what it runs with is imported when it
runs). ``--json`` prints the schema documented in README.
"""

from __future__ import annotations

import json
from typing import Any

import click

from outflow.core.cli.click_commands import SuggestingGroup

JSON_SCHEMA_VERSION = 1


@click.group("plugins", cls=SuggestingGroup, invoke_without_command=False)
def plugins() -> None:
    """Inspect outflow plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema in README).")
@click.option("--all", "show_all", is_flag=True, help="Include the kernel's built-ins.")
@click.option("--check", is_flag=True, help="Exit 1 when a plugin failed to load.")
def list_plugins(as_json: bool, show_all: bool, check: bool) -> int:
    """List plugins: name, version, module, status, what they provide, hooks."""
    from outflow.core import __version__
    from outflow.core.pipeline.context import active_context

    host = active_context().host
    registry = host.collect()
    records = [r for r in host.records.values() if show_all or r.kind != "builtin"]
    records.sort(key=lambda r: (r.kind != "builtin", r.name))
    backends = [_describe_backend(entry)
                for entry in sorted(registry.all("backends"), key=lambda entry: entry.name)]
    if as_json:
        payload = {
            "schema": JSON_SCHEMA_VERSION,
            "outflow_version": __version__,
            "plugins": [record.as_dict() for record in records],
            "backends": backends,
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        _print_table(records)
        if backends:
            click.echo("")
            _print_backends(backends)
    failed = [r for r in records if r.status == "error" or r.error and r.status == "loaded"]
    return 1 if check and failed else 0


def _describe_backend(entry: Any) -> dict[str, Any]:
    """A backend as listed: its class is imported for its capabilities."""
    described: dict[str, Any] = {"name": entry.name, "aliases": list(entry.aliases),
                                 "plugin": entry.plugin, "help": entry.help,
                                 "capabilities": None, "error": None}
    try:
        described["capabilities"] = entry.load().capabilities.names()
    except Exception as exc:  # noqa: BLE001 - a broken backend is listed, not fatal
        described["error"] = f"{type(exc).__name__}: {exc}"
    return described


def _print_table(records: list[Any]) -> None:
    """Names, versions and states whole; the module and the lists wrap; hooks (the
    longest, the least read) are cut to the terminal: ``--json`` has them all."""
    from outflow.core.cli.tables import KEEP, TRUNCATE, WRAP, Column, format_table

    if not records:
        click.echo("no plugins installed")
        return
    columns = [Column("NAME", KEEP), Column("VERSION", KEEP), Column("MODULE", WRAP),
               Column("STATUS", WRAP), Column("PROVIDES", WRAP, min_width=16),
               Column("HOOKS", TRUNCATE)]
    rows = []
    for record in records:
        provides = "; ".join(f"{kind}: {', '.join(names)}"
                             for kind, names in record.provides.items()) or "-"
        status = record.status if record.error is None else f"{record.status}: {record.error}"
        hooks = ", ".join(h.removeprefix("outflow_") for h in record.hooks) or "-"
        rows.append((record.name, record.version or "-", record.module, status, provides, hooks))
    click.echo(format_table(columns, rows))


def _print_backends(backends: list[dict[str, Any]]) -> None:
    from outflow.core.cli.tables import KEEP, WRAP, Column, format_table

    columns = [Column("BACKEND", KEEP), Column("ALIASES", WRAP), Column("CAPABILITIES", WRAP),
               Column("PLUGIN", KEEP), Column("HELP", WRAP)]
    rows = []
    for backend in backends:
        capabilities = (f"error: {backend['error']}" if backend["error"] is not None
                        else ", ".join(backend["capabilities"]) or "-")
        rows.append((backend["name"], ", ".join(backend["aliases"]) or "-", capabilities,
                     backend["plugin"], backend["help"] or "-"))
    click.echo(format_table(columns, rows))
