"""Dropout, Dropout1d/2d/3d and AlphaDropout: identities at inference.

No params, buffers, MACs or FLOPs; the shape is kept. torch's rank rules:
Dropout1d takes 2-d or 3-d inputs, Dropout2d 3-d or 4-d, Dropout3d 4-d or 5-d
(torch only warns for other ranks on 2d/3d and calls that deprecated: cnncalc
refuses them); p must lie in [0, 1].
"""

from __future__ import annotations

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    Case("Dropout", {}, (2, 3, 4, 5), out=(2, 3, 4, 5), rf=[(1, 1, 0)] * 2),
    Case("Dropout", {"p": 0.2, "inplace": True}, (2, 10), out=(2, 10)),
    Case("Dropout", {"p": 1.0}, (1, 2, 3, 4, 5), out=(1, 2, 3, 4, 5)),
    Case("Dropout", {"p": 0}, (1, 2, 3), out=(1, 2, 3)),
    Case("Dropout1d", {"p": 0.1}, (2, 3, 8), out=(2, 3, 8)),
    Case("Dropout1d", {}, (2, 3), out=(2, 3)),
    Case("Dropout2d", {}, (2, 3, 4, 4), out=(2, 3, 4, 4)),
    Case("Dropout2d", {"p": 0.3}, (2, 3, 4), out=(2, 3, 4)),
    Case("Dropout3d", {}, (1, 2, 3, 4, 4), out=(1, 2, 3, 4, 4)),
    Case("Dropout3d", {}, (2, 3, 4, 4), out=(2, 3, 4, 4)),
    Case("AlphaDropout", {"p": 0.1}, (2, 3, 4, 4), out=(2, 3, 4, 4)),
]

ERRORS = [
    Bad("Dropout", {"p": 1.5}, (2, 3, 4), SpecError, ("p", "1.5")),
    Bad("Dropout", {"p": -0.5}, (2, 3, 4), SpecError, ("p", "-0.5")),
    Bad("AlphaDropout", {"p": 2}, (2, 3, 4), SpecError, ("p", "2")),
    Bad("Dropout1d", {}, (2, 3, 4, 4), ShapeError, ("2-d or 3-d", "4-d")),
    Bad("Dropout1d", {}, (1, 2, 3, 4, 4), ShapeError, ("2-d or 3-d", "5-d")),
    # deprecated in torch (a warning, "an error in a future release"): refused here
    Bad("Dropout2d", {}, (1, 2, 3, 4, 4), ShapeError, ("3-d or 4-d", "5-d"), torch=False,
        id="Dropout2d-5d-deprecated-in-torch"),
    Bad("Dropout3d", {}, (2, 3, 4), ShapeError, ("4-d or 5-d", "3-d"), torch=False,
        id="Dropout3d-3d-deprecated-in-torch"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_dropout_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_dropout_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_dropout_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_dropout_errors_torch_refuses_too(case):
    check_torch_refuses(case)
