"""The command line on generated files: valid ones sum up, broken ones fail cleanly.

(a) Valid architectures (tests/spec/strategies.py): ``cnncalc summarize``
    exits 0 and every total is the sum of its column.
(b) Mutated files: exit 0 or 2, never a traceback; an error is one line
    starting with "error:"; no run hangs (tests/conftest.py HANG_LIMIT_S).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.cli import main

from .conftest import HANG_LIMIT_S
from .spec.strategies import Arch, architectures, mutated_files

SUMMED = ("params", "trainable_params", "buffers", "macs", "flops", "activation_bytes")
TIME_LIMIT = HANG_LIMIT_S


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="cnncalc-fuzz-") as name:
        yield Path(name)


@pytest.fixture(scope="module", autouse=True)
def _warm_imports():
    """Import what a first run would import lazily, so timings measure the work only."""
    CliRunner().invoke(main, ["summarize", "-", "--format", "json"], input="input: [3, H, W]\nlayers: [ReLU]\n")
    CliRunner().invoke(main, ["summarize", "-"], input="input: [3, 8, 8]\nlayers: [ReLU]\n")


def _invoke(args, **kwargs):
    start = time.perf_counter()
    result = CliRunner().invoke(main, args, **kwargs)
    return result, time.perf_counter() - start


def _assert_clean(result, elapsed):
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert lines and lines[0].startswith("error: "), result.stderr
        assert sum(line.startswith("error:") for line in lines) == 1
        assert all(line.startswith((" ", "\t")) for line in lines[1:]), result.stderr
        assert "Traceback" not in result.output


@given(arch=architectures())
def test_valid_files_summarize_and_rows_sum_to_totals(arch: Arch, workdir):
    path = workdir / "valid.yaml"
    path.write_text(arch.text, encoding="utf-8")
    result, elapsed = _invoke(["summarize", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert elapsed < TIME_LIMIT
    report = json.loads(result.stdout)
    layers, totals = report["layers"], report["totals"]
    for key in SUMMED:
        assert sum(layer[key] for layer in layers) == totals[key], key
    assert totals["non_trainable_params"] == totals["params"] - totals["trainable_params"]
    dtype_bytes = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}[arch.dtype]
    assert totals["param_bytes"] == totals["params"] * dtype_bytes
    assert max(layer["activation_bytes"] for layer in layers) <= totals["peak_activation_bytes"]
    assert totals["peak_activation_bytes"] <= totals["activation_bytes"] + \
        dtype_bytes * arch.batch * arch.input[0] * arch.input[1] * arch.input[2]
    assert [tuple(layer["output_shape"]) for layer in layers] == arch.shapes()
    assert tuple(report["output_shape"]) == arch.output_shape


@settings(max_examples=25)
@given(arch=architectures(max_layers=5), fmt=st.sampled_from(["table", "markdown", "csv"]),
       depth=st.sampled_from([None, 0, 1]))
def test_valid_files_render_in_every_format(arch: Arch, fmt, depth):
    args = ["summarize", "-", "--format", fmt] + ([] if depth is None else ["--depth", str(depth)])
    result, elapsed = _invoke(args, input=arch.text)
    assert result.exit_code == 0, result.output
    assert elapsed < TIME_LIMIT and result.stdout


@settings(max_examples=150)
@given(data=mutated_files())
def test_broken_files_fail_cleanly(data: bytes, workdir):
    path = workdir / "broken.yaml"
    path.write_bytes(data)
    result, elapsed = _invoke(["summarize", str(path)])
    _assert_clean(result, elapsed)


@settings(max_examples=40)
@given(data=mutated_files())
def test_broken_text_on_stdin_fails_cleanly(data: bytes):
    text = data.decode("utf-8", "replace")          # stdin of CliRunner is UTF-8 text
    result, elapsed = _invoke(["summarize", "-", "--format", "json"], input=text)
    _assert_clean(result, elapsed)
    if result.exit_code == 0:
        json.loads(result.stdout)


@settings(max_examples=30)
@given(data=st.binary(max_size=300))
def test_random_bytes_fail_cleanly(data: bytes, workdir):
    path = workdir / "bytes.yaml"
    path.write_bytes(data)
    result, elapsed = _invoke(["summarize", str(path)])
    _assert_clean(result, elapsed)
    assert result.exit_code == 2


def test_stdin_bytes_that_are_not_utf8():
    result = CliRunner().invoke(main, ["summarize", "-"], input=b"input: [3, 8, 8]\nlayers: [ReLU]\n# \xff\n")
    assert result.exit_code == 2 and result.stderr.startswith("error: <stdin>:3:3: ")
