"""Reductions over given dimensions: mean, sum, amax (``x.mean([2, 3])``), with keepdim.

Counted per output element of a reduction over n inputs: sum n − 1 adds;
mean n − 1 adds and one divide; amax n − 1 comparisons (the convention's
"a comparison counts as one"). No MACs: FlopCounterMode counts none for
these ops. Field: reducing a spatial axis (or dropping the channels, which
moves the spatial axes) is reported global; reducing the batch or the
channels with keepdim passes it through.
"""

from __future__ import annotations

from .base import GLOBAL, Arg, ArgError, LayerType, Outcome, bool_arg, is_int, list_problem, normalize_dim, numel
from .registry import register


def _dim_arg(value):
    if value is None:
        return None
    if is_int(value):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(is_int(v) for v in value):
        return tuple(value)
    raise ArgError("a dimension index or a list of them", value, why=list_problem(value, None, is_int, "an integer"))


class _Reduce(LayerType):
    extra_per_output = 0        # mean: one divide per output element
    args = (Arg("dim", _dim_arg, None, doc="the dimensions to reduce, batch included ([2, 3]: H and W); "
                                           "absent: every dimension"),
            Arg("keepdim", bool_arg, False, doc="keep the reduced dimensions with size 1"))

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        rank = len(x)
        dims = range(rank) if cfg["dim"] is None else cfg["dim"]
        axes = [normalize_dim(d, rank) for d in dims]
        ctx.require(len(set(axes)) == len(axes), lambda: f"dim {list(cfg['dim'])} repeats a dimension")
        reduced = set(axes)
        if cfg["keepdim"]:
            output = tuple(1 if axis in reduced else size for axis, size in enumerate(x))
        else:
            output = tuple(size for axis, size in enumerate(x) if axis not in reduced)
        outputs = numel(output)
        # n inputs per output: n − 1 operations each, i.e. numel(x) − numel(out) in all
        flops = numel(x) - outputs + self.extra_per_output * outputs
        if ctx.explaining:
            extra = f" + {self.extra_per_output} · {outputs}" if self.extra_per_output else ""
            ctx.explain("FLOPs", f"{numel(x)} − {outputs}{extra}", flops)
        keeps_axes = cfg["keepdim"] or not reduced & {1}
        spatial_reduced = reduced & set(range(2, rank))
        if not keeps_axes:
            field = GLOBAL
        elif spatial_reduced and cfg["keepdim"] and spatial_reduced != set(range(2, rank)):
            # kept axes stay where they are: global only along the reduced spatial axes (as Linear on W)
            field = tuple(GLOBAL if axis in spatial_reduced else None for axis in range(2, rank))
        else:
            field = GLOBAL if spatial_reduced else None
        return Outcome(output, {}, {}, 0, flops, field)

    def to_torch(self, cfg, inputs):
        from ._torch_ops import build
        return build("Reduce", **self.torch_kwargs(cfg, inputs))

    def torch_kwargs(self, cfg, inputs):
        return {"op": self.name, "dim": None if cfg["dim"] is None else list(cfg["dim"]), "keepdim": cfg["keepdim"]}

    torch_class = "Reduce"

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        axis = None if cfg["dim"] is None else tuple(d % x.ndim for d in cfg["dim"])
        function = {"mean": np.mean, "sum": np.sum, "amax": np.max}[self.name]
        return np.asarray(function(x, axis=axis, keepdims=cfg["keepdim"]), dtype=x.dtype)


@register
class Mean(_Reduce):
    name = "mean"
    extra_per_output = 1
    summary = "x.mean(dim, keepdim): n − 1 adds and a divide per output"


@register
class Sum(_Reduce):
    name = "sum"
    summary = "x.sum(dim, keepdim): n − 1 adds per output"


@register
class Amax(_Reduce):
    name = "amax"
    summary = "x.amax(dim, keepdim): n − 1 comparisons per output"
