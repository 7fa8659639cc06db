"""`cnncalc check FILE...`: budgets in CI (limits from the file and from flags, a baseline guard).

Exit codes (SPEC §4): 0 every limit holds (or none is set); 1 a limit is
exceeded; 2 a file or an argument is bad. With several files every file is
checked and reported; a bad file wins over an exceeded limit (2 over 1).
"""

from __future__ import annotations

import json
import sys

import click

from .cli_common import analysis_options, parse_input, parse_sets
from .cli_fit import train_from_flags, train_options
from .errors import ArgumentError, CnnCalcError
from .text import cut

_FLAGS = (
    ("params", "--max-params", "N", "Most parameters, e.g. 5M."),
    ("trainable_params", "--max-trainable-params", "N", "Most trainable parameters."),
    ("macs", "--max-macs", "N", "Most multiply-accumulates, e.g. 1G."),
    ("flops", "--max-flops", "N", "Most floating-point operations."),
    ("param_memory", "--max-param-memory", "BYTES", "Most parameter memory (totals.param_bytes), e.g. 48MiB."),
    ("activation_memory", "--max-activation-memory", "BYTES",
     "Most activation memory alive at once (totals.peak_activation_bytes), e.g. 64MiB."),
    ("train_memory", "--max-train-memory", "BYTES",
     "Most memory alive during one training step (totals.training.peak_bytes) at --batch, --optimizer, "
     "--precision, e.g. 16GiB."),
    ("receptive_field.min", "--min-rf", "N", "Smallest receptive field of the output, on every axis."),
    ("receptive_field.max", "--max-rf", "N", "Largest receptive field of the output, on every axis."),
)


def _limit_options(function):
    for name, flag, metavar, help_text in reversed(_FLAGS):
        dest = "limit_" + name.replace(".", "_")
        function = click.option(flag, dest, metavar=metavar, default=None, help=help_text)(function)
    return function


EXAMPLES = """
\b
Examples:
  cnncalc check examples/resnet18.yaml                   # the file's budget: section
  cnncalc check examples/resnet*.yaml --max-params 30M --max-macs 5G
  cnncalc check examples/fcn.yaml --set H=512,W=512 --max-activation-memory 2GiB
  cnncalc check examples/resnet18.yaml --min-rf 200
  cnncalc summarize examples/resnet18.yaml --format json > base.json
  cnncalc check examples/resnet18.yaml --baseline base.json --max-growth 2%
  cnncalc check examples/*.yaml --format github          # annotations in GitHub Actions
  cnncalc check examples/resnet50.yaml --max-train-memory 24GiB --batch 64 --precision bf16-mixed --train
"""


@click.command("check", epilog=EXAMPLES)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@_limit_options
@click.option("--baseline", metavar="REPORT.json", default=None,
              help="A saved `cnncalc summarize --format json` report (or a list/directory of them, "
                   "matched by network name); fail when a total grows more than --max-growth.")
@click.option("--max-growth", metavar="PCT", default=None,
              help="Growth allowed over the baseline: '5%' or a fraction 0.05 [default: 5%].")
@analysis_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "github"]), default="table",
              show_default=True, help="github: GitHub Actions ::error annotations at the budget's lines.")
@click.option("--notices", is_flag=True, help="With --format github, also annotate passing checks (::notice).")
@click.option("--count-as", "count_as", metavar="PEER", default=None,
              help="Check --max-macs/--max-flops against that tool's figures: torchinfo, fvcore, ptflops, thop, "
                   "torchscan or flopcounter.")
@train_options
def check_command(files, baseline, max_growth, input_text, sets, batch, dtype, fmt, notices, count_as, train,
                  optimizer, precision, train_device, **limit_values):
    """Budgets for CI: params, MACs, FLOPs, memory and field limits per file.

    Checks each FILE against its `budget:` section and the --max-* flags.

    Flags override the file's limits one by one. Globs are expanded here too
    (quote them for shells that would not). A file without a budget and no
    flags prints "no limits set" and passes (it is still analyzed, so a
    broken file fails). Exit 0 all ok, 1 a limit exceeded, 2 a bad file or
    argument.
    """
    from .api import load
    from .budget import (
        DEFAULT_MAX_GROWTH, LIMITS, error_annotation, expand_files, github_annotations, github_group,
        load_baselines, parse_growth, parse_limits, render_text, run_checks,
    )
    from .overrides import CLI, check_dtype
    values = {name: limit_values["limit_" + name.replace(".", "_")] for name in LIMITS}
    flags = {name: flag for name, flag, _, _ in _FLAGS}
    limits = parse_limits(values, lambda name: flags[name])
    if max_growth is not None and baseline is None:
        raise ArgumentError("--max-growth needs --baseline (the report to compare with)")
    growth = parse_growth(max_growth if max_growth is not None else DEFAULT_MAX_GROWTH)
    baselines = load_baselines(baseline) if baseline is not None else ()
    input_shape, sizes, dtype = parse_input(input_text), parse_sets(sets), check_dtype(dtype, CLI.dtype)
    training = train_from_flags(train, optimizer, precision, train_device)
    paths = expand_files(files)
    color = fmt == "table" and sys.stdout.isatty()

    results, errors, out = [], [], []
    for path in paths:
        try:
            network = load(path)
            result = run_checks(network, limits, baselines=baselines, max_growth=growth,
                                only_file=len(paths) == 1, input=input_shape, sizes=sizes, batch=batch,
                                dtype=dtype, labels=CLI, train=training, count_as=count_as)
        except CnnCalcError as err:
            errors.append((path, err))
            if fmt == "table":
                click.echo(f"error: {err}" if err.loc is not None else f"error: {cut(path, 200)}: {err}", err=True)
            elif fmt == "github":
                click.echo(error_annotation(err, path))
            continue
        results.append(result)
        if fmt == "table":
            if len(results) + len(errors) > 1:
                click.echo()
            click.echo(render_text(result, color=color), nl=False)
        elif fmt == "github":
            for line in github_group(f"cnncalc check {path}", render_text(result)):
                click.echo(line)
            for line in github_annotations(result, notices=notices):
                click.echo(line)
        else:
            out.append(result.to_dict())

    exit_code = 2 if errors else (1 if any(not r.ok for r in results) else 0)
    if fmt == "json":
        for path, err in errors:
            out.append({"file": path, "ok": False, "error": str(err),
                        "line": err.loc.line if err.loc else None, "col": err.loc.col if err.loc else None})
        click.echo(json.dumps({"ok": exit_code == 0, "exit_code": exit_code, "files": out}, indent=2))
    if len(paths) > 1 and fmt == "table":
        passed = sum(r.ok for r in results)
        click.echo(f"\n{len(paths)} files: {passed} ok, {len(results) - passed} over budget, "
                   f"{len(errors)} could not be checked")
    sys.exit(exit_code)


def register(main: click.Group) -> None:
    main.add_command(check_command)
