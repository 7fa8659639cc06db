"""Benchmark of `cnncalc sizes` on long symbolic networks (issue 9, finding 5).

  python bench/sizes.py

A residual network on a symbolic input [3, H, W], cut to 1,000 and 10,000
layers (blocks of conv 3×3 → BN → ReLU → conv 3×3 → BN, a 1×1 shortcut, add; the
first block has stride 2 so the sizes carry floors). Each row is the whole
`cnncalc sizes FILE` process, wall clock, best of a few runs, beside
`python -c "import sympy"` measured in the same run: the ratio says how many
sympy imports the command costs, which travels between machines better than
seconds. Goal: 10,000 layers ≤ 5 s (it took 15–30 s before the fix:
an O(layers²) live-set scan and term-by-term symbolic sums).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 7          # layers per residual block


def network(layers: int) -> str:
    """A residual network of about ``layers`` layers on [3, H, W]."""
    blocks = max(1, layers // BLOCK)
    return f"""name: residual-{layers}
input: [3, H, W]
blocks:
  basic:
    params: {{stride: 1}}
    layers:
      - Conv2d: {{out_channels: 8, kernel_size: 3, stride: $stride, padding: 1, bias: false}}
      - BatchNorm2d
      - ReLU
      - Conv2d: {{out_channels: 8, kernel_size: 3, padding: 1, bias: false}}
      - BatchNorm2d: {{name: bn2}}
      - Conv2d: {{from: input, name: short, out_channels: 8, kernel_size: 1, stride: $stride, bias: false}}
      - add: {{from: [bn2, short]}}
layers:
  - Conv2d: {{out_channels: 8, kernel_size: 3, padding: 1}}
  - basic: {{stride: 2}}
  - basic: {{repeat: {blocks - 1}}}
"""


def best_wall(command: list[str], repeat: int) -> float:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return min(times)


def main() -> None:
    cli = [sys.executable, "-c", "import sys; from cnncalc.cli import main; sys.argv[0] = 'cnncalc'; main()", "sizes"]
    sympy_import = best_wall([sys.executable, "-c", "import sympy"], 3)
    print(f"python -c 'import sympy': {sympy_import:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        for layers in (1_000, 10_000):
            path = Path(folder) / f"residual_{layers}.yaml"
            path.write_text(network(layers))
            best_wall(cli + [str(path)], 1)                        # warm-up: bytecode, disk cache
            seconds = best_wall(cli + [str(path)], 2 if layers > 1_000 else 3)
            print(f"cnncalc sizes, {layers:>6,} layers: {seconds:6.2f} s  = {seconds / sympy_import:5.1f} × "
                  f"import sympy" + ("   (goal ≤ 5 s)" if layers == 10_000 else ""))


if __name__ == "__main__":
    main()
