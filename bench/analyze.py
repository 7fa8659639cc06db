"""Benchmark of the analytic core (issue 2): one run prints one table.

  python bench/analyze.py

Rows:
  * in-process analysis of examples/resnet50.yaml: plan + evaluate of a loaded
    file, and load + plan + evaluate from the YAML text (goal < 5 ms);
  * generated chains of 100 … 10,000 layers: time and cost per layer
    (goal: 10,000 layers < 1 s, cost per layer flat);
  * symbolic ResNet-50 ([3, H, W], issue 3; goal < 1 s): the analysis alone,
    sympy's import apart;
  * whole processes, in interleaved rounds (median of 9, min-max; ratios of
    medians with the per-round min-max): `cnncalc summarize
    examples/resnet50.yaml` against `python -c pass` (goal: < 0.25 s more),
    and `cnncalc summarize examples/resnet50.yaml --input 3,H,W` -- the whole
    command, table included -- against `python -c "import sympy"` (issue 16,
    goal <= 1.5x). Bytecode caching is on (PYTHONDONTWRITEBYTECODE removed,
    one warm-up round), as on a user's machine.
The in-process rows are the best of several repeats (time.perf_counter).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402
import cnncalc  # noqa: E402
from cnncalc.engine import evaluate, plan  # noqa: E402

ROUNDS = 9          # interleaved rounds of the whole-process rows


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def chain(layers: int) -> str:
    """A valid chain: conv / BN / ReLU triples at a fixed 32×32 size."""
    lines = ["input: [16, 32, 32]", "layers:"]
    kinds = ["  - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}",
             "  - BatchNorm2d", "  - ReLU"]
    for index in range(layers):
        lines.append(kinds[index % 3])
    return "\n".join(lines) + "\n"


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    resnet = ROOT / "examples" / "resnet50.yaml"
    text = resnet.read_text()
    network = cnncalc.load(resnet)
    the_plan = plan(network)
    evaluate(the_plan)
    t_eval = best(lambda: evaluate(plan(network)), 50)
    t_full = best(lambda: cnncalc.analyze(cnncalc.loads(text)), 20)
    rows.append(("resnet50: plan + evaluate (in process)", f"{t_eval * 1e3:.2f} ms", "< 5 ms",
                 f"{t_eval / 5e-3:.2f}× goal"))
    rows.append(("resnet50: load YAML + plan + evaluate", f"{t_full * 1e3:.2f} ms", "", ""))

    per_layer = {}
    for count in (100, 1_000, 10_000):
        source = chain(count)
        net = cnncalc.loads(source)
        t_chain = best(lambda: evaluate(plan(net)), 5 if count < 10_000 else 3)
        t_chain_full = best(lambda: cnncalc.analyze(cnncalc.loads(source)), 3)
        per_layer[count] = t_chain / count
        rows.append((f"chain of {count:,} layers: plan + evaluate", f"{t_chain * 1e3:.1f} ms",
                     "< 1 s" if count == 10_000 else "", f"{t_chain * 1e6 / count:.1f} µs/layer"))
        rows.append((f"chain of {count:,} layers: load + plan + evaluate", f"{t_chain_full * 1e3:.1f} ms", "",
                     f"{t_chain_full * 1e6 / count:.1f} µs/layer"))
    rows.append(("cost per layer, 10,000 vs 100", f"{per_layer[10_000] / per_layer[100]:.2f}×", "≈ 1× (flat)", ""))

    # symbolic sizes (issue 3): the analysis alone, the first in a fresh process (sympy's caches cold)
    probe = ("import sys, time, sympy; sys.path.insert(0, %r); import cnncalc; "
             "net = cnncalc.load(%r); t = time.perf_counter(); "
             "cnncalc.analyze(net, input=(3, 'H', 'W')); print(time.perf_counter() - t)") % (str(ROOT), str(resnet))
    t_symbolic = min(float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                          check=True).stdout) for _ in range(3))
    rows.append(("resnet50 at [3, H, W]: analysis alone, fresh process", f"{t_symbolic * 1e3:.0f} ms", "< 1 s",
                 f"{t_symbolic / 1.0:.2f}× goal"))

    # whole processes, interleaved rounds (medians, min-max): what the user waits for
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)           # this checkout's cnncalc, wherever the bench is started
    cli = [sys.executable, "-m", "cnncalc.cli", "summarize", str(resnet)]
    spreads = _timing.interleaved({
        "pass": _timing.python("pass", env, cwd=str(ROOT)),
        "summarize": _timing.process(cli, env, cwd=str(ROOT)),
        "sympy": _timing.python("import sympy", env, cwd=str(ROOT)),
        "symbolic": _timing.process(cli + ["--input", "3,H,W"], env, cwd=str(ROOT)),
    }, ROUNDS)
    base, summarize, sympy_, symbolic = (spreads[k] for k in ("pass", "summarize", "sympy", "symbolic"))
    extra = (summarize.median - base.median) * 1e3
    rows.append(("process: python -c pass (baseline)", _timing.spread_text(base), "", "1.00×"))
    rows.append(("process: cnncalc summarize resnet50.yaml", _timing.spread_text(summarize), "< baseline + 250 ms",
                 f"{_timing.ratio_text(summarize.ratio_to(base))}, +{extra:.0f} ms"))
    rows.append(("process: python -c 'import sympy' (baseline)", _timing.spread_text(sympy_), "", "1.00×"))
    rows.append(("process: cnncalc summarize resnet50.yaml --input 3,H,W", _timing.spread_text(symbolic),
                 "<= 1.5× import sympy", _timing.ratio_text(symbolic.ratio_to(sympy_))))

    widths = [max(len(r[i]) for r in rows + [("what", "time", "goal", "ratio")]) for i in range(4)]
    header = ("what", "time", "goal", "ratio")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print(f"\n{_timing.machine_line()}, cnncalc {cnncalc.__version__}")


if __name__ == "__main__":
    import argparse
    argparse.ArgumentParser(description=__doc__.splitlines()[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__).parse_args()
    main()
