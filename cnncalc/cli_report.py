"""Commands that draw: `report` (one self-contained HTML page) and `plot` (a static chart).

Their modules (the page, matplotlib) are imported only when a command runs,
so `cnncalc summarize` never loads them.
"""

from __future__ import annotations

from typing import Any

import click

REPORT_EXAMPLES = """
\b
Examples:
  cnncalc report examples/resnet50.yaml -o resnet50.html
  cnncalc report examples/fcn.yaml --set H=512,W=384 -o fcn.html
  cnncalc report examples/unet.yaml --input 3,572,572 --batch 4 -o unet.html
  cnncalc report examples/resnet50.yaml --train --batch 32 --optimizer sgd -o train.html
"""

PLOT_EXAMPLES = """
\b
Examples:
  cnncalc plot examples/resnet50.yaml --what macs -o macs.png
  cnncalc plot examples/unet.yaml --what timeline -o memory.svg
  cnncalc plot examples/vgg16.yaml --what field -o field.png
  cnncalc plot examples/resnet18.yaml --what timeline --train -o step.png
"""

PLOT_KINDS = ("macs", "params", "memory", "field", "timeline")


def analyze_for_pictures(file: str, input_text: str | None, sets: tuple[str, ...], batch: Any,
                         dtype: str | None, training: Any = None) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(report, network, plan, overrides): what analyze_file gives, plus what the pictures need.

    The file is read once (it may be standard input); the flags are parsed
    and checked by the same functions as every other command's. ``training``
    (from :func:`cnncalc.cli_fit.train_from_flags`) adds the training step:
    ``report.training``, as ``summarize --train`` has it.
    """
    from .api import analyze, load
    from .cli_common import parse_batch, parse_input, parse_sets
    from .engine import plan
    from .overrides import CLI, check_dtype
    overrides = {"input": parse_input(input_text), "sizes": parse_sets(sets), "batch": parse_batch(batch),
                 "dtype": check_dtype(dtype, CLI.dtype)}
    network = load(file)
    report = analyze(network, **overrides, train=training)
    return report, network, plan(network), overrides


def _output_path(path: str, suffixes: tuple[str, ...], option: str) -> str:
    from .errors import ArgumentError
    from .text import shown
    if not path.lower().endswith(suffixes):
        raise ArgumentError(f"{option} expected a file name ending in {' or '.join(suffixes)}, found {shown(path)}",
                            hint=f"for example {option} report{suffixes[0]}")
    return path


def _write_error(path: str, err: OSError):
    from .errors import ArgumentError
    from .text import shown
    return ArgumentError(f"cannot write {shown(path)}: {err.strerror or err}",
                         hint="check that the folder exists and is writable")


def register(main: click.Group) -> None:
    from .cli_common import analysis_options
    from .cli_fit import train_from_flags, train_options

    @main.command(epilog=REPORT_EXAMPLES)
    @click.argument("source")
    @analysis_options
    @train_options
    @click.option("-o", "--output", "output", required=True, metavar="FILE.html",
                  help="Where to write the page (one self-contained HTML file).")
    def report(source, input_text, sets, batch, dtype, train, optimizer, precision, train_device, output):
        """One HTML page that shows the network: the graph and where cost, memory and field go.

        SOURCE is an architecture YAML file, or - for standard input. The page
        works offline (every script and style inlined): the graph with shapes
        on its edges and blocks that expand, charts of params, MACs and memory
        per layer, the receptive field against the input size, the memory
        alive over the forward pass with its peak, the totals, the budget's
        verdicts, and each layer's explain formulas on hover. With --train:
        the training step's totals and the memory alive over the whole step
        (forward, backward, optimizer step) with its peak.
        """
        from .render.html_report import write_report
        path = _output_path(output, (".html", ".htm"), "-o")
        training = train_from_flags(train, optimizer, precision, train_device)
        the_report, network, the_plan, overrides = analyze_for_pictures(source, input_text, sets, batch, dtype,
                                                                        training)
        try:
            size, seconds = write_report(the_report, path, network=network, the_plan=the_plan, overrides=overrides)
        except OSError as err:
            raise _write_error(path, err) from None
        from .text import shown
        click.echo(f"wrote {shown(path)}: {size:,} bytes, {len(the_report.layers):,} layers ({seconds:.2f} s)")

    @main.command(epilog=PLOT_EXAMPLES)
    @click.argument("source")
    @analysis_options
    @train_options
    @click.option("-o", "--output", "output", required=True, metavar="FILE.png|FILE.svg",
                  help="Where to write the chart; .png or .svg.")
    @click.option("--what", type=click.Choice(PLOT_KINDS), default="macs", show_default=True,
                  help="macs, params, memory (per layer), field (receptive field against the input), "
                       "timeline (memory alive over the forward pass; with --train, over the training step).")
    def plot(source, input_text, sets, batch, dtype, train, optimizer, precision, train_device, output, what):
        """A static chart of one figure along the network, for papers and READMEs (needs matplotlib).

        SOURCE is an architecture YAML file, or - for standard input.
        """
        from .render.plot import plot as draw
        path = _output_path(output, (".png", ".svg"), "-o")
        training = train_from_flags(train, optimizer, precision, train_device)
        the_report, network, the_plan, overrides = analyze_for_pictures(source, input_text, sets, batch, dtype,
                                                                        training)
        try:
            draw(the_report, what, path, the_plan=the_plan)
        except OSError as err:
            raise _write_error(path, err) from None
        from .text import shown
        click.echo(f"wrote {shown(path)}: {what} of {len(the_report.layers):,} layers")
