"""interpolate: F.interpolate to a fixed size, a scale factor, or another layer's size.

``interpolate: {size_of: input, mode: bilinear}`` is FCN's
``F.interpolate(x, size=input.shape[-2:], mode="bilinear")``: the loader
reads ``size_of`` as a layer reference (like ``from``) and passes that
layer's output as a second input whose spatial sizes are the target size,
so a symbolic ``[3, H, W]`` network stays symbolic. Only the first input's
field is followed (the second gives a size, no values). Counts are
Upsample's (upsample.py). The referenced tensor stays alive until this
layer, as it does in torch code that keeps ``input`` for its shape.
UpsamplingNearest2d / UpsamplingBilinear2d: torch's deprecated spellings
(bilinear with align_corners=True).
"""

from __future__ import annotations

from .base import Arg, ArgError, fmt_shape
from .registry import register
from .upsample import Upsample


def _reference_arg(value):
    if value is None or isinstance(value, str):
        return value
    raise ArgError("a layer name (or input)", value)


@register
class Interpolate(Upsample):
    name = "interpolate"
    torch_class = "Interpolate"
    args = Upsample.args + (
        Arg("size_of", _reference_arg, None,
            doc="a layer (or input) whose spatial size is the target size: FCN's size=input.shape[-2:]"),)
    shape_refs = ("size_of",)      # arguments the loader resolves to layers and passes as extra inputs
    summary = "F.interpolate by size, scale_factor or size_of: LAYER (another layer's spatial size)"

    def configure(self, args):
        if args["size_of"] is not None:
            if args["size"] is not None or args["scale_factor"] is not None:
                raise ArgError("size_of alone", message="give size_of, size or scale_factor, only one",
                               arg="size_of")
            return {**Upsample.configure(self, {**args, "size": 1}), "size": None}
        return Upsample.configure(self, args)

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        if cfg["size_of"] is not None:
            like = inputs[1]
            ctx.require(len(like) == len(x), lambda: (
                f"size_of {cfg['size_of']} is {len(like)}-d {fmt_shape(like)}, the input {len(x)}-d {fmt_shape(x)}"))
            cfg = {**cfg, "size": tuple(like[2:])}
        return Upsample.evaluate(self, cfg, inputs[:1], ctx)

    def torch_kwargs(self, cfg, inputs):
        kwargs = {k: v for k, v in cfg.items() if k != "size_of"}
        if cfg["size_of"] is not None:
            kwargs["size"] = None
        elif isinstance(kwargs["size"], tuple):
            kwargs["size"] = list(kwargs["size"])
        return kwargs

    def to_torch(self, cfg, inputs):
        from ._torch_ops import build
        return build("Interpolate", **self.torch_kwargs(cfg, inputs))

    def reference(self, cfg, weights, inputs):
        if cfg["size_of"] is not None:
            cfg = {**cfg, "size": tuple(inputs[1].shape[2:])}
        return Upsample.reference(self, cfg, weights, inputs[:1])


@register
class UpsamplingNearest2d(Upsample):
    name = "UpsamplingNearest2d"
    args = (Upsample.args[0], Upsample.args[1])
    fixed = {"mode": "nearest", "align_corners": None, "recompute_scale_factor": None}
    summary = "nearest upsampling of a 4-d input (torch's deprecated spelling of Upsample)"

    def configure(self, args):
        Upsample.configure(self, {**args, **self.fixed})
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        ctx.require(len(x) == 4, lambda: f"{self.name} expects a 4-d input, found {fmt_shape(x)}")
        return Upsample.evaluate(self, {**cfg, **self.fixed}, inputs, ctx)

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        return Upsample.reference(self, {**cfg, **self.fixed}, weights, inputs)


@register
class UpsamplingBilinear2d(UpsamplingNearest2d):
    name = "UpsamplingBilinear2d"
    fixed = {"mode": "bilinear", "align_corners": True, "recompute_scale_factor": None}
    summary = "bilinear upsampling with align_corners=True (torch's deprecated spelling of Upsample)"
