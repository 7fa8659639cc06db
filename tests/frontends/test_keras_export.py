"""``export --to keras`` round-trips: the written source, run with keras 3, builds a model with
cnncalc's keras_params as its count_params() and cnncalc's output shape (every dialect case
of test_keras.py, and a zoo file). Without keras only the refusals are checked."""

from __future__ import annotations

import pytest

from cnncalc import api
from cnncalc.errors import CnnCalcError
from cnncalc.frontends.export_keras import keras_source
from cnncalc.frontends.write_yaml import dump

from .test_keras import CASES, EXAMPLES, _doc, _quick_init, keras  # noqa: F401  (the keras fixture)


def _run(source: str):
    scope: dict = {"__name__": "exported"}
    exec(compile(source, "<exported>", "exec"), scope)       # cnncalc's own output, in a test
    return scope["build"]()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_export_round_trips(keras, case):
    _, shape, layers = case
    network = api.loads(dump(_doc(shape, layers)))
    report = api.analyze(network)
    model = _run(keras_source(network))
    assert model.count_params() == report.totals.keras_params
    assert (1, *model.output_shape[1:]) == report.output_shape


def test_zoo_file_round_trips(keras):
    from keras.src.backend.torch import random as krandom
    saved = _quick_init(keras)
    try:
        network = api.load(EXAMPLES / "mobilenet.yaml")
        model = _run(keras_source(network))
    finally:
        for name, function in saved.items():
            setattr(krandom, name, function)
    assert model.count_params() == api.analyze(network).totals.keras_params == 4_253_864


def test_refusals():
    with pytest.raises(CnnCalcError, match="needs a Keras file"):
        keras_source(api.loads("input: [3, 8, 8]\nlayers:\n  - ReLU\n"))
    with pytest.raises(CnnCalcError, match="--set"):
        keras_source(api.loads("framework: keras\ninput: [H, 8, 3]\nlayers:\n  - ReLU\n"))
    hostile = api.loads('framework: keras\nname: "x\\"\\"\\"\\nimport os"\ninput: [8, 3]\nlayers:\n  - ReLU\n')
    source = keras_source(hostile)
    compile(source, "<exported>", "exec")                     # the name stays inside a literal
    assert "\nimport os" not in source
