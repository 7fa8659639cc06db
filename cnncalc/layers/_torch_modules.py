"""Tiny torch modules for the types torch has no module for (add, mul, concat).

Defined on first use so that importing the layer library never imports torch.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace


@lru_cache(maxsize=1)
def modules() -> SimpleNamespace:
    import torch

    class Add(torch.nn.Module):
        """Sum of the inputs (torch broadcasting)."""

        def forward(self, *tensors):
            out = tensors[0]
            for other in tensors[1:]:
                out = out + other
            return out

    class Mul(torch.nn.Module):
        """Product of the inputs (torch broadcasting)."""

        def forward(self, *tensors):
            out = tensors[0]
            for other in tensors[1:]:
                out = out * other
            return out

    class Concat(torch.nn.Module):
        """torch.cat along ``dim``."""

        def __init__(self, dim: int = 1) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, *tensors):
            return torch.cat(tensors, dim=self.dim)

        def extra_repr(self) -> str:
            return f"dim={self.dim}"

    return SimpleNamespace(Add=Add, Mul=Mul, Concat=Concat)
