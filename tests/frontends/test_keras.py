"""The Keras dialect and Keras configs, against Keras itself (keras 3, KERAS_BACKEND=torch).

Per layer type: the output shape and count_params() of a real Keras model
equal cnncalc's output_shape and keras_params; MACs equal half of what
torch's FlopCounterMode counts while Keras runs the layer; the receptive
field of output element 0 equals the input elements its gradient reaches
(so Keras's asymmetric 'same' padding is checked where only numbers show
it). The nine Keras Applications summarize to Keras's published table, from
the dialect files in examples/keras/ (no Keras needed) and from to_json()
configs built here. Keras models are built once per module; tests skip
when keras is not installed.
"""

from __future__ import annotations

import json
import os
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest

from cnncalc import api
from cnncalc.errors import CnnCalcError
from cnncalc.frontends.keras_config import config_document, import_keras, parse_config
from cnncalc.frontends.write_yaml import dump

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "keras"

# Keras Applications' published table (keras.io/api/applications, "Parameters")
PUBLISHED = {"xception": 22_910_480, "vgg16": 138_357_544, "vgg19": 143_667_240, "resnet50": 25_636_712,
             "inceptionv3": 23_851_784, "inceptionresnetv2": 55_873_736, "mobilenet": 4_253_864,
             "densenet121": 8_062_504, "nasnetmobile": 5_326_716}
APPS = {"xception": "Xception", "vgg16": "VGG16", "vgg19": "VGG19", "resnet50": "ResNet50",
        "inceptionv3": "InceptionV3", "inceptionresnetv2": "InceptionResNetV2", "mobilenet": "MobileNet",
        "densenet121": "DenseNet121", "nasnetmobile": "NASNetMobile"}


def analyse(doc: dict):
    return api.analyze(api.loads(dump(doc)))


@pytest.mark.parametrize("stem", sorted(PUBLISHED))
def test_zoo_dialect_file_matches_published_count(stem):
    report = api.analyze(api.load(EXAMPLES / f"{stem}.yaml"))
    assert report.totals.keras_params == PUBLISHED[stem]
    assert report.output_shape == (1, 1000)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="keras 3 is not installed (pip install keras; KERAS_BACKEND=torch)")
    if keras.config.backend() != "torch":
        pytest.skip("keras was imported with another backend")
    return keras


# -- per layer type ------------------------------------------------------------------------------
# (id, input shape, [(type, kwargs, inputs)]): inputs are indices into the tensors so far (0: input)
CASES = [
    ("conv1d_valid", (11, 3), [("Conv1D", {"filters": 4, "kernel_size": 3}, [0])]),
    ("conv1d_same_s2", (11, 3), [("Conv1D", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, [0])]),
    ("conv1d_causal_dilated", (12, 2), [("Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal",
                                                    "dilation_rate": 2}, [0])]),
    ("conv2d_same_s2_odd", (13, 13, 3), [("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2,
                                                     "padding": "same", "activation": "relu"}, [0])]),
    ("conv2d_same_s3_even", (16, 14, 2), [("Conv2D", {"filters": 2, "kernel_size": [5, 4], "strides": [3, 2],
                                                      "padding": "same", "use_bias": False}, [0])]),
    ("conv2d_groups_dilated", (12, 12, 4), [("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 2,
                                                        "dilation_rate": 2}, [0])]),
    ("conv3d_same_s2", (7, 8, 9, 2), [("Conv3D", {"filters": 3, "kernel_size": 3, "strides": 2,
                                                  "padding": "same"}, [0])]),
    ("depthwise_same_s2", (11, 11, 3), [("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same",
                                                             "depth_multiplier": 2}, [0])]),
    ("separable1d", (15, 3), [("SeparableConv1D", {"filters": 5, "kernel_size": 3, "strides": 2,
                                                   "padding": "same"}, [0])]),
    ("separable2d", (13, 12, 3), [("SeparableConv2D", {"filters": 5, "kernel_size": 3, "strides": 2,
                                                       "padding": "same", "depth_multiplier": 2,
                                                       "use_bias": False}, [0])]),
    ("transpose_valid", (5, 6, 3), [("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, [0])]),
    ("transpose_same", (5, 6, 3), [("Conv2DTranspose", {"filters": 4, "kernel_size": 4, "strides": 2,
                                                        "padding": "same"}, [0])]),
    ("transpose_output_padding", (5, 5, 2), [("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2,
                                                                  "padding": "same", "output_padding": 1}, [0])]),
    ("transpose1d", (6, 2), [("Conv1DTranspose", {"filters": 3, "kernel_size": 2, "strides": 3}, [0])]),
    ("maxpool1d_same", (9, 2), [("MaxPooling1D", {"pool_size": 2, "padding": "same"}, [0])]),
    ("maxpool2d_same_s2", (13, 12, 2), [("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, [0])]),
    ("maxpool3d", (6, 7, 8, 1), [("MaxPooling3D", {"pool_size": 2}, [0])]),
    ("avgpool1d", (9, 2), [("AveragePooling1D", {"pool_size": 3, "strides": 2}, [0])]),
    ("avgpool2d_same", (11, 10, 2), [("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, [0])]),
    ("avgpool3d_same", (5, 6, 7, 1), [("AveragePooling3D", {"pool_size": 2, "padding": "same"}, [0])]),
    ("gap1d", (9, 3), [("GlobalAveragePooling1D", {}, [0])]),
    ("gap2d", (6, 7, 3), [("GlobalAveragePooling2D", {}, [0])]),
    ("gap3d_keepdims", (3, 4, 5, 2), [("GlobalAveragePooling3D", {"keepdims": True}, [0])]),
    ("gmp2d_keepdims", (6, 7, 3), [("GlobalMaxPooling2D", {"keepdims": True}, [0])]),
    ("gmp1d", (6, 3), [("GlobalMaxPooling1D", {}, [0])]),
    ("batchnorm", (5, 5, 6), [("BatchNormalization", {}, [0])]),
    ("batchnorm_scale_false", (5, 5, 6), [("BatchNormalization", {"scale": False}, [0])]),
    ("batchnorm_no_affine", (5, 6), [("BatchNormalization", {"center": False, "scale": False}, [0])]),
    ("layernorm", (4, 4, 6), [("LayerNormalization", {}, [0])]),
    ("layernorm_rms", (4, 6), [("LayerNormalization", {"rms_scaling": True}, [0])]),
    ("dense_on_last_axis", (4, 5, 6), [("Dense", {"units": 7, "activation": "sigmoid"}, [0])]),
    ("dense_flat", (5, 5, 2), [("Flatten", {}, [0]), ("Dense", {"units": 3, "use_bias": False}, [1])]),
    ("dropout", (4, 4, 2), [("Dropout", {"rate": 0.5}, [0])]),
    ("spatialdropout1d", (4, 2), [("SpatialDropout1D", {"rate": 0.5}, [0])]),
    ("spatialdropout2d", (4, 4, 2), [("SpatialDropout2D", {"rate": 0.5}, [0])]),
    ("spatialdropout3d", (3, 4, 4, 2), [("SpatialDropout3D", {"rate": 0.5}, [0])]),
    ("zeropad1d", (5, 2), [("ZeroPadding1D", {"padding": [1, 2]}, [0])]),
    ("zeropad2d", (5, 6, 2), [("ZeroPadding2D", {"padding": [[1, 0], [2, 3]]}, [0])]),
    ("zeropad3d", (3, 4, 5, 1), [("ZeroPadding3D", {"padding": 1}, [0])]),
    ("crop1d", (7, 2), [("Cropping1D", {"cropping": [1, 2]}, [0])]),
    ("crop2d", (7, 8, 2), [("Cropping2D", {"cropping": [[1, 2], [0, 3]]}, [0])]),
    ("crop3d", (5, 6, 7, 1), [("Cropping3D", {"cropping": 1}, [0])]),
    ("upsample1d", (4, 2), [("UpSampling1D", {"size": 3}, [0])]),
    ("upsample2d_bilinear", (4, 5, 2), [("UpSampling2D", {"size": [2, 3], "interpolation": "bilinear"}, [0])]),
    ("upsample3d", (2, 3, 4, 1), [("UpSampling3D", {"size": 2}, [0])]),
    ("add", (5, 5, 3), [("Activation", {"activation": "tanh"}, [0]), ("Add", {}, [0, 1])]),
    ("multiply", (5, 3), [("ReLU", {"max_value": 6.0}, [0]), ("Multiply", {}, [0, 1])]),
    ("concatenate", (5, 5, 3), [("Conv2D", {"filters": 2, "kernel_size": 1}, [0]), ("Concatenate", {}, [0, 1])]),
    ("concatenate_axis1", (5, 4, 3), [("Concatenate", {"axis": 1}, [0, 0])]),
    ("activation_softmax", (4, 6), [("Activation", {"activation": "softmax"}, [0])]),
    ("relu_leaky", (4, 6), [("ReLU", {"negative_slope": 0.1}, [0])]),
    ("softmax", (3, 4, 5), [("Softmax", {}, [0])]),
    ("reshape", (4, 6, 2), [("Reshape", {"target_shape": [8, -1]}, [0])]),
    ("permute", (4, 6, 2), [("Permute", {"dims": [2, 1, 3]}, [0])]),
    ("rescaling", (4, 4, 3), [("Rescaling", {"scale": 0.5, "offset": -1.0}, [0])]),
    ("normalization_adapted", (4, 4, 3), [("Normalization", {}, [0])]),
    ("normalization_given", (4, 4, 3), [("Normalization", {"mean": 0.5, "variance": 2.0}, [0])]),
    ("custom_scale", (5, 5, 3), [("Conv2D", {"filters": 3, "kernel_size": 1}, [0]),
                                 ("CustomScaleLayer", {"scale": 0.17}, [0, 1])]),
]
MAC_TYPES = {"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Dense",
             "Conv2DTranspose", "Conv1DTranspose"}
FIELD_TYPES = MAC_TYPES - {"Dense"} | {"AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
                                        "Cropping2D"}


def _keras_layer(keras, kind, kwargs):
    if kind == "CustomScaleLayer":
        from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
        return CustomScaleLayer(**kwargs)
    return getattr(keras.layers, kind)(**kwargs)


def _build(keras, shape, layers):
    inputs = keras.Input(shape)
    tensors = [inputs]
    for kind, kwargs, sources in layers:
        args = [tensors[i] for i in sources]
        tensors.append(_keras_layer(keras, kind, kwargs)(args if len(args) > 1 else args[0]))
    return keras.Model(inputs, tensors[-1])


def _doc(shape, layers):
    names = ["input"]
    items = []
    for index, (kind, kwargs, sources) in enumerate(layers):
        name = f"l{index}"
        args = {**kwargs, "name": name, "from": [names[i] for i in sources]}
        if len(sources) == 1:
            args["from"] = args["from"][0]
        items.append({kind: args})
        names.append(name)
    return {"name": "case", "framework": "keras", "input": list(shape), "layers": items}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_against_keras(keras, case):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    _, shape, layers = case
    model = _build(keras, shape, layers)
    report = analyse(_doc(shape, layers))
    assert report.totals.keras_params == model.count_params()
    assert report.output_shape == (1, *model.output_shape[1:])
    x = torch.rand(1, *shape, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        y = model(x)
    assert tuple(y.shape) == report.output_shape
    if any(kind in MAC_TYPES for kind, _, _ in layers):
        assert 2 * report.totals.macs == counter.get_total_flops()
    last = layers[-1][0]
    if last in FIELD_TYPES and len(layers) == 1 and "activation" not in layers[-1][1]:   # relu may zero the gradient
        # the input elements that output element 0 (first channel) depends on: its gradient's support
        y[(0,) * y.dim()].backward()
        support = x.grad[0].abs().sum(dim=-1).nonzero()
        field = report.receptive_field
        for axis in range(len(shape) - 1):
            low = max(0, field.start[axis] - Fraction(field.size[axis] - 1, 2))
            high = min(shape[axis] - 1, field.start[axis] + Fraction(field.size[axis] - 1, 2))
            assert (support[:, axis].min().item(), support[:, axis].max().item()) == (low, high), axis


def test_same_padding_is_keras_on_symbolic_sizes(keras):
    """'same' with stride 2 on [H, W]: the formula, evaluated, is Keras's shape and count at every size tried."""
    layers = [("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, [0]),
              ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, [1]),
              ("Flatten", {}, [2]), ("Dense", {"units": 3}, [3])]
    symbolic = api.loads(dump(_doc(("H", "W", 1), layers)))
    for h, w in ((7, 8), (9, 9), (10, 13)):
        model = _build(keras, (h, w, 1), layers)
        report = api.analyze(symbolic, sizes={"H": h, "W": w})
        assert report.totals.keras_params == model.count_params()
        assert report.output_shape == (1, 3)
        assert report.layers[1].output_shape == (1, *model.layers[2].output.shape[1:])


# -- whole models and configs --------------------------------------------------------------------

def _quick_init(keras):
    """Zero instead of random initial values: count_params() and the config do not depend on them."""
    import torch
    from keras.src.backend.torch import random as krandom

    def zeros(shape, *args, dtype=None, **kwargs):
        return torch.zeros(tuple(shape))
    saved = {name: getattr(krandom, name) for name in ("uniform", "normal", "truncated_normal")}
    for name in saved:
        setattr(krandom, name, zeros)
    return saved


@pytest.fixture(scope="module")
def app_configs(keras):
    from keras.src.applications import nasnet
    from keras.src.backend.torch import random as krandom
    saved = _quick_init(keras)
    configs = {}
    try:
        for stem, name in APPS.items():
            if stem == "nasnetmobile":
                # keras.applications.NASNetMobile refuses the torch backend before building; these are its arguments
                model = nasnet.NASNet(None, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                                      skip_reduction=False, filter_multiplier=2, include_top=True, weights=None,
                                      default_size=224, name="nasnet_mobile")
            else:
                model = getattr(keras.applications, name)(weights=None)
            configs[stem] = (model.to_json(), model.count_params(), tuple(model.output_shape))
            del model
    finally:
        for key, function in saved.items():
            setattr(krandom, key, function)
    return configs


@pytest.mark.parametrize("stem", sorted(PUBLISHED))
def test_application_config_imports_to_published_count(app_configs, stem):
    text, count, output = app_configs[stem]
    assert count == PUBLISHED[stem]
    report = analyse(config_document(parse_config(text)))
    assert report.totals.keras_params == count
    assert report.output_shape == (1, *output[1:])
    dialect = api.analyze(api.load(EXAMPLES / f"{stem}.yaml"))
    assert (dialect.totals.macs, dialect.totals.flops) == (report.totals.macs, report.totals.flops)


def test_nested_sequential_and_shared_layers(keras, tmp_path):
    inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                              keras.layers.BatchNormalization()], name="inner")
    shared = keras.layers.Dense(5, name="shared_dense")
    x = keras.Input((8, 8, 3))
    y = inner(x)
    a = shared(keras.layers.GlobalAveragePooling2D()(y))
    b = shared(keras.layers.GlobalMaxPooling2D()(y))
    model = keras.Model(x, keras.layers.Add()([a, b]))
    path = tmp_path / "model.keras"
    model.save(path)
    report = api.analyze(api.load(str(path)))           # the .keras zip, read without Keras
    assert report.totals.keras_params == model.count_params()
    assert report.output_shape == (1, 5)
    assert sum(row.params for row in report.layers if row.type == "Dense") == 5 * 4 + 5
    (tmp_path / "model.json").write_text(model.to_json())
    assert api.analyze(api.load(str(tmp_path / "model.json"))).totals.keras_params == model.count_params()


def test_lambda_is_refused_naming_the_layer(keras, tmp_path):
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2, name="double_it")(x))
    path = tmp_path / "lam.json"
    path.write_text(model.to_json())
    with pytest.raises(CnnCalcError, match="double_it.*Lambda"):
        api.load(str(path))


# -- no Keras needed: the reader's bounds ------------------------------------------------------

def test_keras_zip_without_config_and_bad_json(tmp_path):
    bare = tmp_path / "bare.keras"
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(CnnCalcError, match="no config.json"):
        import_keras(str(bare))
    with pytest.raises(CnnCalcError, match="not a readable"):
        (tmp_path / "junk.keras").write_bytes(b"not a zip")
        import_keras(str(tmp_path / "junk.keras"))
    with pytest.raises(CnnCalcError, match="not JSON"):
        parse_config("{")
    with pytest.raises(CnnCalcError, match="nests deeper"):
        parse_config("[" * 5000 + "]" * 5000)
    with pytest.raises(CnnCalcError, match="Keras model config"):
        parse_config(json.dumps({"class_name": "Conv2D"}))


def test_dialect_errors_are_one_clear_line():
    with pytest.raises(CnnCalcError, match="unknown argument 'out_channels'.*takes filters"):
        api.analyze(api.loads("framework: keras\ninput: [8, 8, 3]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n"))
    with pytest.raises(CnnCalcError, match="channel count"):
        api.loads("framework: keras\ninput: [H, W, C]\nlayers:\n  - Flatten\n")
    with pytest.raises(CnnCalcError, match="exceeds the input"):
        api.analyze(api.loads("framework: keras\ninput: [4, 4, 3]\nlayers:\n  - Conv2D: {filters: 2, kernel_size: 5}\n"))


def test_digits_is_the_keras_mnist_convnet():
    """keras.io's "Simple MNIST convnet" summary: Total params: 34,826; output (None, 10)."""
    report = api.analyze(api.load(EXAMPLES / "digits.yaml"))
    assert report.totals.keras_params == 34_826
    assert [row.output_shape for row in report.layers][:4] == [(1, 26, 26, 32), (1, 13, 13, 32), (1, 11, 11, 64),
                                                               (1, 5, 5, 64)]
