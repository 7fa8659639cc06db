"""`cnncalc fit FILE --memory 24GiB`: the largest batch whose peak memory fits, exactly.

Training (one step: forward, backward, optimizer; docs/training.md) and
inference (parameters, buffers and the forward's peak of live activations).
Every moment's bytes are affine in the batch, so the peak is the largest of
affine functions of it: the answer is exact, and the formula printed is the
piece that decides it. Imports neither torch nor numpy.
"""

from __future__ import annotations

from typing import Any

import click

from .cli_common import geometry_options, parse_input, parse_sets

FIT_EXAMPLES = """
\b
Examples:
  cnncalc fit examples/resnet50.yaml --memory 24GiB --train
  cnncalc fit examples/resnet50.yaml --memory 80GiB --train --optimizer sgd --precision bf16-mixed
  cnncalc fit examples/unet.yaml --memory 16GiB --set H=256,W=256
"""

MAX_BATCH = 2**40


def register(main: click.Group) -> None:
    main.add_command(fit)


OPTIMIZER_CHOICE = click.Choice(["sgd", "momentum", "adam", "adamw"])
PRECISION_CHOICE = click.Choice(["fp32", "bf16-mixed", "fp16-mixed"])


def train_options(function):
    """--train, --optimizer, --precision, --device: one training step added to the analysis (summarize,
    check); the command passes its four values to :func:`train_from_flags`."""
    function = click.option("--device", "train_device", type=click.Choice(["cuda", "cpu"]), default=None,
                            help="With --train: the device whose kernels decide what is saved "
                                 "(dropout's mask) [default: cuda].")(function)
    function = click.option("--precision", type=PRECISION_CHOICE, default=None,
                            help="With --train: torch.autocast's mixed precision [default: fp32].")(function)
    function = click.option("--optimizer", type=OPTIMIZER_CHOICE, default=None,
                            help="With --train: the optimizer [default: adam].")(function)
    function = click.option("--train", "train", is_flag=True,
                            help="Add one training step: backward MACs, saved tensors, gradients, optimizer "
                                 "state and the step's peak memory (docs/training.md).")(function)
    return function


def train_from_flags(train: bool, optimizer: str | None, precision: str | None, device: str | None) -> Any:
    """The checked TrainingOptions, or None without --train (where --optimizer and the others are refused)."""
    if not train:
        used = [flag for flag, value in (("--optimizer", optimizer), ("--precision", precision),
                                         ("--device", device)) if value is not None]
        if used:
            from .errors import ArgumentError
            raise ArgumentError(f"{used[0]} applies to a training step", hint="add --train")
        return None
    from .overrides import check_train
    return check_train({"optimizer": optimizer or "adam", "precision": precision or "fp32",
                        "device": device or "cuda"}, "--train")


def _affine_text(constant: int, per_sample: int) -> str:
    from .units import format_bytes
    return f"peak = {format_bytes(constant)} + {format_bytes(per_sample)} × batch"


def inference_fit(network: Any, overrides: dict, memory: int) -> tuple[int, int, int]:
    """(largest batch, constant, per sample) for inference: parameters + buffers + the forward's peak."""
    from .engine import evaluate, plan
    the_plan = plan(network)

    def peak(batch: int) -> int:
        report = evaluate(the_plan, **{**overrides, "batch": batch})
        from .spec.model import DTYPE_BYTES
        base = DTYPE_BYTES[report.dtype]
        buffers = sum(8 if name == "num_batches_tracked" else base
                      for row in report.layers for name, shape in row.buffer_shapes.items()
                      for _ in range(_numel(shape)))
        return report.totals.param_bytes + buffers + report.totals.peak_activation_bytes

    low, high = 0, 1          # peak is convex and non-decreasing in the batch: bisect exactly
    while high < MAX_BATCH and peak(high) <= memory:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if peak(middle) <= memory:
            low = middle
        else:
            high = middle
    at = max(low, 1)
    slope = peak(at + 1) - peak(at)
    return low, peak(at) - slope * at, slope


def _numel(shape) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def training_fit(network: Any, overrides: dict, memory: int, optimizer: str, precision: str, device: str):
    from .engine import evaluate, plan
    from .engine.training import affine_pieces, fit_memory, train_step
    the_plan = plan(network)

    def timeline(batch: int):
        report = evaluate(the_plan, **{**overrides, "batch": batch})
        return train_step(the_plan, report, optimizer, precision, device).timeline
    return fit_memory(affine_pieces(timeline), memory)


@click.command(epilog=FIT_EXAMPLES)
@click.argument("file")
@geometry_options
@click.option("--dtype", default=None, help="Element type of parameters and activations (float32, ...).")
@click.option("--memory", required=True, metavar="SIZE", help="The memory to fit in: 24GiB, 80GB, ...")
@click.option("--train/--inference", "train", default=True, show_default=True,
              help="Fit a training step (and inference), or inference only.")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw"]), default="adam",
              show_default=True)
@click.option("--precision", type=click.Choice(["fp32", "bf16-mixed", "fp16-mixed"]), default="fp32",
              show_default=True)
@click.option("--device", type=click.Choice(["cuda", "cpu"]), default="cuda", show_default=True,
              help="Kernels that save differently per device (dropout's mask).")
def fit(file, input_text, sets, batch, dtype, memory, train, optimizer, precision, device):
    """The largest batch whose peak memory fits in --memory, and the formula.

    The batch given by the file or --batch is ignored: the batch is what is
    solved for.
    """
    from .api import load
    from .errors import ArgumentError
    from .units import format_bytes, parse_bytes
    try:
        limit = parse_bytes(memory)
    except Exception as err:  # noqa: BLE001 - parse_bytes raises CnnCalcError with the reason
        raise ArgumentError(f"--memory: {err}") from None
    network = load(file)
    overrides = {"input": parse_input(input_text), "sizes": parse_sets(sets), "dtype": dtype}
    from .overrides import check_overrides
    overrides = {k: v for k, v in check_overrides(**overrides).as_kwargs().items() if k != "batch"}
    from .text import visible
    click.echo(f"{visible(network.name)} — largest batch in {format_bytes(limit)} ({limit:,} bytes)")
    if train:
        result = training_fit(network, overrides, limit, optimizer, precision, device)
        head = f"training step ({optimizer}, {precision}, {device})"
        if result.batch == 0:
            click.echo(f"{head}: does not fit even at batch 1 (peak {format_bytes(result.peak_at_batch)})")
        else:
            click.echo(f"{head}: batch {result.batch:,}")
        click.echo(f"  {_affine_text(result.formula.constant, result.formula.per_sample)}"
                   f"   (the largest term, at {visible(result.where)})")
        click.echo(f"  at batch {max(result.batch, 1):,}: peak {format_bytes(result.peak_at_batch)}")
    largest, constant, slope = inference_fit(network, overrides, limit)
    click.echo(f"inference (forward only): batch {largest:,}" if largest else
               "inference (forward only): does not fit even at batch 1")
    click.echo(f"  {_affine_text(constant, slope)}   (parameters, buffers and the peak of live activations)")
