"""`cnncalc run`: the torch-free forward pass (numpy)."""

from __future__ import annotations

import json

import click


def register(main: click.Group) -> None:
    from .cli_common import analysis_options, parse_input, parse_sets

    @main.command()
    @click.argument("file")
    @analysis_options
    @click.option("--backend", type=click.Choice(["numpy"]), default="numpy", show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random input and weights.")
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    @click.option("--max-memory", metavar="SIZE", default=None,
                  help="Refuse a run whose estimated memory (every layer's output, weights, the convolutions' "
                       "im2col scratch) exceeds SIZE, e.g. 4GiB. [default: min(8 GiB, half the available RAM)]")
    def run(file, input_text, sets, batch, dtype, backend, seed, fmt, max_memory):
        """Run the network on random input with numpy and check every layer's shape.

        Each layer's actual output shape is compared with the analytic one;
        exit 1 on a mismatch. A layer type without a numpy reference is skipped
        with a note; a file with none at all (a Keras file) is refused, exit 2
        (cnncalc verify checks it against torch instead). --dtype: float16, float32 (default) or float64
        (numpy has no bfloat16). Needs numpy: pip install 'cnncalc[numpy]'.

        \b
        Examples:
          cnncalc run examples/digits.yaml
          cnncalc run examples/resnet18.yaml --input 3,64,64 --format json
          cnncalc run examples/fcn.yaml --set H=64,W=96 --dtype float64
          cnncalc run examples/vgg16.yaml --batch 8 --max-memory 16GiB
        """
        from ._memlimit import resolve_limit
        from .errors import ArgumentError
        limit = resolve_limit(max_memory)
        try:
            from .reference.run import check, run as run_network
        except ImportError as err:  # pragma: no cover - numpy missing
            raise ArgumentError(f"cnncalc run needs numpy ({err.name} is missing)",
                                hint="pip install 'cnncalc[numpy]' (numpy alone, about 20 MB; "
                                     "inside a checkout: pip install -c constraints.txt 'cnncalc[numpy]')") from None
        from .api import load
        result = run_network(load(file), input=parse_input(input_text), sizes=parse_sets(sets), batch=batch,
                             seed=seed, dtype=dtype or "float32", max_bytes=limit)
        if fmt == "json":
            click.echo(json.dumps({"name": result.name, "ok": result.ok, "layers": [
                {"name": l.name, "type": l.type, "expected_shape": list(l.expected_shape),
                 "actual_shape": None if l.actual_shape is None else list(l.actual_shape), "status": l.status}
                for l in result.layers]}, indent=2))
        else:
            from .render.table import align
            body = [[l.name, l.type, str(list(l.expected_shape)),
                     "-" if l.actual_shape is None else str(list(l.actual_shape)), l.status] for l in result.layers]
            lines = [f"{result.name} — numpy forward pass on random input {list(result.input_shape)}", ""]
            lines += align(["Layer", "Type", "Analytic shape", "numpy shape", ""], body, None, [False] * 5)
            ok = sum(1 for l in result.layers if l.status == "ok")
            lines += ["", f"{ok} of {len(result.layers)} layers ran and matched"
                      + (f"; {len(result.skipped)} skipped (no numpy reference)" if result.skipped else "")]
            click.echo("\n".join(lines))
        check(result)
