"""Commands about geometry: `rf`, `sizes`, `explain`."""

from __future__ import annotations

import json

import click


def register(main: click.Group) -> None:
    from .cli_common import analysis_options, analyze_file, parse_input, parse_sets

    @main.command()
    @click.argument("file")
    @analysis_options
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    def rf(file, input_text, sets, batch, dtype, fmt):
        """Receptive field of every layer: size, jump, start and alignment per axis.

        size: input elements that can affect one output element; jump: input
        elements between neighbouring outputs; start: the input coordinate of
        the centre of output element 0 (Araujo et al., Distill 2019).
        """
        from .render.fields import render_fields
        report = analyze_file(file, input_text, sets, batch, dtype)
        if fmt == "json":
            click.echo(json.dumps({"name": report.name, "layers": [
                {"name": row.name, "type": row.type, **row.receptive_field.to_dict()} for row in report.layers],
                "receptive_field": report.receptive_field.to_dict()}, indent=2))
        else:
            click.echo(render_fields(report), nl=False)

    @main.command()
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

    @main.command()
    @click.argument("file")
    @click.argument("layer")
    @analysis_options
    def explain(file, layer, input_text, sets, batch, dtype):
        """One layer's figures as formulas with the numbers put in.

        LAYER is a path as `summarize` shows it (conv1, layer1.0.bn2).
        """
        from .explain import explain_text
        click.echo(explain_text(file if file != "-" else _stdin(), layer, input=parse_input(input_text),
                                sizes=parse_sets(sets), batch=batch, dtype=dtype))



def _stdin():
    from .api import load
    return load("-")
