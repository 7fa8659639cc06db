"""The command line: thin wrappers over the API; errors caught in one place.

Exit codes (SPEC §4): 0 fine; 1 a budget exceeded or a verify mismatch;
2 a bad file or bad arguments.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ._version import __version__
from .errors import CnnCalcError

EXAMPLES = """
\b
Examples:
  cnncalc summarize examples/resnet50.yaml
  cnncalc summarize examples/fcn.yaml --set H=512,W=384 --format json
  cnncalc rf examples/unet.yaml
  cnncalc sizes examples/unet.yaml
  cnncalc explain examples/resnet50.yaml conv1
  cnncalc check examples/*.yaml --max-params 30M
  cnncalc verify examples/resnet18.yaml --device cpu
"""


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CnnCalcError as err:
            # str(err): every part shown visibly (text.visible) and bounded (errors.MAX_*)
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except BrokenPipeError:  # pragma: no cover - `cnncalc summarize big.yaml | head`
            import os
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except KeyboardInterrupt:  # pragma: no cover
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def main() -> None:
    """Shapes, receptive fields, parameters, MACs, FLOPs and memory of a CNN,
    from its architecture file, before a single weight exists."""


from .cli_common import analysis_options, parse_input, parse_sets  # noqa: E402
from .cli_view import DEPTH_HELP, WIDTH_HELP, DepthType, resolve_depth, table_width  # noqa: E402
from .cli_fit import train_from_flags, train_options  # noqa: E402


# -- commands -------------------------------------------------------------------

SUMMARIZE_EXAMPLES = """
\b
Examples:
  cnncalc summarize examples/resnet50.yaml
  cnncalc summarize examples/resnet50.yaml --depth all
  cnncalc summarize examples/fcn.yaml --set H=512,W=384
  cnncalc summarize examples/resnet18.yaml --format json > resnet18.json
  cnncalc summarize examples/unet.yaml --format markdown --depth 0
  cnncalc summarize examples/resnet50.yaml --explain conv1
  cnncalc summarize examples/resnet50.yaml --count-as fvcore
  cnncalc summarize examples/resnet50.yaml --train --batch 32 --optimizer adamw --precision bf16-mixed
"""


@main.command(epilog=SUMMARIZE_EXAMPLES)
@click.argument("file")
@analysis_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown", "csv", "dot", "mermaid"]), default="table",
              show_default=True)
@click.option("--depth", type=DepthType(), default=None, metavar="N|all", help=DEPTH_HELP)
@click.option("--explain", "explain_layer", metavar="LAYER", default=None,
              help="Also print one layer's figures as formulas.")
@click.option("--width", type=click.IntRange(40, 1000), default=None, metavar="N", help=WIDTH_HELP)
@click.option("--count-as", "count_as", metavar="PEER", default=None,
              help="MACs (and FLOPs where it has them) as that tool counts them: torchinfo, fvcore, ptflops, thop, "
                   "torchscan or flopcounter; JSON adds a count_note per layer it counts differently.")
@train_options
def summarize(file, input_text, sets, batch, dtype, fmt, depth, explain_layer, width, count_as, train, optimizer,
              precision, train_device):
    """Every layer's output shape, params, MACs, FLOPs, memory and field.

    FILE is an architecture YAML file, or - for standard input. The table
    folds blocks to depth 1 by default (--depth all shows every layer).
    """
    from .api import analyze, load
    network = load(file)
    overrides = dict(input=parse_input(input_text), sizes=parse_sets(sets), batch=batch, dtype=dtype)
    training = train_from_flags(train, optimizer, precision, train_device)
    report = analyze(network, **overrides, count_as=count_as, train=training)
    if explain_layer:
        report.layer(explain_layer)           # an unknown layer fails before anything is printed
    shown_depth = resolve_depth(depth, fmt)
    if fmt == "table" and sys.stdout.isatty():
        from .render.table import print_table
        print_table(report, shown_depth, width=table_width(width))
    else:
        from .render import write
        write(report, sys.stdout, fmt, depth=shown_depth, width=table_width(width) if fmt == "table" else None)
    if count_as and fmt == "table":
        from .counting import profile
        peer = profile(count_as)
        click.echo(f"Counted as {peer.name}: MACs are {peer.tool}'s {peer.macs_figure}; FLOPs are "
                   + (f"its {peer.flops_figure}" if peer.flops_figure else "cnncalc's (it has none)")
                   + "; `cnncalc compare` says where and why they differ")
    if explain_layer:
        from .explain import explain_text
        from .text import visible
        text = explain_text(network, explain_layer, **overrides)
        click.echo("\n".join(visible(line) for line in text.splitlines()))


def _register_optional_commands() -> None:
    """Commands whose modules exist; each lives in its own module to keep this file thin."""
    import importlib
    for module_name in ("cli_rf", "cli_check", "cli_verify", "cli_export", "cli_run", "cli_report",
                        "cli_fit", "cli_import", "cli_compare", "cli_schema"):
        try:
            module = importlib.import_module(f".{module_name}", __package__)
        except ModuleNotFoundError as err:
            if err.name and err.name.endswith(module_name):
                continue
            raise
        module.register(main)


_register_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
