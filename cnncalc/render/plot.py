"""`cnncalc plot`: one static chart of a report (PNG or SVG) with matplotlib, an optional extra.

matplotlib is imported when a chart is drawn, never at start-up; without it
the command says how to install it.
"""

from __future__ import annotations

from typing import Any

from ..errors import ArgumentError, CnnCalcError
from ..report import Report, json_value
from ..text import cut, shown, visible

KINDS = ("macs", "params", "memory", "field", "timeline")
SUFFIXES = (".png", ".svg")


class MissingExtra(CnnCalcError):
    """An optional dependency the command needs is not installed."""


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra("cnncalc plot needs matplotlib, which is not installed",
                           hint='pip install "cnncalc[plot]" (or: pip install matplotlib)') from None
    matplotlib.use("Agg")               # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt
    return plt


def _numbers(values: list[Any], what: str) -> list[int]:
    out = []
    for value in values:
        value = json_value(value)
        if not isinstance(value, int):
            raise ArgumentError(f"cannot plot {what}: it is symbolic ({cut(value)})",
                                hint="give the input's sizes values: --set H=224,W=224")
        out.append(value)
    return out


def plot(report: Report, what: str, path: str, *, the_plan: Any = None) -> None:
    """Draw ``what`` (macs|params|memory|field|timeline) of ``report`` into ``path`` (.png or .svg).

    ``timeline`` needs the plan the report was evaluated from (``cnncalc.engine.plan``).
    """
    if what not in KINDS:
        raise ArgumentError(f"what= expected one of {', '.join(KINDS)}, found {shown(what)}")
    if not isinstance(path, str) or not path.lower().endswith(SUFFIXES):
        raise ArgumentError(f"path expected a file name ending in .png or .svg, found {shown(path)}")
    rows = report.layers
    if what == "timeline" and getattr(report, "training", None) is not None:
        _training_timeline(report, path)
        return
    if what == "timeline":
        from .timeline import memory_timeline
        if the_plan is None:
            raise ArgumentError("the timeline needs the_plan= (cnncalc.engine.plan of the network)")
        timeline = memory_timeline(report, the_plan)
        if timeline is None:
            raise ArgumentError("cannot plot the memory timeline: the sizes are symbolic",
                                hint="give the input's sizes values: --set H=224,W=224")
    plt = _matplotlib()
    count = len(rows)
    figure, axes = plt.subplots(figsize=(min(16, 6 + count / 40), 3.6), dpi=150)
    x = list(range(count))
    title = cut(report.name, 60)
    if what in ("macs", "params", "memory"):
        attribute = {"macs": "macs", "params": "params", "memory": "activation_bytes"}[what]
        values = _numbers([getattr(row, attribute) for row in rows], what)
        if what == "memory":
            scale, unit = _byte_scale(max(values, default=0))
            axes.bar(x, [v / scale for v in values], width=0.85, color="#3b82f6")
            axes.set_ylabel(f"activation memory ({unit})")
        else:
            axes.bar(x, values, width=0.85, color="#3b82f6")
            axes.set_ylabel("MACs" if what == "macs" else "parameters")
            axes.ticklabel_format(axis="y", style="sci", scilimits=(0, 3))
        axes.set_title(f"{title}: {'activation memory' if what == 'memory' else what} per layer")
        _mark_largest(axes, rows, values)
    elif what == "field":
        extent = _numbers(list(report.input_shape[2:]), "the receptive field")
        names = ["L"] if len(extent) == 1 else ["D", "H", "W"][-len(extent):]
        for axis, (name, size) in enumerate(zip(names, extent)):
            # a global axis has its exact size too: the part of the input that is read (SPEC §2)
            sizes = [_numbers([row.receptive_field.size[axis]], "the receptive field")[0] for row in rows]
            line, = axes.plot(x, sizes, label=f"field {name}")
            axes.axhline(size, linestyle="--", color=line.get_color(), linewidth=1, label=f"input {name} = {size}")
        axes.set_ylabel("receptive field (input elements)")
        axes.set_title(f"{title}: receptive field per layer against the input size")
        axes.legend(loc="upper left", fontsize=8)
    else:
        scale, unit = _byte_scale(timeline.peak)
        xs, ys = [-0.5], [timeline.start / scale]
        for index in range(count):
            xs += [index - 0.3, index + 0.3]
            ys += [timeline.allocated[index] / scale, timeline.after[index] / scale]
        axes.fill_between(xs, ys, step=None, alpha=0.25, color="#2563eb")
        axes.plot(xs, ys, color="#2563eb", linewidth=1)
        at = -0.5 if timeline.peak_layer is None else timeline.peak_layer - 0.3
        where = "the input" if timeline.peak_layer is None else visible(rows[timeline.peak_layer].name)
        axes.plot([at], [timeline.peak / scale], "o", color="#b91c1c")
        axes.annotate(f"peak {timeline.peak / scale:.2f} {unit} at {cut(where, 40)}", (at, timeline.peak / scale),
                      textcoords="offset points", xytext=(6, -4), fontsize=8, color="#b91c1c",
                      ha="right" if at > count * 0.6 else "left", va="top")
        axes.set_ylabel(f"alive ({unit})")
        axes.set_title(f"{title}: activation memory alive over the forward pass")
    axes.set_xlabel("layer (execution order)")
    axes.set_xlim(-1, max(count, 1))
    _save(plt, figure, axes, path)


def _training_timeline(report: Report, path: str) -> None:
    """Memory alive after each event of the training step (``report.training.timeline``, the engine's
    events as they are), the forward and backward shaded, the engine's peak marked and named."""
    step = report.training
    events = step.timeline
    alive = _numbers([bytes_alive for _, _, bytes_alive in events], "the training step")
    plt = _matplotlib()
    count = len(events)
    figure, axes = plt.subplots(figsize=(min(16, 6 + count / 60), 3.6), dpi=150)
    scale, unit = _byte_scale(max(alive, default=0))
    for phase, colour in (("forward", "#2563eb"), ("backward", "#db2777")):
        at = [i for i, (name, _, _) in enumerate(events) if name == phase]
        if at:
            axes.axvspan(at[0] - 0.5, at[-1] + 0.5, color=colour, alpha=0.06, linewidth=0)
            axes.text((at[0] + at[-1]) / 2, 1.0, phase, transform=axes.get_xaxis_transform(), ha="center",
                      va="top", fontsize=8, color="#64748b", style="italic")
    ys = [v / scale for v in alive]
    axes.fill_between(range(count), ys, step="mid", alpha=0.25, color="#2563eb")
    axes.step(range(count), ys, where="mid", color="#2563eb", linewidth=1)
    top = max(range(count), key=alive.__getitem__)        # the engine's peak event (its max keeps the first)
    axes.plot([top], [ys[top]], "o", color="#b91c1c")
    axes.annotate(f"peak {ys[top]:.2f} {unit} at {cut(visible(step.peak_at), 50)}", (top, ys[top]),
                  textcoords="offset points", xytext=(6, -4), fontsize=8, color="#b91c1c",
                  ha="right" if top > count * 0.6 else "left", va="top")
    axes.set_ylabel(f"alive ({unit})")
    axes.set_title(f"{cut(report.name, 50)}: memory alive over the training step "
                   f"({step.optimizer}, {step.precision}, batch {step.batch})")
    axes.set_xlabel("event of the step (forward, loss, backward, optimizer step)")
    axes.set_xlim(-1, max(count, 1))
    axes.set_ylim(bottom=0)
    _save(plt, figure, axes, path)


def _save(plt, figure, axes, path: str) -> None:
    """The charts' common finish: a light horizontal grid, a tight layout, PNG or SVG by the suffix."""
    axes.grid(axis="y", color="#e2e8f0")
    figure.tight_layout()
    try:
        figure.savefig(path, format=path.lower().rsplit(".", 1)[1])
    finally:
        plt.close(figure)


def _byte_scale(largest: int) -> tuple[int, str]:
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if largest >= scale:
            return scale, unit
    return 1, "B"


def _mark_largest(axes, rows, values: list[int]) -> None:
    """Name the layer with the largest value (visible text, cut), so the chart says where it goes."""
    if not values or max(values) <= 0:
        return
    top = max(range(len(values)), key=values.__getitem__)
    scale = 1
    for patch in axes.patches[top:top + 1]:
        scale = patch.get_height() / values[top] if values[top] else 1
    axes.annotate(cut(visible(rows[top].name), 40), (top, values[top] * scale), textcoords="offset points",
                  xytext=(0, 3), ha="center", fontsize=7, color="#334155")
