"""Shared timing helpers for the benches: interleaved rounds, medians, spread.

Every bench measures its baseline in the same run as the thing it compares,
alternating them round by round (so a busy moment on a shared machine slows
both alike), and reports the median of the rounds with the min-max spread and
the ratio of medians with the min-max of the per-round ratios.

Import this module before numpy and torch: :func:`quiet_threads` sets the
thread-pool environment both libraries read when they load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence


def quiet_threads() -> None:
    """Make idle BLAS and OpenMP workers sleep instead of spinning.

    OpenBLAS's idle workers spin for 2**28 cycles by default and GNU OpenMP's
    (torch's) for 300,000 spins: alternating numpy and torch calls then leaves
    one library's spinning threads on the cores the other needs, and either
    slows by 5-50× on two cores. ``OPENBLAS_THREAD_TIMEOUT=4`` (2**4 cycles,
    the minimum) and ``OMP_WAIT_POLICY=PASSIVE`` make both go to sleep at
    once, which is what lets the benches interleave them. A value already in
    the environment is kept.
    """
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class Spread:
    """The rounds of one task: median and min-max, in seconds."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def low(self) -> float:
        return min(self.times)

    @property
    def high(self) -> float:
        return max(self.times)

    def ratio_to(self, base: "Spread") -> tuple[float, float, float]:
        """Ratio of medians to ``base``, and the min-max of the per-round ratios."""
        per_round = [a / b for a, b in zip(self.times, base.times)]
        return self.median / base.median, min(per_round), max(per_round)


def interleaved(tasks: Mapping[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, Spread]:
    """Run every task once per round, in turn, ``rounds`` times (after ``warmup`` untimed rounds)."""
    for _ in range(warmup):
        for task in tasks.values():
            task()
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(rounds):
        for name, task in tasks.items():
            start = time.perf_counter()
            task()
            times[name].append(time.perf_counter() - start)
    return {name: Spread(tuple(values)) for name, values in times.items()}


def process(argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None) -> Callable[[], None]:
    """A task running one fresh process (output discarded; a failure stops the bench).

    ``python -m`` puts the working directory first on sys.path, before
    PYTHONPATH: give the checkout as ``cwd`` to run its package."""
    def run() -> None:
        subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       env=None if env is None else dict(env), cwd=cwd)
    return run


def python(code: str, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Callable[[], None]:
    """A task running ``python -c code`` in a fresh process."""
    return process([sys.executable, "-c", code], env, cwd)


def seconds(value: float) -> str:
    """A time in s or ms, aligned."""
    return f"{value:6.2f} s " if value >= 1 else f"{value * 1e3:6.1f} ms"


def ratio_text(ratio: tuple[float, float, float]) -> str:
    """'1.23× (1.10-1.40)': ratio of medians, per-round min-max."""
    middle, low, high = ratio
    return f"{middle:.2f}× ({low:.2f}-{high:.2f})"


def spread_text(spread: Spread) -> str:
    """'12.3 ms (11.0-14.2)': the median and the min-max."""
    scale, unit = (1, "s") if spread.median >= 1 else (1e3, "ms")
    return f"{spread.median * scale:.2f} {unit} ({spread.low * scale:.2f}-{spread.high * scale:.2f})" if scale == 1 \
        else f"{spread.median * scale:.1f} {unit} ({spread.low * scale:.1f}-{spread.high * scale:.1f})"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns, a dashed line under the header."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def machine_line() -> str:
    """Python version and CPU count, for the line under a table."""
    return f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
