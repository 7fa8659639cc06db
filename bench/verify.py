"""Benchmark of the torch bridge (issue 6): one run prints one table.

  python bench/verify.py [--device cpu|cuda] [--repeat N]

Rows, all on examples/resnet50.yaml at its file's input (1×3×224×224), in one
process:
  * `cnncalc verify` in process (cnncalc.verify: analysis, build on the meta
    device, one forward pass with hooks and FlopCounterMode, the field check),
    and its stages;
  * the torch-side baseline on the same module (from cnncalc.to_torch, built
    beforehand): torchinfo.summary (a forward pass with its hooks) plus a
    forward pass under FlopCounterMode -- what one would run by hand to get
    shapes, counts and FLOPs;
  * the analytic cnncalc.analyze (load + plan + evaluate) against
    torchinfo.summary alone.
Each round runs every task once, in turn (a busy machine slows them alike),
--repeat rounds after one warm-up round; times are medians with the min-max,
ratios the ratio of medians to the baseline with the min-max of the per-round
ratios. Goal (issue 16): verify <= 1.2x the baseline in process.

Then the start-up table (issue 9): whole `cnncalc verify` processes on
examples/digits.yaml (1,500 parameters: almost all fixed cost) and
resnet50.yaml against `python -c "import torch"`, measured in the same run,
--startup-rounds rounds interleaved; median and min-max of each, and the
ratio of medians with the min-max of the per-round ratios. The goal is
digits <= 1.3x import torch. --startup-only skips the first table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402  (before torch: thread-pool settings)

_timing.quiet_threads()

import cnncalc  # noqa: E402

RESNET = ROOT / "examples" / "resnet50.yaml"


def process_seconds(code: str) -> float:
    """Wall time of one fresh Python process running ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def startup_table(rounds: int, device: str) -> None:
    """verify as a whole process, against `import torch` in the same run."""
    verify = ("from cnncalc.cli import main; import sys\n"
              "try:\n    main(['verify', %r, '--device', %r])\nexcept SystemExit as e:\n    sys.exit(e.code)")
    tasks = {"python -c 'import torch'": "import torch",
             "cnncalc verify digits.yaml": verify % (str(ROOT / "examples" / "digits.yaml"), device),
             "cnncalc verify resnet50.yaml": verify % (str(RESNET), device)}
    for code in tasks.values():       # warm-up: page cache, bytecode
        process_seconds(code)
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(rounds):
        for name, code in tasks.items():
            times[name].append(process_seconds(code))
    base = times["python -c 'import torch'"]
    print(f"start-up: whole processes, {rounds} rounds interleaved (median, min-max)")
    print()
    width = max(map(len, tasks))
    print(f"{'process':<{width}}  {'median':>8}  {'min-max':>13}  ratio to import torch (per-round min-max)")
    print("-" * (width + 70))
    for name, values in times.items():
        ratios = [v / b for v, b in zip(values, base)]
        ratio = statistics.median(values) / statistics.median(base)
        print(f"{name:<{width}}  {statistics.median(values):7.2f}s  {min(values):5.2f}-{max(values):5.2f} s  "
              f"{ratio:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=9, help="interleaved rounds (default 9; median)")
    parser.add_argument("--startup-rounds", type=int, default=7)
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args()
    if args.startup_only:
        startup_table(args.startup_rounds, args.device)
        return

    import torch
    import torchinfo
    from torch.utils.flop_counter import FlopCounterMode

    device, repeat = args.device, args.repeat
    report = cnncalc.analyze(RESNET)
    shape = report.input_shape

    model = cnncalc.to_torch(RESNET).to(device).eval()
    x = torch.zeros(shape, device=device)
    network = cnncalc.load(RESNET)

    def torchinfo_summary():
        return torchinfo.summary(model, input_data=x, verbose=0, device=device)

    def flop_counter():
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counter = FlopCounterMode(display=False)
            with counter:
                model(x)
        return counter.get_total_flops()

    def baseline():
        return torchinfo_summary(), flop_counter()

    tasks = {
        "verify": lambda: cnncalc.verify(RESNET, device=device),
        "verify_no_fields": lambda: cnncalc.verify(RESNET, device=device, fields=None),
        "baseline": baseline,
        "torchinfo": torchinfo_summary,
        "flops": flop_counter,
        "build": lambda: cnncalc.to_torch(RESNET),
        "analyze_file": lambda: cnncalc.analyze(RESNET),
        "analyze_loaded": lambda: cnncalc.analyze(network),
    }
    spreads = _timing.interleaved(tasks, repeat)          # one warm-up round, then `repeat` rounds in turn
    values = {name: task() for name, task in tasks.items()}
    result = values["verify"]
    assert result.ok, result.mismatch_message()
    stats, flops = values["baseline"]
    assert stats.total_params == report.totals.params == 25_557_032
    assert flops == 2 * report.totals.macs
    base = spreads["baseline"]

    def row(label: str, name: str, goal: str = "") -> tuple[str, str, str, str]:
        return (label, _timing.spread_text(spreads[name]), _timing.ratio_text(spreads[name].ratio_to(base)), goal)

    rows = [
        row("torchinfo.summary + FlopCounterMode forward (baseline)", "baseline"),
        row("cnncalc.verify (fields on)", "verify", "<= 1.2×"),
        row("cnncalc.verify --no-fields", "verify_no_fields"),
        row("  torchinfo.summary alone", "torchinfo"),
        row("  FlopCounterMode forward alone", "flops"),
        row("  (cnncalc.to_torch, initialised weights)", "build"),
        row("cnncalc.analyze (YAML file)", "analyze_file"),
        row("cnncalc.analyze (loaded network)", "analyze_loaded"),
    ]
    t_torchinfo = spreads["torchinfo"].median
    title = (f"resnet50 ({shape[0]}×{shape[1]}×{shape[2]}×{shape[3]}) on {device}, torch {torch.__version__}, "
             f"torchinfo {torchinfo.__version__}; median of {repeat} interleaved rounds (min-max)")
    print(title)
    print()
    _timing.print_table(("what", "time", "ratio to baseline (per-round min-max)", "goal"), rows)
    print(f"cnncalc.analyze is {t_torchinfo / spreads['analyze_file'].median:,.0f}x (file) and "
          f"{t_torchinfo / spreads['analyze_loaded'].median:,.0f}x (loaded) faster than torchinfo.summary")
    print()
    print("stages of one verify run: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.timings.items()))
    print(f"verify: {len(result.compared)} checks agree ({report.totals.params:,} params, "
          f"{2 * report.totals.macs:,} FLOPs counted by FlopCounterMode, "
          f"{sum(c.kind == 'field' for c in result.checks)} receptive fields measured)")
    print()
    startup_table(args.startup_rounds, device)


if __name__ == "__main__":
    main()
