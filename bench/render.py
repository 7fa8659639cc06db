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
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def run_once(path: Path, args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one summarize process."""
    command = [sys.executable, "-m", "cnncalc.cli", "summarize", str(path), *args]
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True,
                          check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds, peak_kib = done.stdout.split()            # ru_maxrss is in KiB on Linux
    return float(seconds), int(peak_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="10000,100000")
    parser.add_argument("--formats", default="json,csv,markdown,table,table-all")
    options = parser.parse_args()
    sizes = [int(s) for s in options.layers.split(",")]
    formats = options.formats.split(",")
    print(f"{'layers':>8}  {'format':<10} {'time s':>7}  {'peak RSS MiB':>12}")
    with tempfile.TemporaryDirectory(prefix="cnncalc-bench-") as folder:
        for layers in sizes:
            path = Path(folder) / f"chain{layers}.yaml"
            path.write_text(chain(layers), encoding="utf-8")
            for fmt in formats:
                args = ["--format", "table", "--depth", "all"] if fmt == "table-all" else ["--format", fmt]
                elapsed, peak = run_once(path, args)
                print(f"{layers:>8,}  {fmt:<10} {elapsed:>7.2f}  {peak:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
