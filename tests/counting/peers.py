"""Run the peer tools themselves (the truth for cnncalc.counting), each with its default settings.

``measure(peer, model, x)`` -> (macs, flops or None): the tool's headline
figures on ``model`` for input ``x``. Each import is skipped with a reason
when the tool is not installed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import pytest

PACKAGES = {"torchinfo": "torchinfo", "fvcore": "fvcore.nn", "ptflops": "ptflops", "thop": "thop",
            "torchscan": "torchscan", "flopcounter": "torch.utils.flop_counter"}


def require(peer: str):
    return pytest.importorskip(PACKAGES[peer], reason=f"{peer} is not installed (pip install the dev extras)")


def measure(peer: str, model, x):
    """The tool's (MACs, FLOPs) on ``model(x)``: exactly the numbers it reports."""
    module = require(peer)
    import torch
    model.eval()
    quiet = contextlib.redirect_stdout(io.StringIO())
    with warnings.catch_warnings(), quiet, torch.no_grad():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            if peer == "torchinfo":
                stats = module.summary(model, input_data=[x], verbose=0, device="cpu")
                return stats.total_mult_adds, None
            if peer == "fvcore":
                analysis = module.FlopCountAnalysis(model, x)
                analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
                return analysis.total(), None
            if peer == "ptflops":
                macs, _ = module.get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                           print_per_layer_stat=False,
                                                           input_constructor=lambda _: {"x": x})
                return macs, None
            if peer == "thop":
                macs, _ = module.profile(model, inputs=(x,), verbose=False)
                return macs, None
            if peer == "torchscan":
                totals = module.crawl_module(model, args=(x,))["totals"]
                # "partial" when some module is unlisted: value is None, known_value the sum it prints
                return totals["macs"]["known_value"], totals["module_flops"]["known_value"]
            counter = module.FlopCounterMode(display=False)
            with counter:
                model(x)
            total = counter.get_total_flops()
            return total / 2, total
        finally:
            logging.disable(logging.NOTSET)
