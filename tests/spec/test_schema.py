"""The JSON Schema (cnncalc/spec/schema.py): valid, complete, every example passes, never stricter than the loader."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine.plan import plan
from cnncalc.errors import CnnCalcError
from cnncalc.layers import all_types
from cnncalc.spec.schema import schema

jsonschema = pytest.importorskip("jsonschema")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("keras/*.yaml")])   # both dialects


@functools.lru_cache(maxsize=1)
def _validator():
    built = schema()
    jsonschema.Draft202012Validator.check_schema(built)
    return jsonschema.Draft202012Validator(built)


@pytest.fixture(scope="module")
def validator():
    return _validator()


def test_every_type_and_argument_is_described():
    layer = schema()["$defs"]["layer"]["anyOf"][1]["properties"]
    assert set(layer) == set(all_types())
    conv = layer["Conv2d"]["anyOf"][0]
    assert conv["required"] == ["out_channels", "kernel_size"]
    assert conv["properties"]["stride"]["default"] == 1
    assert {"enum": ["zeros", "reflect", "replicate", "circular"]} in conv["properties"]["padding_mode"]["anyOf"]
    assert {"from", "repeat", "name", "frozen"} <= set(conv["properties"])
    assert "index" not in layer["chunk"]["anyOf"][0]["properties"]      # set by the loader


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(EXAMPLES)) for p in FILES])
def test_every_example_validates(path, validator):
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors, errors[:3]


def test_the_command_prints_it():
    from cnncalc.cli_schema import register

    group = click.Group()
    register(group)
    result = CliRunner().invoke(group, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(schema()))


def test_wrong_files_are_rejected(validator):
    base = yaml.safe_load((EXAMPLES / "lenet5.yaml").read_text())
    for bad in ({**base, "layerz": []}, {k: v for k, v in base.items() if k != "input"},
                {**base, "layers": [{"Conv2d": {"out_channels": 4, "kernel_size": 3, "strid": 2}}]},
                {**base, "layers": [{"Conv2d": {"kernel_size": 3}}]},
                {**base, "layers": [{"ReLU": {"inplace": "yes"}}]}):
        assert list(validator.iter_errors(bad))
        with pytest.raises(CnnCalcError):
            plan(cnncalc.loads(yaml.safe_dump(bad, sort_keys=False)))


# -- never stricter than the loader: mutate examples at random -------------------------------

_SMALL = [EXAMPLES / name for name in ("lenet5.yaml", "digits.yaml", "unet.yaml", "resnet18.yaml")]
_VALUES = st.one_of(st.integers(-3, 300), st.floats(-2, 2, allow_nan=False), st.booleans(), st.none(),
                    st.sampled_from(["same", "valid", "relu", "$c", "input", "x", "Conv2d", "-1", "bilinear"]),
                    st.lists(st.integers(-1, 5), max_size=4), st.just({}))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutated(data, path, action, value):
    import copy
    out = copy.deepcopy(data)
    if not path:
        return out
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent[last], dict):
        parent[last]["extra_" + str(value)[:5].replace("$", "")] = value
    else:
        parent[last] = value
    return out


@settings(max_examples=int(__import__("os").environ.get("SCHEMA_EXAMPLES", "120")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_the_schema_rejects_the_loader_rejects(data):
    validator = _validator()
    source = yaml.safe_load(data.draw(st.sampled_from(_SMALL)).read_text())
    paths = list(_paths(source))
    path = data.draw(st.sampled_from(paths))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    mutated = _mutated(source, path, action, data.draw(_VALUES))
    if not list(validator.iter_errors(mutated)):
        return
    text = yaml.safe_dump(mutated, sort_keys=False)
    with pytest.raises(CnnCalcError):
        plan(cnncalc.loads(text))


def test_the_keras_dialect_has_its_own_layer_names(validator):
    """framework: keras switches the layer vocabulary: Conv2D with filters is valid there, torch's
    Conv2d is not (and the other way round without the key); the loader agrees."""
    keras = {"framework": "keras", "input": [28, 28, 1], "layers": [{"Conv2D": {"filters": 8, "kernel_size": 3}}]}
    # torch's arguments on Keras's Conv2D, Keras's on torch's Conv2d (an unknown type name alone could be
    # a block's, so the schema checks the arguments of the names it knows)
    torch_args_in_keras = {**keras, "layers": [{"Conv2D": {"out_channels": 8, "kernel_size": 3}}]}
    keras_args_in_torch = {"input": [1, 28, 28], "layers": [{"Conv2d": {"filters": 8, "kernel_size": 3}}]}
    assert not list(validator.iter_errors(keras))
    cnncalc.analyze(cnncalc.loads(yaml.safe_dump(keras, sort_keys=False)))
    for bad in (torch_args_in_keras, keras_args_in_torch):
        assert list(validator.iter_errors(bad))
        with pytest.raises(CnnCalcError):
            plan(cnncalc.loads(yaml.safe_dump(bad, sort_keys=False)))
