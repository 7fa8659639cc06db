"""The torch bridge: a trainable torch.nn.Module from an architecture file,
its PyTorch source, and `cnncalc verify` (the analytic figures against torch).

torch is imported only inside this package (and inside the layer types'
``to_torch`` methods), on first use: ``import cnncalc`` and ``cnncalc
summarize`` never import it. Without torch every entry point raises one clear
:class:`cnncalc.CnnCalcError` (exit code 2).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import CnnCalcError

TORCH_MISSING = "needs torch: pip install 'cnncalc[torch]'"
# a bare `pip install torch` on Linux pulls the CUDA build (several GB); the CPU wheel is ~200 MB
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_HINT = (f"for the CPU-only build (about 200 MB instead of several GB of CUDA wheels) first run "
              f"pip install torch --index-url {CPU_TORCH_INDEX}, then pip install 'cnncalc[torch]'; "
              f"inside a checkout: pip install -c constraints.txt --extra-index-url {CPU_TORCH_INDEX} -e '.[torch]'")

__all__ = ["TorchMissing", "export_torch", "require_torch", "to_torch", "verify"]


class TorchMissing(CnnCalcError):
    """torch is not installed (exit code 2)."""


def require_torch(what: str = "this"):
    """The torch module, or TorchMissing: "cnncalc verify needs torch: pip install 'cnncalc[torch]'"."""
    try:
        import torch
    except ImportError as err:  # ModuleNotFoundError, or a broken install
        raise TorchMissing(f"{what} {TORCH_MISSING}", hint=TORCH_HINT,
                           detail=f"  import torch failed: {err}") from None
    return torch


def to_torch(net: Any, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
             batch: int | None = None, *, device: Any = None):
    """A trainable ``torch.nn.Module`` built from an architecture.

    ``net``: a path, YAML text or a loaded :class:`~cnncalc.spec.model.NetworkSpec`.
    ``input`` replaces the file's input shape (batch excluded) and ``sizes``
    gives symbolic sizes values (``{"H": 224}``): the constructors' sizes
    (``in_channels``, ``in_features``, ...) come from the analytic shapes at
    that concrete input. ``batch`` only sets ``model.input_shape``.
    ``device``: where the parameters are created (``"meta"`` allocates
    nothing).

    Submodules are named by the file's paths and nested per path component:
    ``model.layer1[0].bn2`` or ``model.get_submodule("layer1.0.bn2")``;
    ``model.layer("layer1.0.bn2")`` also works. ``forward`` follows the
    file's graph (``from``, add, mul, concat). Frozen layers have
    ``requires_grad=False``.
    """
    require_torch("cnncalc.to_torch")
    from .build import build_model
    return build_model(net, input=input, sizes=sizes, batch=batch, device=device)


def export_torch(net: Any, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
                 batch: int | None = None, *, class_name: str | None = None) -> str:
    """Readable, runnable PyTorch source (a module class) for an architecture; writes text, needs no torch."""
    from .export import export_source
    return export_source(net, input=input, sizes=sizes, batch=batch, class_name=class_name)


def verify(*args: Any, **kwargs: Any):
    """See :func:`cnncalc.torch_bridge.verify.verify`."""
    from .verify import verify as _verify
    return _verify(*args, **kwargs)
