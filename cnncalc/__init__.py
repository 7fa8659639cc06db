"""cnncalc: everything about a convolutional network before a weight exists.

    >>> import cnncalc
    >>> report = cnncalc.analyze("examples/resnet50.yaml")
    >>> report.totals.params
    25557032

Heavy parts (sympy, numpy, torch) are imported only by the functions that
need them.
"""

from ._version import __version__
from .api import analyze, load, loads
from .errors import (
    ArgumentError, BudgetExceeded, CnnCalcError, ShapeError, SpecError, VerifyMismatch,
)

__all__ = [
    "ArgumentError", "BudgetExceeded", "CnnCalcError", "ShapeError", "SpecError", "VerifyMismatch",
    "__version__", "analyze", "check", "explain", "load", "loads", "to_torch", "verify",
]


def __getattr__(name: str):
    # optional parts, imported on first use
    if name == "check":
        from .budget import check
        return check
    if name == "explain":
        from .explain import explain
        return explain
    if name == "to_torch":
        from .torch_bridge import to_torch
        return to_torch
    if name == "verify":
        from .torch_bridge.verify import verify
        return verify
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
