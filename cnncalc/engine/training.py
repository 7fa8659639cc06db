"""One training step, analytically: backward MACs and FLOPs, what autograd saves,
gradients, optimizer state, and the peak of memory alive (docs/training.md).

Each layer type says, beside its forward rule (``LayerType.backward``), what
its backward computes and which tensors its forward keeps; this module
walks the plan once in file order (the forward) and once in reverse (the
backward), tracking which tensors require a gradient, which storages are
kept (a storage kept by several layers is counted once), their dtypes under
torch.autocast, and the bytes alive at every moment.

The order whose peak is reported (one steady-state step, ``zero_grad(set_to_none=True)``):

1. alive throughout: parameters, buffers, optimizer state (from the previous
   step), the input batch;
2. forward, in file order: each layer's output (and autocast's copies, and
   the tensors its backward needs) is allocated; a tensor is freed after its
   last reader unless some layer keeps it for the backward;
3. backward, in reverse order: the loss gradient (one tensor of the output's
   size); each layer allocates the gradient of its inputs that need one
   (accumulated in place when a tensor feeds several layers) and of its
   weights (kept: ``.grad``); then its kept tensors (when no earlier layer
   also keeps them) and the gradient of its output are freed;
4. optimizer step: gradients, state and parameters, plus the step's
   temporaries (Adam's foreach ``sqrt(v)``: one tensor per parameter).

Every figure is affine in the batch at each moment, so the peak is the
largest of affine functions; :func:`fit` finds the largest batch exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from ..errors import ArgumentError
from ..layers.base import ACC, Backward, Grads, Outcome, numel

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
PRECISIONS = ("fp32", "bf16-mixed", "fp16-mixed")
DEVICES = ("cpu", "cuda")
STEP_BYTES = 4            # Adam's per-parameter ``step``: a float32 scalar tensor (torch's _get_scalar_dtype)
BUFFER_COUNTER_BYTES = 8  # num_batches_tracked is int64


@dataclass(frozen=True)
class LayerTraining:
    """One layer's share of a training step."""

    backward_macs: Any
    backward_flops: Any
    saved_bytes: Any            # storages this layer is the first to keep (shared ones counted once)
    grad_bytes: Any             # its parameters' .grad
    optimizer_state_bytes: Any
    input_macs: Any = 0
    weight_macs: Any = 0

    def to_dict(self) -> dict[str, Any]:
        return {"backward_macs": self.backward_macs, "backward_flops": self.backward_flops,
                "saved_bytes": self.saved_bytes, "grad_bytes": self.grad_bytes,
                "optimizer_state_bytes": self.optimizer_state_bytes}


@dataclass(frozen=True)
class Training:
    """A training step: per layer (report order) and in total."""

    optimizer: str
    precision: str
    device: str
    batch: int
    layers: tuple[LayerTraining, ...]
    backward_macs: Any
    backward_flops: Any
    saved_bytes: Any
    grad_bytes: Any
    optimizer_state_bytes: Any
    peak_bytes: Any
    peak_at: str                # where the peak happens: "forward: conv1", "backward: fc", "optimizer step"
    timeline: tuple = ()        # (phase, layer path, bytes alive) after every event

    def to_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "precision": self.precision, "device": self.device,
                "batch": self.batch, "backward_macs": self.backward_macs, "backward_flops": self.backward_flops,
                "saved_bytes": self.saved_bytes, "grad_bytes": self.grad_bytes,
                "optimizer_state_bytes": self.optimizer_state_bytes, "peak_bytes": self.peak_bytes,
                "peak_at": self.peak_at}


@dataclass(frozen=True)
class TrainingOptions:
    """What a training step assumes: the optimizer, autocast's precision, the device whose kernels decide
    what is saved (dropout's mask), and the batch (None: the analysis' own)."""

    optimizer: str = "adam"
    precision: str = "fp32"
    device: str = "cuda"
    batch: int | None = None

    def label(self) -> str:
        """'adam, fp32' (the device named only where it is not the default)."""
        return f"{self.optimizer}, {self.precision}" + (f", {self.device}" if self.device != "cuda" else "")


def check_options(optimizer: Any = "adam", precision: Any = "fp32", device: Any = "cuda") -> tuple[str, str, str]:
    """The training options, checked: ArgumentError naming the bad one."""
    for what, value, allowed in (("optimizer", optimizer, OPTIMIZERS), ("precision", precision, PRECISIONS),
                                 ("device", device, DEVICES)):
        if value not in allowed:
            from ..text import shown
            raise ArgumentError(f"{what}: expected one of {', '.join(allowed)}, found "
                                f"{shown(value) if isinstance(value, str) else repr(value)[:80]}")
    return optimizer, precision, device


def train_step(the_plan: Any, report: Any, optimizer: str = "adam", precision: str = "fp32",
               device: str = "cuda") -> Training:
    """The training step of ``report`` (a concrete evaluation of ``the_plan``)."""
    optimizer, precision, device = check_options(optimizer, precision, device)
    if report.symbols:
        raise ArgumentError(f"{report.name}: a training step needs concrete input sizes; the input has "
                            f"{', '.join(report.symbols)}", hint="give them values with --set or sizes=")
    from ..spec.model import DTYPE_BYTES
    from .plan import bind
    the_plan = bind(the_plan, report)     # arguments read from a block input's size ($in.channels), resolved
    base = DTYPE_BYTES[report.dtype]
    mixed = precision != "fp32"
    half = 2
    layers = the_plan.layers
    rows = report.layers
    count = len(layers)

    requires: list[bool] = []           # per layer: its output requires a gradient
    dtype: list[int] = []               # per layer: bytes per element of its output
    storage: list[Any] = []             # per layer: the storage id of its output
    sizes: dict[Any, int] = {"input": numel(report.input_shape) * base}
    last_read: dict[Any, int] = {"input": the_plan.input_last_use}
    kept_by: dict[Any, list[int]] = {}  # storage -> layers that keep it (forward order)
    allocated_at: list[list[Any]] = [[] for _ in range(count)]     # storages each layer allocates
    backwards: list[Backward] = []
    aliases: list[bool] = []            # output is a view of the input in training mode
    per_layer: list[LayerTraining] = []
    param_tensors = 0

    for position, layer in enumerate(layers):
        row = rows[position]
        slots = layer.input_slots
        in_shapes = [report.input_shape if s == -1 else rows[s].output_shape for s in slots]
        in_req = tuple(False if s == -1 else requires[s] for s in slots)
        in_dtype = [base if s == -1 else dtype[s] for s in slots]
        in_storage = ["input" if s == -1 else storage[s] for s in slots]
        trainable = row.trainable_params != 0
        grads = Grads(in_req, trainable, device)
        outcome = Outcome(row.output_shape, row.param_shapes, row.buffer_shapes, row.macs, row.flops)
        bw = layer.layer_type.backward(layer.cfg, in_shapes, outcome, grads)
        if not grads.any:              # no autograd node: nothing kept, nothing computed; training-mode
            bw = Backward(shares_input=bw.shares_input)      # aliasing still holds (dropout is no view)
        backwards.append(bw)
        # autocast: the dtype this layer computes in, and the inputs it casts (a new tensor each)
        policy = layer.layer_type.autocast if mixed else None
        if policy == "lower":
            compute = half
        elif mixed and device in layer.layer_type.autocast_fp32_on:
            compute = 4
        else:
            compute = max(in_dtype) if in_dtype else base
        cast: dict[int, Any] = {}
        if mixed and policy is not None or (mixed and device in layer.layer_type.autocast_fp32_on):
            for index, (shape, have) in enumerate(zip(in_shapes, in_dtype)):
                if have != compute:
                    sid = ("cast", position, index)
                    sizes[sid] = numel(shape) * compute
                    cast[index] = sid
                    allocated_at[position].append(sid)
        shares = bw.shares_input if bw.shares_input is not None else layer.is_view
        shares = bool(shares) and len(slots) == 1 and 0 not in cast
        aliases.append(shares and bw.flops == 0 and not bw.saved)
        if shares:
            sid = in_storage[0]
        else:
            sid = position
            sizes[sid] = numel(row.output_shape) * compute
            allocated_at[position].append(sid)
        storage.append(sid)
        last_read[sid] = max(last_read.get(sid, -1), the_plan.last_use[position])
        requires.append(grads.any)
        dtype.append(compute)

        # what autograd keeps
        first_saved = 0
        if grads.any:
            for number, item in enumerate(bw.saved):
                if item.kind == "input":
                    kept = cast.get(item.index, in_storage[item.index])
                elif item.kind == "output":
                    kept = sid
                elif item.kind == "param":
                    if policy != "lower":
                        continue                     # the parameter itself: model state, counted apart
                    kept = ("param", position, number)  # autocast's half copy of the weight
                    sizes[kept] = item.elements * half
                    allocated_at[position].append(kept)
                else:
                    itemsize = compute if item.itemsize is None else (
                        max(4, compute) if item.itemsize == ACC else item.itemsize)
                    kept = ("new", position, number)
                    sizes[kept] = item.elements * itemsize
                    allocated_at[position].append(kept)
                if kept == "input":
                    continue                         # the input batch: the caller's, counted apart
                holders = kept_by.setdefault(kept, [])
                if not holders:
                    first_saved += sizes[kept]
                if position not in holders:
                    holders.append(position)
        grad_bytes = row.trainable_params * base
        tensors = len(row.param_shapes) if trainable else 0
        param_tensors += tensors
        state = {"sgd": 0, "momentum": grad_bytes, "adam": 2 * grad_bytes + STEP_BYTES * tensors,
                 "adamw": 2 * grad_bytes + STEP_BYTES * tensors}[optimizer]
        per_layer.append(LayerTraining(bw.input_macs + bw.weight_macs if grads.any else 0,
                                       bw.flops if grads.any else 0, first_saved, grad_bytes, state,
                                       bw.input_macs, bw.weight_macs))

    totals = report.totals
    grad_total = sum(p.grad_bytes for p in per_layer)
    state_total = sum(p.optimizer_state_bytes for p in per_layer)
    peak, peak_at, timeline = _liveness(the_plan, report, base, sizes, storage, last_read, kept_by, allocated_at,
                                        requires, dtype, aliases, per_layer, grad_total, state_total, optimizer)
    return Training(
        optimizer, precision, device, report.batch, tuple(per_layer),
        backward_macs=sum(p.backward_macs for p in per_layer), backward_flops=sum(p.backward_flops for p in per_layer),
        saved_bytes=sum(p.saved_bytes for p in per_layer), grad_bytes=grad_total,
        optimizer_state_bytes=state_total, peak_bytes=peak, peak_at=peak_at, timeline=tuple(timeline))


def _liveness(the_plan, report, base, sizes, storage, last_read, kept_by, allocated_at, requires, dtype, aliases,
              per_layer, grad_total, state_total, optimizer):
    """Bytes alive after every event of the step, in the order of the module docstring."""
    layers = the_plan.layers
    rows = report.layers
    count = len(layers)
    buffers = sum(numel(shape) * (BUFFER_COUNTER_BYTES if name == "num_batches_tracked" else base)
                  for row in rows for name, shape in row.buffer_shapes.items())
    persistent = report.totals.params * base + buffers + state_total + sizes["input"]
    alive = persistent
    timeline: list[tuple[str, str, int]] = [("start", "", alive)]
    live: set = set()
    kept = set(kept_by)
    # forward
    for position, layer in enumerate(layers):
        for sid in allocated_at[position]:
            if sid not in live:
                live.add(sid)
                alive += sizes[sid]
        timeline.append(("forward", rows[position].name, alive))
        for sid in list(live):
            if sid in kept or sid == storage[-1]:
                continue
            if isinstance(sid, int) and last_read.get(sid, -1) <= position:
                live.discard(sid)
                alive -= sizes[sid]
            elif isinstance(sid, tuple) and sid[1] == position:       # a cast nobody keeps: freed after use
                live.discard(sid)
                alive -= sizes[sid]
    # backward
    release: dict[int, list] = {}
    for sid, holders in kept_by.items():
        release.setdefault(min(holders), []).append(sid)
    gradient: dict[int, int] = {}               # layer -> bytes of the gradient of its output, while alive
    out = count - 1
    gradient[out] = numel(rows[out].output_shape) * dtype[out]
    alive += gradient[out]
    timeline.append(("loss", rows[out].name, alive))
    for position in range(count - 1, -1, -1):
        layer = layers[position]
        if requires[position]:
            for slot in layer.input_slots:
                if slot == -1 or not requires[slot] or slot in gradient:
                    continue
                if aliases[position]:
                    gradient[slot] = 0                   # a view's gradient is a view of its output's
                else:
                    gradient[slot] = numel(rows[slot].output_shape) * dtype[slot]
                alive += gradient[slot]
            alive += per_layer[position].grad_bytes
            timeline.append(("backward", rows[position].name, alive))
        for sid in release.get(position, ()):
            if sid in live:
                live.discard(sid)
                alive -= sizes[sid]
        if position in gradient:
            alive -= gradient.pop(position)
        if position == count - 1 and storage[-1] in live and storage[-1] not in kept:
            live.discard(storage[-1])
            alive -= sizes[storage[-1]]
    for sid in list(live):                       # what is left (the output kept by nobody)
        alive -= sizes[sid]
    live.clear()
    scratch = grad_total if optimizer in ("adam", "adamw") else 0
    timeline.append(("optimizer step", "", alive + scratch))
    peak_event = max(timeline, key=lambda event: event[2])
    where = peak_event[0] + (f": {peak_event[1]}" if peak_event[1] and peak_event[0] != "loss" else "")
    return peak_event[2], where, timeline


# --------------------------------------------------------------------------
# The batch: every moment's bytes are affine in it
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Affine:
    """bytes = constant + per_sample × batch."""

    constant: int
    per_sample: int

    def at(self, batch: int) -> int:
        return self.constant + self.per_sample * batch


@dataclass(frozen=True)
class Fit:
    """The largest batch whose peak fits in ``memory`` bytes, and the formula that decides it."""

    memory: int
    batch: int                  # 0: not even batch 1 fits
    formula: Affine             # the affine piece that is largest at ``batch`` (or at 1)
    peak_at_batch: int          # the peak at ``batch``
    where: str                  # where that peak happens


def affine_pieces(evaluate_at) -> list[tuple[str, Affine]]:
    """The timeline's every moment as an affine function of the batch, from batch 1 and 2."""
    one, two = evaluate_at(1), evaluate_at(2)
    pieces = []
    for (phase, name, a), (_, _, b) in zip(one, two):
        label = phase + (f": {name}" if name and phase != "loss" else "")
        pieces.append((label, Affine(2 * a - b, b - a)))
    return pieces


def largest_batch(pieces: Sequence[tuple[str, Affine]], memory: int, limit: int = 2**40) -> int:
    """The largest batch b ≥ 1 with every piece ≤ memory (0 if none), exactly."""
    best = limit
    for _, piece in pieces:
        if piece.per_sample <= 0:
            if piece.constant + max(piece.per_sample, 0) > memory:
                return 0
            continue
        best = min(best, (memory - piece.constant) // piece.per_sample)
    return max(best, 0)


def fit_memory(pieces: Sequence[tuple[str, Affine]], memory: int) -> Fit:
    batch = largest_batch(pieces, memory)
    at = max(batch, 1)
    label, piece = max(pieces, key=lambda item: (item[1].at(at), item[1].per_sample))
    return Fit(memory, batch, piece, piece.at(at), label)


def with_training(report: Any, training: Training) -> Any:
    """The report carrying its training step (``report.training``)."""
    return replace(report, training=training)
