"""Benchmark of big outputs (issue 9): `cnncalc summarize` of generated chains, per format.

  python bench/render.py [--layers 10000,100000] [--formats table,json,markdown,csv]

Each row is one `cnncalc summarize FILE --format F` process (output to
/dev/null), so the time is the whole command (start-up, load, analysis and
rendering) and the memory is that process's peak resident set size: a small
wrapper process starts it and reads ``resource.getrusage(RUSAGE_CHILDREN)``
(the maximum over its children, here the one run). Goal: every format ≤ 5 s
and ≤ 300 MiB at 100,000 layers (the documented limit, MAX_LAYERS).

The table is run with the default view and with ``--depth all`` (every
row printed; a chain has no blocks, so both print every layer).

Each size runs ``--rounds`` rounds (default 3); a round runs every format
once, in turn, after ``cnncalc check`` of the same file (load, plan and
evaluate, no output: the baseline, measured in the same rounds). Times and
peaks are the medians with the min-max; the ratios are each format's time
over the 5 s goal and over the baseline's time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402


def chain(layers: int) -> str:
    """A valid chain of ``layers`` layers at 8×8: ReLUs, every 50th a convolution.

    (Mostly ReLUs, so that 100,000 layers stay under the loader's YAML node limit.)
    """
    lines = ["input: [4, 8, 8]", "layers:"]
    conv = "  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}"
    lines += [conv if index % 50 == 0 else "  - ReLU" for index in range(layers)]
    return "\n".join(lines) + "\n"


# Runs the command given as arguments, output to /dev/null; prints its seconds and peak RSS in KiB.
WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run_once(path: Path, args: list[str], command_name: str = "summarize") -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one cnncalc process."""
    command = [sys.executable, "-m", "cnncalc.cli", command_name, str(path), *args]
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True,
                          check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds, peak_kib = done.stdout.split()            # ru_maxrss is in KiB on Linux
    return float(seconds), int(peak_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--layers", default="10000,100000")
    parser.add_argument("--formats", default="json,csv,markdown,table,table-all")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size (default 3; median)")
    options = parser.parse_args()
    sizes = [int(s) for s in options.layers.split(",")]
    formats = ["check"] + options.formats.split(",")
    print(f"cnncalc summarize of generated chains, output to /dev/null; median of {options.rounds} rounds (min-max); "
          f"goal <= 5 s and <= 300 MiB at 100,000 layers")
    print()
    table = []
    with tempfile.TemporaryDirectory(prefix="cnncalc-bench-") as folder:
        for layers in sizes:
            path = Path(folder) / f"chain{layers}.yaml"
            path.write_text(chain(layers), encoding="utf-8")
            runs: dict[str, list[tuple[float, float]]] = {fmt: [] for fmt in formats}
            for _ in range(options.rounds):
                for fmt in formats:
                    runs[fmt].append(run_once(path, ARGS.get(fmt, ["--format", fmt]),
                                              "check" if fmt == "check" else "summarize"))
            base = statistics.median(t for t, _ in runs["check"])
            for fmt in formats:
                times = sorted(t for t, _ in runs[fmt])
                peaks = sorted(p for _, p in runs[fmt])
                middle, peak = statistics.median(times), statistics.median(peaks)
                table.append((f"{layers:,}", "check (baseline)" if fmt == "check" else fmt,
                              f"{middle:.2f} ({times[0]:.2f}-{times[-1]:.2f})",
                              f"{peak:.0f} ({peaks[0]:.0f}-{peaks[-1]:.0f})",
                              f"{middle / 5:.2f}×", f"{middle / base:.2f}×"))
    _timing.print_table(("layers", "format", "time s", "peak RSS MiB", "of 5 s goal", "of check"), table)


ARGS = {"table-all": ["--format", "table", "--depth", "all"], "check": []}


if __name__ == "__main__":
    main()
