"""`cnncalc export`: readable source for an architecture."""

from __future__ import annotations

import click

from .cli_common import BatchSize

from .errors import CnnCalcError
from .text import cut


def register(main: click.Group) -> None:
    main.add_command(export)


@click.command()
@click.argument("file")
@click.option("--to", "target", type=click.Choice(["torch", "keras"]), default="torch", show_default=True,
              help="The framework to write source for.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (default: standard output).")
@click.option("--input", "input_text", metavar="C,H,W", help="Replace the file's input shape (batch excluded).")
@click.option("--set", "sets", multiple=True, metavar="NAME=SIZE", help="Give symbolic input sizes values.")
@click.option("--batch", type=BatchSize(), default=None, help="Batch of the example input in the source.")
@click.option("--class-name", default=None, help="Name of the generated nn.Module class (default: from the network's name).")
def export(file, target, output, input_text, sets, batch, class_name):
    """Write readable, runnable PyTorch source for an architecture.

    One nn.Module class: __init__ builds every layer with torch.nn
    constructors and keyword arguments, forward() follows the file's graph
    (merges as torch.add / torch.mul / torch.cat). Layers keep the file's
    names, so the module loads a state_dict of cnncalc.to_torch's model.

    Exporting only writes text: it does not need torch (running the
    exported file does). Names from the file reach the source only as
    escaped string literals; --class-name must be a Python identifier that
    shadows nothing the module uses (nn, torch, math, Scope, builtins).

    \b
    Examples:
      cnncalc export examples/resnet50.yaml --to torch -o resnet50.py
      python resnet50.py                     # 25,557,032 parameters, output [1, 1000]
      cnncalc export examples/fcn.yaml --set H=512,W=512 --class-name Fcn512
      cnncalc export examples/alexnet.yaml --input 3,227,227 --batch 8 -o alexnet.py
      cnncalc export examples/keras/vgg16.yaml --to keras -o vgg16_keras.py
      cnncalc export examples/resnet18.yaml --to keras -o resnet18_keras.py   # channels last

    --to keras writes Keras Functional-API source for any file: a torch file
    is translated layer by layer, channels last (docs/keras.md); a layer
    Keras cannot say is refused by name.
    """
    from .cli import parse_input, parse_sets
    if target == "keras":                               # any file: Functional API source, channels last
        from .api import load
        from .frontends.export_keras import keras_source
        source = keras_source(load(file), input=parse_input(input_text), sizes=parse_sets(sets))
    else:
        from .torch_bridge.export import export_source      # writes text only: no torch needed
        source = export_source(file, input=parse_input(input_text), sizes=parse_sets(sets), batch=batch,
                               class_name=class_name)
    if output is None:
        click.echo(source, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(source)
    except OSError as err:
        raise CnnCalcError(f"cannot write {cut(output, 200)}: {err.strerror}") from None
    click.echo(f"wrote {cut(output, 200)}", err=True)
