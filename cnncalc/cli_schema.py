"""`cnncalc schema`: the architecture format's JSON Schema, for editors (yaml-language-server)."""

from __future__ import annotations

import json

import click

SCHEMA_HELP = """Print the JSON Schema of architecture files (generated from the layer registry).

\b
Save it and point your editor at it, e.g. on a file's first line:
  cnncalc schema > cnncalc.schema.json
  # yaml-language-server: $schema=./cnncalc.schema.json
"""


def register(main: click.Group) -> None:
    @main.command(help=SCHEMA_HELP)
    @click.option("--indent", type=click.IntRange(0, 8), default=2, show_default=True, help="JSON indentation")
    def schema(indent: int) -> None:
        from .spec.schema import schema as build
        click.echo(json.dumps(build(), indent=indent or None, sort_keys=False))
