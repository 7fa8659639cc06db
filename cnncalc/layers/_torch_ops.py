"""torch modules for the types torch.nn has no class for (chunk, Permute, mean, LayerScale, ...).

Each is Python source text, executed on first use with ``torch``, ``nn``
and ``F`` in scope; ``cnncalc export --to torch`` writes the same text into
the exported file, so the exported model and :func:`cnncalc.to_torch`'s are
the same classes by construction. Importing the layer library never imports
torch.
"""

from __future__ import annotations

from functools import lru_cache

SOURCES: dict[str, str] = {
    "Chunk": '''
class Chunk(nn.Module):
    """Piece ``index`` of ``x.chunk(chunks, dim)``."""

    def __init__(self, chunks, dim=0, index=0):
        super().__init__()
        self.chunks, self.dim, self.index = chunks, dim, index

    def forward(self, x):
        return x.chunk(self.chunks, self.dim)[self.index]
''',
    "Split": '''
class Split(nn.Module):
    """Piece ``index`` of ``x.split(split_size_or_sections, dim)``."""

    def __init__(self, split_size_or_sections, dim=0, index=0):
        super().__init__()
        self.split_size_or_sections, self.dim, self.index = split_size_or_sections, dim, index

    def forward(self, x):
        return x.split(self.split_size_or_sections, self.dim)[self.index]
''',
    "Narrow": '''
class Narrow(nn.Module):
    """``x.narrow(dim, start, length)``."""

    def __init__(self, dim, start, length):
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x):
        return x.narrow(self.dim, self.start, self.length)
''',
    "Permute": '''
class Permute(nn.Module):
    """``torch.permute(x, dims)`` (torchvision.ops.Permute)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return torch.permute(x, self.dims)
''',
    "Transpose": '''
class Transpose(nn.Module):
    """``x.transpose(dim0, dim1)``."""

    def __init__(self, dim0, dim1):
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x):
        return x.transpose(self.dim0, self.dim1)
''',
    "Reduce": '''
class Reduce(nn.Module):
    """``x.mean / x.sum / x.amax`` over ``dim`` (None: every dimension)."""

    def __init__(self, op, dim=None, keepdim=False):
        super().__init__()
        self.op, self.dim, self.keepdim = op, dim, keepdim

    def forward(self, x):
        dim = tuple(range(x.dim())) if self.dim is None else self.dim
        return getattr(torch, self.op)(x, dim=dim, keepdim=self.keepdim)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """A learned per-channel scale: torchvision ConvNeXt's ``layer_scale * x``."""

    def __init__(self, shape, init_value=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(*shape) * init_value)

    def forward(self, x):
        return self.weight * x
''',
    "Scale": '''
class Scale(nn.Module):
    """``x * factor`` for a constant factor (InceptionResNetV2's 0.17 · branch)."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor
''',
    "StochasticDepth": '''
class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: drops whole samples (mode row) or the batch in training."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
''',
    "Interpolate": '''
class Interpolate(nn.Module):
    """``F.interpolate(x, size=like.shape[2:])`` when given a second tensor, else a size or scale_factor."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x, like=None):
        size = tuple(like.shape[2:]) if like is not None else self.size
        return F.interpolate(x, size=size, scale_factor=None if like is not None else self.scale_factor,
                             mode=self.mode, align_corners=self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)
''',
}


@lru_cache(maxsize=1)
def namespace() -> dict:
    """The classes above, defined once with torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F
    scope: dict = {"torch": torch, "nn": nn, "F": F, "__name__": "cnncalc_torch_ops"}
    for source in SOURCES.values():
        exec(compile(source, "<cnncalc torch ops>", "exec"), scope)  # noqa: S102 - our own fixed text
    return scope


def build(class_name: str, **kwargs):
    """An instance of one of the classes above."""
    return namespace()[class_name](**kwargs)
