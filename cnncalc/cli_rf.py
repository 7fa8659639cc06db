"""Commands about geometry: `rf`, `sizes`, `explain`."""

from __future__ import annotations

import json
import sys

import click

RF_EXAMPLES = """
\b
Examples:
  cnncalc rf examples/resnet50.yaml
  cnncalc rf examples/resnet50.yaml --depth all
  cnncalc rf examples/unet.yaml --input 1,572,572
  cnncalc rf examples/fcn.yaml --set H=512,W=512 --format json
"""

SIZES_EXAMPLES = """
\b
Examples:
  cnncalc sizes examples/unet.yaml
  cnncalc sizes examples/resnet50.yaml --limit 512
  cnncalc sizes examples/fcn.yaml --format json
"""

EXPLAIN_EXAMPLES = """
\b
Examples:
  cnncalc explain examples/resnet50.yaml conv1
  cnncalc explain examples/resnet18.yaml layer1.0.conv2
  cnncalc explain examples/fcn.yaml upsample --set H=512,W=384
"""


def _visible_lines(text: str) -> str:
    from .text import visible
    return "\n".join(visible(line) for line in text.splitlines())


def register(main: click.Group) -> None:
    from .cli_view import DEPTH_HELP, DepthType, resolve_depth
    from .cli_common import analysis_options, analyze_file, geometry_options, parse_input, parse_sets

    @main.command(epilog=RF_EXAMPLES)
    @click.argument("file")
    @geometry_options
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    @click.option("--depth", type=DepthType(), default=None, metavar="N|all",
                  help=DEPTH_HELP.replace(" and markdown, all for csv", ""))
    def rf(file, input_text, sets, batch, fmt, depth):
        """Receptive field of every layer: size, jump, start and alignment per axis.

        size: input elements that can affect one output element; jump: input
        elements between neighbouring outputs; start: the input coordinate of
        the centre of output element 0 (Araujo et al., Distill 2019).
        """
        from .render.fields import render_fields
        report = analyze_file(file, input_text, sets, batch, None)
        if fmt == "json":
            click.echo(json.dumps({"name": report.name, "layers": [
                {"name": row.name, "type": row.type, **row.receptive_field.to_dict()} for row in report.layers],
                "receptive_field": report.receptive_field.to_dict()}, indent=2))
        else:
            sys.stdout.write(render_fields(report, resolve_depth(depth, "table")))

    @main.command(epilog=SIZES_EXAMPLES)
    @click.argument("file")
    @click.option("--limit", type=click.IntRange(8, 65536), default=2048, show_default=True,
                  help="Largest size tried per symbol.")
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    def sizes(file, limit, fmt):
        """Which input sizes the network accepts, per spatial size.

        Concrete sizes in the file are made symbolic (H, W); for each symbol
        it prints the rule (e.g. H = 16k, k ≥ 1), the smallest valid size, and
        for invalid sizes the layer that refuses them and why.
        """
        from .api import load
        from .engine.sizes import solve_sizes
        from .render.fields import render_sizes, sizes_dict
        result = solve_sizes(load(file), limit=limit)
        if fmt == "json":
            click.echo(json.dumps(sizes_dict(result), indent=2))
        else:
            click.echo(render_sizes(result), nl=False)

    @main.command(epilog=EXPLAIN_EXAMPLES)
    @click.argument("file")
    @click.argument("layer")
    @analysis_options
    def explain(file, layer, input_text, sets, batch, dtype):
        """One layer's figures as formulas with the numbers put in.

        LAYER is a path as `summarize` shows it (conv1, layer1.0.bn2).
        """
        from .api import load
        from .explain import explain_text
        click.echo(_visible_lines(explain_text(load(file), layer, input=parse_input(input_text),
                                               sizes=parse_sets(sets), batch=batch, dtype=dtype)))
