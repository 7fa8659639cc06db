"""cnncalc: everything about a convolutional network before a weight exists.

    >>> import cnncalc
    >>> report = cnncalc.analyze("examples/resnet50.yaml")
    >>> report.totals.params
    25557032

Heavy parts (sympy, numpy, torch) are imported only by the functions that
need them.
"""

import importlib
import sys
import types

from ._version import __version__
from .api import analyze, load, loads
from .errors import (
    ArgumentError, BudgetExceeded, CnnCalcError, ShapeError, SpecError, VerifyMismatch,
)

__all__ = [
    "ArgumentError", "BudgetExceeded", "CnnCalcError", "ShapeError", "SpecError", "VerifyMismatch",
    "__version__", "analyze", "check", "explain", "load", "loads", "to_torch", "verify",
]

# optional parts, imported on first use: public name -> (module, function)
_LAZY = {
    "check": (".budget", "check"),
    "explain": (".explain", "explain"),
    "to_torch": (".torch_bridge", "to_torch"),
    "verify": (".torch_bridge.verify", "verify"),
}


class _Package(types.ModuleType):
    """The package's type: its public function names cannot be clobbered by submodules.

    Importing the submodule ``cnncalc.explain`` makes Python set the package
    attribute ``explain`` to that module, which would shadow the function of
    the same name (``cnncalc.explain(...)``: 'module' object is not callable).
    The import system sets it with setattr, so refusing modules here keeps the
    name bound to the function; the submodule stays in ``sys.modules``.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    lazy = _LAZY.get(name)
    if lazy is None:
        raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
    module_name, attribute = lazy
    function = getattr(importlib.import_module(module_name, __name__), attribute)
    globals()[name] = function          # bound once; later look-ups skip __getattr__
    return function
