"""Slices of a tensor: chunk and split (several outputs), narrow (one).

A type with several outputs declares ``output_count(args)``; the loader
expands ``chunk: {chunks: 2, name: parts}`` into one layer per piece,
``parts.0`` and ``parts.1`` (each reads the same input and carries its
``index``), so ``from: parts.1`` names the second piece, as
``x1, x2 = x.chunk(2, dim=1)`` does in torch. Every piece is a view of its
input (torch's chunk/split/narrow return views): no FLOPs, no new memory.
Field: a slice along a spatial axis shifts it by the piece's start; along
the batch or the channels it passes through.
"""

from __future__ import annotations

from .base import Arg, ArgError, AxisMap, LayerType, Outcome, ceil_div, fmt_shape, int_arg, is_int, list_problem, normalize_dim
from .registry import register


def _slice(ctx, x, dim, start, length, what):
    """The output shape and field of ``x.narrow(dim, start, length)``; checks the bounds."""
    ctx.require_at_least(length, 1, lambda: f"{what} is empty for dimension {dim} of size {x[dim]} "
                                            f"(input {fmt_shape(x)})")
    ctx.require_at_least(x[dim], start + length, lambda: (
        f"{what} needs {start} + {length} elements along dimension {dim}, which has {x[dim]} (input {fmt_shape(x)})"))
    output = tuple(length if axis == dim else size for axis, size in enumerate(x))
    field = None
    if dim >= 2 and start != 0:
        # output element j is input element start + j along this axis: a window of one, shifted
        steps = [None] * (len(x) - 2)
        steps[dim - 2] = AxisMap(1, 1, (start,), (start,))
        field = tuple(steps)
    return output, field


class _Piece(LayerType):
    """One output of a slicing op; ``index`` is set by the loader, not written in files."""

    def is_view(self, cfg):
        return True

    def torch_kwargs(self, cfg, inputs):
        return dict(cfg)

    def to_torch(self, cfg, inputs):
        from ._torch_ops import build
        return build(self.torch_class, **self.torch_kwargs(cfg, inputs))


@register
class Chunk(_Piece):
    name = "chunk"
    torch_class = "Chunk"
    args = (Arg("chunks", int_arg(1), doc="number of pieces, as x.chunk(chunks, dim)"),
            Arg("dim", int_arg(), 0, doc="the dimension to cut (batch included: 1 is the channels)"),
            Arg("index", int_arg(0), 0, doc="set by the loader: which piece this layer is"))
    summary = "x.chunk(chunks, dim): several outputs, named NAME.0, NAME.1, ... in 'from'"
    count_arg = "chunks"

    @staticmethod
    def output_count(args):
        chunks = args.get("chunks")
        return chunks if is_int(chunks) and chunks >= 1 else None

    def configure(self, args):
        if args["index"] >= args["chunks"]:
            raise ArgError(f"an index below chunks={args['chunks']}", args["index"], arg="index")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = normalize_dim(cfg["dim"], len(x))
        chunks, index = cfg["chunks"], cfg["index"]
        size = x[dim]
        if is_int(size):
            piece = ceil_div(size, chunks)           # torch: every piece has ⌈L / chunks⌉ but the last
            start = index * piece
            if start >= size:
                from ..errors import ShapeError
                raise ShapeError(f"chunk {index} of {chunks} does not exist: dimension {dim} has {size} elements, "
                                 f"so torch returns only {ceil_div(size, piece)} pieces of {piece}")
            length = min(piece, size - start)
        else:                                        # symbolic: equal pieces, a divisibility constraint
            ctx.require_divisible(size, chunks, lambda: f"dimension {dim} ({size}) must divide into {chunks} chunks")
            piece = size // chunks
            start, length = index * piece, piece
        output, field = _slice(ctx, x, dim, start, length, f"chunk {index} of {chunks}")
        return Outcome(output, {}, {}, 0, 0, field)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        dim = cfg["dim"] % x.ndim
        piece = -(-x.shape[dim] // cfg["chunks"])
        return np.take(x, range(cfg["index"] * piece, min((cfg["index"] + 1) * piece, x.shape[dim])), axis=dim)


def _sections_arg(value):
    if isinstance(value, (list, tuple)) and value and all(is_int(v) and v >= 0 for v in value):
        return tuple(value)
    raise ArgError("a list of section sizes (integers >= 0)", value,
                   why=list_problem(value, None, lambda v: is_int(v) and v >= 0, "an integer >= 0"),
                   hint="x.split(16) with one size: use chunk, or write every section: [16, 16, 16]"
                   if is_int(value) else None)


@register
class Split(_Piece):
    name = "split"
    torch_class = "Split"
    args = (Arg("split_size_or_sections", _sections_arg, doc="the sizes of the pieces, as x.split([a, b], dim)"),
            Arg("dim", int_arg(), 0, doc="the dimension to cut (batch included: 1 is the channels)"),
            Arg("index", int_arg(0), 0, doc="set by the loader: which piece this layer is"))
    summary = "x.split([sizes], dim): several outputs, named NAME.0, NAME.1, ... in 'from'"
    count_arg = "split_size_or_sections"

    @staticmethod
    def output_count(args):
        sections = args.get("split_size_or_sections")
        return len(sections) if isinstance(sections, list) and sections else None

    def configure(self, args):
        if args["index"] >= len(args["split_size_or_sections"]):
            raise ArgError("an index below the number of sections", args["index"], arg="index")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = normalize_dim(cfg["dim"], len(x))
        sections = cfg["split_size_or_sections"]
        ctx.require_equal(sum(sections), x[dim], lambda: (
            f"sections {list(sections)} add up to {sum(sections)}, dimension {dim} has {x[dim]} (input {fmt_shape(x)})"))
        index = cfg["index"]
        start = sum(sections[:index])
        output = tuple(sections[index] if axis == dim else size for axis, size in enumerate(x))
        field = None
        if dim >= 2 and start:
            steps = [None] * (len(x) - 2)
            steps[dim - 2] = AxisMap(1, 1, (start,), (start,))
            field = tuple(steps)
        return Outcome(output, {}, {}, 0, 0, field)

    def torch_kwargs(self, cfg, inputs):
        return {**cfg, "split_size_or_sections": list(cfg["split_size_or_sections"])}

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        sections = cfg["split_size_or_sections"]
        start = sum(sections[:cfg["index"]])
        return np.take(x, range(start, start + sections[cfg["index"]]), axis=cfg["dim"] % x.ndim)


@register
class Narrow(_Piece):
    name = "narrow"
    torch_class = "Narrow"
    args = (Arg("dim", int_arg(), doc="the dimension to slice (batch included)"),
            Arg("start", int_arg(0), doc="the first element kept"),
            Arg("length", int_arg(1), doc="how many elements are kept"))
    summary = "x.narrow(dim, start, length): a slice (a view)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = normalize_dim(cfg["dim"], len(x))
        output, field = _slice(ctx, x, dim, cfg["start"], cfg["length"], f"narrow({cfg['start']}, {cfg['length']})")
        return Outcome(output, {}, {}, 0, 0, field)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        return np.take(x, range(cfg["start"], cfg["start"] + cfg["length"]), axis=cfg["dim"] % x.ndim)
