"""`cnncalc import SOURCE -o model.yaml`: a torch module or an ONNX graph written as a readable cnncalc file."""

from __future__ import annotations

import click

IMPORT_EXAMPLES = """
\b
Examples:
  cnncalc import mypkg.models:resnet18 -o resnet18.yaml
  cnncalc import models.py:Net --input 3,32,32 --arg num_classes=10 -o net.yaml
  cnncalc import model.onnx -o model.yaml
"""


def register(main: click.Group) -> None:
    """Add the ``import`` command to ``main``."""
    from .cli_common import parse_input, source_arg_option

    @main.command("import", epilog=IMPORT_EXAMPLES)
    @click.argument("source")
    @click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
                  help="Where to write the cnncalc file (- for standard output).")
    @click.option("--input", "input_text", metavar="C,H,W",
                  help="The input shape to trace at (batch excluded); default: the first layer's channels at 224.")
    @click.option("--name", default=None, help="The network's name in the file (default: the callable's).")
    @source_arg_option
    def import_command(source, output, input_text, name):
        """Write SOURCE as a cnncalc architecture file.

        SOURCE is package.module:callable (a class or factory of an nn.Module,
        called with --arg values), path/to/file.py:callable, or a .onnx file.
        The file is checked by loading it back before it is written.
        """
        from .api import loads
        from .errors import ArgumentError
        from .frontends.source import import_document, resolve_source
        from .frontends.write_yaml import dump
        if resolve_source(source).kind == "yaml":
            raise ArgumentError(f"{source!r} is not a model source",
                                hint="give package.module:callable, path/to/file.py:callable or a .onnx file")
        shape = parse_input(input_text)
        doc = import_document(source, input=shape, name=name)
        text = dump(doc, comments=[f"Imported by cnncalc from {source}."])
        loads(text, filename=output)                  # what is written loads: refuse before writing
        if output == "-":
            click.echo(text, nl=False)
        else:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            click.echo(f"wrote {output}", err=True)
