"""Benchmark of `cnncalc run` (issue 16): the numpy forward pass against torch's, in process.

  python bench/run.py [--rounds N] [--file examples/resnet50.yaml]

Rows, on the file's own input (ResNet-50: 1×3×224×224, float32):
  * ``cnncalc.reference.run.run`` -- what `cnncalc run` does after parsing its
    flags: plan, evaluate, draw the weights, one forward pass through the
    numpy references, shape checks;
  * its parts: the weights alone (``make_weights`` for every layer) and the
    forward through the references with weights drawn beforehand;
  * the baseline: the same network built by ``cnncalc.to_torch``, in eval
    mode, one forward pass under ``torch.no_grad`` on the same input, with
    torch's thread count set to numpy's BLAS thread count.
The tasks alternate, once each per round, for --rounds rounds after one
warm-up round; times are medians with the min-max, ratios the ratio of
medians with the min-max of the per-round ratios. Goal: run <= 2.5x torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402  (before numpy and torch: thread-pool settings)

_timing.quiet_threads()

import numpy as np  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.engine import evaluate, plan  # noqa: E402
from cnncalc.reference.run import make_weights, run  # noqa: E402

try:                                   # (older checkouts, measured for the before/after, have no pool)
    from cnncalc.reference.run import WeightPool  # noqa: E402
except ImportError:
    WeightPool = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds (default 9; median)")
    parser.add_argument("--file", default=str(ROOT / "examples" / "resnet50.yaml"))
    args = parser.parse_args()
    import torch
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)

    network = cnncalc.load(args.file)
    the_plan = plan(network)
    report = evaluate(the_plan)
    model = cnncalc.to_torch(network).eval()
    x = np.random.default_rng(0).standard_normal(report.input_shape).astype(np.float32)
    tx = torch.from_numpy(x)

    def torch_forward():
        with torch.no_grad():
            return model(tx)

    def weights_only():
        rng = np.random.default_rng(0)
        extra = () if WeightPool is None else (WeightPool(rng),)
        return [make_weights({**row.param_shapes, **row.buffer_shapes}, rng, np.float32, *extra)
                for row in report.layers]

    drawn = weights_only()

    def references_only():
        outputs: list[np.ndarray] = []
        for planned, weights in zip(the_plan.layers, drawn):
            inputs = [x if slot == -1 else outputs[slot] for slot in planned.input_slots]
            outputs.append(np.asarray(planned.layer_type.reference(planned.cfg, weights, inputs)))
        return outputs[-1]

    tasks = {"torch": torch_forward, "run": lambda: run(network), "weights": weights_only,
             "references": references_only}
    times = _timing.interleaved(tasks, args.rounds)
    result = run(network)
    assert result.ok and not result.skipped, "every layer must run and match"
    base = times["torch"]
    rows = [
        ("torch forward (to_torch, eval, no_grad) — baseline", _timing.spread_text(base), "1.00×", ""),
        ("cnncalc run (plan, weights, numpy forward, checks)", _timing.spread_text(times["run"]),
         _timing.ratio_text(times["run"].ratio_to(base)), "<= 2.5×"),
        ("  weights alone", _timing.spread_text(times["weights"]),
         _timing.ratio_text(times["weights"].ratio_to(base)), ""),
        ("  numpy references alone (weights drawn)", _timing.spread_text(times["references"]),
         _timing.ratio_text(times["references"].ratio_to(base)), ""),
    ]
    shape = "×".join(map(str, report.input_shape))
    print(f"{network.name} ({shape}, float32, {report.totals.params:,} params) on cpu, torch {torch.__version__}, "
          f"numpy {np.__version__}, {threads} threads; median of {args.rounds} interleaved rounds (min-max)")
    print()
    _timing.print_table(("what", "time", "ratio to torch (per-round min-max)", "goal"), rows)
    print()
    print(f"{len(result.layers)} layers ran and matched their analytic shapes; {_timing.machine_line()}")


if __name__ == "__main__":
    main()
