"""`cnncalc sizes`: rules read off the constraints, confirmed by concrete evaluation."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")

import cnncalc  # noqa: E402
from cnncalc.engine.sizes import solve_sizes  # noqa: E402

from ..conftest import EXAMPLES  # noqa: E402


def _rule(result, symbol):
    return next(rule for rule in result.rules if rule.symbol == symbol)


def test_unet_divisibility_rule():
    # four 2×2 poolings and four 2× up-convolutions with skip concats: H must be a multiple of 2**4
    result = solve_sizes(cnncalc.load(EXAMPLES / "unet.yaml"), limit=256)
    for symbol in ("H", "W"):
        rule = _rule(result, symbol)
        assert (rule.smallest, rule.period, rule.residues) == (2 ** 4, 2 ** 4, (0,))
        assert rule.rule == f"{symbol} = 16k, k ≥ 1"
        assert any(r.size == 17 and "concat" in r.layer for r in rule.refusals)


def test_rule_agrees_with_brute_force():
    network = cnncalc.load(EXAMPLES / "unet.yaml")
    result = solve_sizes(network, limit=64)
    rule = _rule(result, "H")
    for height in range(1, 65):
        try:
            cnncalc.analyze(network, input=(3, height, 32))
            accepted = True
        except cnncalc.ShapeError:
            accepted = False
        assert accepted == (height >= rule.smallest and height % rule.period in rule.residues), height


def test_resnet_accepts_every_size_and_reports_the_final_map():
    result = solve_sizes(cnncalc.load(EXAMPLES / "resnet18.yaml"), limit=128)
    rule = _rule(result, "H")
    assert rule.smallest == 1 and rule.period == 1
    # total stride 32: a 1×1 final map up to 32, 2×2 from 33
    assert "floor((H - 1)/32) + 1" in rule.final_size
    assert "1 for H in 1..32" in rule.final_size and "2 for H in 33..64" in rule.final_size


def test_linear_after_flatten_fixes_the_size():
    # digits: 3 maps of 7×7 into the dense layer; floor(H/4) = 7 for H in 28..31 only
    result = solve_sizes(cnncalc.load(EXAMPLES / "digits.yaml"), limit=128)
    rule = _rule(result, "H")
    assert rule.valid_examples == (28, 29, 30, 31)
    assert rule.refusals and all("parameters" in r.reason for r in rule.refusals)
