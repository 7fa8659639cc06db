"""`cnncalc verify` (the torch bridge on the command line).

It needs torch; without it they exit 2 with
"cnncalc verify needs torch: pip install 'cnncalc[torch]'". Nothing here
imports torch at module level: `cnncalc summarize` stays torch-free.
"""

from __future__ import annotations

import json
import sys

import click

from .cli_common import BatchSize

from .errors import CnnCalcError, VerifyMismatch


def register(main: click.Group) -> None:
    main.add_command(verify)


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda",
              help="Where to run: auto picks CUDA when torch sees a GPU.")
@click.option("--batch", type=BatchSize(), default=None, help="Batch size (default: the file's, else 1).")
@click.option("--input", "input_text", metavar="C,H,W",
              help="Replace the file's input shape (batch excluded): --input 3,64,64.")
@click.option("--set", "sets", multiple=True, metavar="NAME=SIZE",
              help="Give symbolic input sizes values: --set H=224,W=224 (with several files: where they have them).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--fields", type=click.IntRange(0, 1000), default=8, show_default=True,
              help="Inner layers sampled for the receptive-field check (plus the last non-global layer and a global output).")
@click.option("--no-fields", is_flag=True, help="Skip the receptive-field check.")
@click.option("--field-layer", "field_layers", multiple=True, metavar="LAYER",
              help="Measure the field of this layer (repeatable) instead of a sample.")
@click.option("--all", "every", is_flag=True, help="List every layer's checks, not only the failing ones.")
@click.option("--train", "train", is_flag=True,
              help="Run one real training step instead and compare saved tensors, backward MACs, gradient and "
                   "optimizer state bytes per layer (docs/training.md).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw"]), default=None,
              help="With --train: the optimizer [default: adam].")
@click.option("--precision", type=click.Choice(["fp32", "bf16-mixed", "fp16-mixed"]), default=None,
              help="With --train: torch.autocast's mixed precision [default: fp32].")
@click.option("--max-memory", metavar="SIZE", default=None,
              help="Refuse a run whose estimated memory (parameters, activations, the field check's float64 "
                   "pass) exceeds SIZE, e.g. 16GiB. [default: min(8 GiB, half the available RAM)]")
def verify(files, device, batch, input_text, sets, fmt, fields, no_fields, field_layers, every, train, optimizer,
           precision, max_memory):
    """Build the torch model, run it once and compare with the analytic report.

    Compares every layer's output shape (merges included), parameters,
    trainable parameters and buffers, 2×MACs against torch's FlopCounterMode
    (which counts only convolutions and matrix products), and the receptive
    field of the output and of a sample of inner layers, measured by
    autograd. Exit code 1 when anything disagrees.

    \b
    Examples:
      cnncalc verify examples/resnet18.yaml --device cpu
      cnncalc verify examples/*.yaml --input 3,64,64 --format json
      cnncalc verify examples/fcn.yaml --set H=224,W=224
      cnncalc verify examples/vgg16.yaml --batch 64 --max-memory 16GiB --no-fields
      cnncalc verify examples/unet.yaml --field-layer enc2.conv2d_2 --all
      cnncalc verify examples/resnet18.yaml --train --input 3,64,64 --batch 2 --device cpu

    Needs torch. For the CPU-only build (about 200 MB instead of several GB
    of CUDA wheels): pip install torch --index-url
    https://download.pytorch.org/whl/cpu, then pip install 'cnncalc[torch]'.
    """
    from ._memlimit import resolve_limit
    from .cli import parse_input, parse_sets
    from .torch_bridge import require_torch
    limit = resolve_limit(max_memory)
    require_torch("cnncalc verify")
    from .torch_bridge.verify import resolve_device, verify as run_verify
    dims = parse_input(input_text)
    sizes = parse_sets(sets)
    dev = resolve_device(device)
    kwargs = dict(input=dims, sizes=sizes, batch=batch, device=dev, max_memory=limit,
                  fields=None if no_fields else fields, field_layers=list(field_layers) or None)
    if train:
        run_verify = _train_runner(optimizer or "adam", precision or "fp32")
    elif optimizer is not None or precision is not None:
        from .errors import ArgumentError
        raise ArgumentError(f"{'--optimizer' if optimizer is not None else '--precision'} applies to "
                            "verify --train", hint="add --train")

    if len(files) == 1:
        result = run_verify(files[0], **kwargs)
        _emit([result], fmt, every)
        result.raise_for_mismatch()
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    results, errors = [], []
    stderr = Console(stderr=True)
    with Progress(TextColumn("[bold]verify"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=stderr, transient=True, redirect_stdout=False,
                  redirect_stderr=False) as progress:
        task = progress.add_task("", total=len(files))
        for file in files:
            progress.update(task, description=file)

            def stage(name, file=file):
                progress.update(task, description=f"{file}: {name}")
            try:
                net, options = _with_sizes(file, kwargs)
                results.append(run_verify(net, progress=stage, **options))
            except VerifyMismatch:  # pragma: no cover - verify() returns mismatches, never raises them
                raise
            except CnnCalcError as err:
                errors.append((file, err))
            progress.advance(task)
    _emit(results, fmt, every)
    for file, err in errors:
        click.echo(f"error: {file}: {err}", err=True)
    failed = [r for r in results if not r.ok]
    if errors:
        raise CnnCalcError(f"{len(errors)} of {len(files)} files could not be verified"
                           + (f"; {len(failed)} disagree" if failed else ""))
    if failed:
        raise VerifyMismatch(" | ".join(r.mismatch_message() for r in failed))


def _train_runner(optimizer: str, precision: str):
    """``verify``'s call shape, running verify_train (one real training step) instead."""
    from .torch_bridge.verify_train import verify_train

    def run(net, *, input=None, sizes=None, batch=None, device="cpu", progress=None, **_ignored):
        if progress is not None:
            progress("training step")
        return verify_train(net, input=input, sizes=sizes, batch=batch, device=device, optimizer=optimizer,
                            precision=precision)
    return run


def _with_sizes(file: str, kwargs: dict) -> tuple:
    """With several files, --set applies to the files that have those symbols."""
    sizes = kwargs.get("sizes")
    if not sizes or kwargs.get("input") is not None:
        return file, kwargs
    from .api import load
    network = load(file)
    own = {name: value for name, value in sizes.items() if name in network.symbols}
    return network, {**kwargs, "sizes": own or None}


def _emit(results, fmt: str, every: bool) -> None:
    if fmt == "json":
        data = [r.to_dict() for r in results]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, indent=2))
        return
    from rich.console import Console

    from .torch_bridge.verify import print_result
    console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)
    for index, result in enumerate(results):
        if index:
            console.print()
        print_result(result, console, every=every)
