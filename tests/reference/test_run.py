"""`cnncalc run`: the numpy forward pass agrees with the analytic shapes."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from click.testing import CliRunner  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.layers.base import Outcome  # noqa: E402
from cnncalc.reference.run import run  # noqa: E402

from ..conftest import EXAMPLES  # noqa: E402

# small inputs keep the suite fast; each network's own geometry still runs end to end
SMALL = {"alexnet": (3, 64, 64), "vgg16": (3, 32, 32), "resnet18": (3, 32, 32), "resnet50": (3, 32, 32),
         "mobilenet_v2": (3, 32, 32), "unet": (3, 32, 32), "fcn": (3, 32, 48),
         # the zoo (tests/test_zoo.py): each at about the smallest size it takes
         "densenet121": (3, 33, 33), "googlenet": (3, 33, 33), "inception_v3": (3, 75, 75),
         "resnet101": (3, 33, 33), "resnext50_32x4d": (3, 33, 33), "squeezenet1_0": (3, 33, 33),
         "squeezenet1_1": (3, 33, 33), "vgg19_bn": (3, 32, 32), "wide_resnet50_2": (3, 33, 33),
         "deeplabv3_resnet50": (3, 33, 33),
         "fcn_resnet50": (3, 33, 33),
         "convnext_tiny": (3, 33, 33),
         "regnet_y_400mf": (3, 33, 33),
         "efficientnet_b0": (3, 33, 33),
         "mnasnet1_0": (3, 33, 33),
         "shufflenet_v2_x1_0": (3, 33, 33),
         "mobilenet_v3_large": (3, 33, 33)}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_runs(path):
    network = cnncalc.load(path)
    result = run(network, input=SMALL.get(path.stem))
    assert result.ok, [layer for layer in result.layers if layer.status != "ok"]
    assert not result.skipped
    assert result.output.shape == cnncalc.analyze(network, input=SMALL.get(path.stem)).output_shape
    assert np.isfinite(result.output).all()


def test_cli_run_and_exit_codes():
    result = CliRunner().invoke(main, ["run", str(EXAMPLES / "digits.yaml")])
    assert result.exit_code == 0, result.output
    assert "8 of 8 layers ran and matched" in result.output
    symbolic = CliRunner().invoke(main, ["run", str(EXAMPLES / "fcn.yaml")])
    assert symbolic.exit_code == 2 and "--set" in symbolic.output


def test_a_file_with_nothing_to_run_is_refused():
    """A Keras file: no layer type has a numpy reference, so a run would check nothing; exit 2, saying so."""
    keras = EXAMPLES / "keras" / "digits.yaml"
    from cnncalc.errors import ArgumentError
    from cnncalc.layers.registry import all_types
    assert all(not t.has_reference() for t in all_types("keras").values())
    result = CliRunner().invoke(main, ["run", str(keras)])
    assert result.exit_code == 2, result.output
    assert "digits.yaml:6:5: cnncalc run has nothing to run: none of the 7 layers" in result.output
    assert "(Conv2D, MaxPooling2D, Flatten, Dropout, Dense)" in result.output
    assert "cnncalc verify FILE" in result.output and "Traceback" not in result.output
    assert "ran and matched" not in result.output            # refused before any table that could look like success
    with pytest.raises(ArgumentError, match="nothing to run"):
        run(cnncalc.load(keras))


def test_some_layers_skipped_is_a_note_not_a_failure(monkeypatch):
    """A type without a reference among ones with: skipped with a note, the rest checked, exit 0."""
    from cnncalc.layers.registry import lookup
    flatten = lookup("Flatten")
    monkeypatch.setattr(type(flatten), "has_reference", lambda self: False)
    result = CliRunner().invoke(main, ["run", str(EXAMPLES / "digits.yaml")])
    assert result.exit_code == 0, result.output
    assert "7 of 8 layers ran and matched; 1 skipped (no numpy reference)" in result.output
    assert "skipped: no numpy reference for this type" in result.output


def test_a_wrong_shape_rule_is_reported(monkeypatch):
    conv2d = cnncalc.layers.lookup("Conv2d")
    original = type(conv2d).evaluate

    def off_by_one(self, cfg, inputs, ctx):
        outcome = original(self, cfg, inputs, ctx)
        n, c, h, w = outcome.output_shape
        return Outcome((n, c, h + 1, w), outcome.param_shapes, outcome.buffer_shapes, outcome.macs,
                       outcome.flops, outcome.field)

    monkeypatch.setattr(type(conv2d), "evaluate", off_by_one)
    text = "input: [1, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 2, kernel_size: 3}\n"
    result = CliRunner().invoke(main, ["run", "-"], input=text)
    assert result.exit_code == 1
    assert "conv2d_0 (Conv2d): analytic [1, 2, 7, 6], numpy [1, 2, 6, 6]" in result.output


def test_memory_is_bounded():
    with pytest.raises(cnncalc.ArgumentError, match="GiB"):
        run(EXAMPLES / "vgg16.yaml", input=(3, 224, 224), batch=64, max_bytes=2**30)


WEIGHTED = """
input: [4, 6, 6]
layers:
  - Conv2d: {out_channels: 6, kernel_size: 3, padding: 1, groups: 2}
  - BatchNorm2d
  - PReLU: {num_parameters: 6}
  - ConvTranspose2d: {out_channels: 4, kernel_size: 2, stride: 2}
  - GroupNorm: {num_groups: 2}
  - LayerNorm: {normalized_shape: [12]}
  - Flatten
  - Linear: {out_features: 5}
"""


def test_references_use_exactly_the_counted_weights():
    """Each reference needs every weight the engine counts, and uses all of it.

    Without a weight it cannot run; changing any one weight element changes its output.
    So the weight elements the numpy reference consumes are the engine's parameter count.
    """
    from cnncalc.engine import evaluate, plan
    from cnncalc.reference.run import make_weights
    the_plan = plan(cnncalc.loads(WEIGHTED))
    report = evaluate(the_plan, dtype="float64")
    rng = np.random.default_rng(1)
    x = rng.standard_normal(report.input_shape)
    checked = 0
    outputs = []
    for planned, row in zip(the_plan.layers, report.layers):
        inputs = [x if slot == -1 else outputs[slot] for slot in planned.input_slots]
        weights = make_weights({**row.param_shapes, **row.buffer_shapes}, rng, np.float64)
        reference = planned.layer_type.reference
        base = reference(planned.cfg, weights, inputs)
        outputs.append(base)
        for name, shape in row.param_shapes.items():
            with pytest.raises((KeyError, ValueError, TypeError)):
                reference(planned.cfg, {k: v for k, v in weights.items() if k != name}, inputs)
            for index in np.ndindex(*shape):
                nudged = {**weights, name: weights[name].copy()}
                nudged[name][index] += 1.0
                assert not np.allclose(reference(planned.cfg, nudged, inputs), base), (row.name, name, index)
                checked += 1
    assert checked == report.totals.params > 0


def test_large_weights_have_the_drawn_variance_and_the_seeds_values():
    """Tensors over FRESH_LIMIT come from the pool: right shape and dtype, variance 1/fan_in, reproducible."""
    from cnncalc.reference.run import FRESH_LIMIT, WeightPool, make_weights
    shapes = {"weight": (512, 512, 3, 3), "bias": (512,)}          # 2,359,296 elements > FRESH_LIMIT
    assert 512 * 512 * 9 > FRESH_LIMIT

    def draw(seed):
        rng = np.random.default_rng(seed)
        return make_weights(shapes, rng, np.float32, WeightPool(rng))

    first, again, other = draw(3), draw(3), draw(4)
    weight = first["weight"]
    assert weight.shape == (512, 512, 3, 3) and weight.dtype == np.float32 and first["bias"].shape == (512,)
    fan_in = 512 * 3 * 3
    assert abs(float(weight.astype(np.float64).var()) * fan_in - 1) < 0.01    # 2.4 M normal draws: ~0.1% noise
    assert abs(float(weight.astype(np.float64).mean())) * fan_in ** 0.5 < 0.01
    assert np.array_equal(weight, again["weight"]) and not np.array_equal(weight, other["weight"])


def test_pooled_weights_are_read_only_views_of_one_scaled_pool_per_fan_in():
    """Two tensors of one fan-in share one scaled pool (no copy each); another fan-in gets its own scale."""
    from cnncalc.reference.run import WeightPool, make_weights
    rng = np.random.default_rng(0)
    pool = WeightPool(rng)
    a = make_weights({"weight": (256, 64, 3, 3)}, rng, np.float32, pool)["weight"]     # fan-in 576
    b = make_weights({"weight": (300, 64, 3, 3)}, rng, np.float32, pool)["weight"]     # fan-in 576, longer
    c = make_weights({"weight": (256, 1024)}, rng, np.float32, pool)["weight"]          # fan-in 1024
    assert not (a.flags.writeable or b.flags.writeable or c.flags.writeable)
    assert np.shares_memory(b, pool.scaled_pools[(np.dtype(np.float32), 576)])
    assert np.shares_memory(c, pool.scaled_pools[(np.dtype(np.float32), 1024)])
    assert sorted(fan_in for _, fan_in in pool.scaled_pools) == [576, 1024]
    for weight, fan_in in ((a, 576), (b, 576), (c, 1024)):
        assert abs(float(weight.astype(np.float64).var()) * fan_in - 1) < 0.02
    for weight in (a, b, c):      # cut at multiples of 64 bytes from the start of the pool it views (BLAS reads faster)
        assert weight.base is not None and (weight.ctypes.data - weight.base.ctypes.data) % 64 == 0
    with pytest.raises(ValueError):
        a[0, 0, 0, 0] = 1.0                                  # a reference that wrote its weights would fail here
