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
    with pytest.raises(CnnCalcError, match=r":4:5: pixelshuffle_1 \(PixelShuffle\).*no Keras equivalent") as caught:
        keras_source(api.loads("input: [4, 8, 8]\nlayers:\n  - ReLU\n  - PixelShuffle: {upscale_factor: 2}\n"))
    assert "pixelshuffle" in str(caught.value).lower() and caught.value.hint
    with pytest.raises(CnnCalcError, match="Linear on a tensor with spatial axes"):
        keras_source(api.loads("input: [4, 8, 8]\nlayers:\n  - Linear: {out_features: 2}\n"))
    with pytest.raises(CnnCalcError, match="--set"):
        keras_source(api.loads("framework: keras\ninput: [H, 8, 3]\nlayers:\n  - ReLU\n"))
    hostile = api.loads('framework: keras\nname: "x\\"\\"\\"\\nimport os"\ninput: [8, 3]\nlayers:\n  - ReLU\n')
    source = keras_source(hostile)
    compile(source, "<exported>", "exec")                     # the name stays inside a literal
    assert "\nimport os" not in source


TORCH_EXAMPLES = sorted((EXAMPLES.parent).glob("*.yaml"))
# what Keras cannot say, by file: the refusal names the layer
REFUSED = {"shufflenet_v2_x1_0.yaml": "ChannelShuffle", "convnext_tiny.yaml": "Permute"}


def _keras_expected(report):
    """count_params() of the Keras twin: torch's parameters and buffers, less BatchNorm's num_batches_tracked
    (Keras keeps the moving mean and variance, not the count)."""
    tracked = sum(1 for row in report.layers if row.type.startswith("BatchNorm"))
    return report.totals.params + report.totals.buffers - tracked


@pytest.mark.parametrize("path", TORCH_EXAMPLES, ids=[p.stem for p in TORCH_EXAMPLES])
def test_torch_example_exports_to_keras(keras, path):
    from keras.src.backend.torch import random as krandom
    network = api.load(path)
    if path.name in REFUSED:
        with pytest.raises(CnnCalcError, match=rf"has no Keras equivalent") as caught:
            keras_source(network)
        assert REFUSED[path.name] in str(caught.value)
        return
    sizes = {name: 224 for name in api.analyze(network).symbols} or None     # fcn: [3, H, W]
    report = api.analyze(network, sizes=sizes)
    saved = _quick_init(keras)
    try:
        model = _run(keras_source(network, sizes=sizes))
    finally:
        for name, function in saved.items():
            setattr(krandom, name, function)
    out = report.output_shape
    assert model.count_params() == _keras_expected(report)
    shape = tuple(model.outputs[0].shape)                  # the first output; dead ends (aux heads) follow
    assert (1, *shape[1:]) == ((out[0], *out[2:], out[1]) if len(out) > 2 else out)


def test_shared_calls_round_trip(keras, tmp_path):
    """A layer called twice and a nested model called twice: the export calls the same objects again."""
    inner = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, padding="same")], name="inner")
    shared = keras.layers.Dense(4, name="head")
    x = keras.Input((6, 6, 2))
    a, b = inner(x), inner(keras.layers.ReLU()(x))
    merged = keras.layers.Concatenate()([a, b])
    y = keras.layers.Add()([shared(keras.layers.GlobalAveragePooling2D()(merged)),
                           shared(keras.layers.GlobalMaxPooling2D()(merged))])
    model = keras.Model(x, y)
    (tmp_path / "m.json").write_text(model.to_json())
    network = api.load(str(tmp_path / "m.json"))
    report = api.analyze(network)
    exported = _run(keras_source(network))
    assert exported.count_params() == report.totals.keras_params == model.count_params()
    assert exported.output_shape == model.output_shape
