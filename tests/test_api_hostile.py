"""The Python API refuses bad keyword arguments with one ArgumentError, never a raw exception.

``analyze``, ``explain``, ``check``, ``load`` and ``loads`` check every
argument before any work (cnncalc.overrides, shared with the command line's
flags); the lazily imported functions (``cnncalc.explain`` and friends) stay
functions however often they are called and whatever imports their modules.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import ArgumentError, CnnCalcError, SpecError
from cnncalc.overrides import MAX_BATCH, MAX_DIM

from .conftest import EXAMPLES, HANG_LIMIT_S, ROOT

CONCRETE = "input: [3, 16, 16]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n  - ReLU\n"
SYMBOLIC = "input: [3, H, W]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n  - ReLU\n"


@pytest.fixture(scope="module")
def concrete():
    return cnncalc.loads(CONCRETE)


@pytest.fixture(scope="module")
def symbolic():
    return cnncalc.loads(SYMBOLIC)


def test_limits_match_the_architecture_files():
    from cnncalc.spec import expand
    assert (MAX_DIM, MAX_BATCH) == (expand.MAX_DIM, expand.MAX_BATCH)


# -- each finding, one by one ----------------------------------------------------------

@pytest.mark.parametrize("kwargs, names", [
    ({"dtype": ["f"]}, "dtype="),
    ({"dtype": {"a": 1}}, "dtype="),
    ({"dtype": 4}, "dtype="),
    ({"dtype": "float33"}, "dtype="),
    ({"batch": [[1] * 1000] * 1000}, "batch="),
    ({"batch": True}, "batch="),
    ({"batch": 2.0}, "batch="),
    ({"batch": "4"}, "batch="),
    ({"batch": 0}, "batch="),
    ({"batch": MAX_BATCH + 1}, "batch="),
    ({"batch": 10**5000}, "batch="),
    ({"input": ["3", 16, 16]}, "input="),
    ({"input": [3, "16", 16]}, "input="),
    ({"input": [3, True, 16]}, "input="),
    ({"input": [3, 16.0, 16]}, "input="),
    ({"input": [3, 0, 16]}, "input="),
    ({"input": [3, MAX_DIM + 1, 16]}, "input="),
    ({"input": [3, 10**5000, 16]}, "input="),
    ({"input": [3, "H W", 16]}, "input="),
    ({"input": [3, "H²", 16]}, "input="),
    ({"input": [3, [16], 16]}, "input="),
    ({"input": [3]}, "input="),
    ({"input": [3, 1, 1, 1, 1]}, "input="),
    ({"input": [[3] * 10] * 10**5}, "input="),
    ({"input": "3,16,16"}, "input="),
    ({"input": {"C": 3}}, "input="),
    ({"input": ["C", 16, 16]}, "input="),
    ({"sizes": {"H": "5"}}, "sizes="),
    ({"sizes": {"H": 5.0}}, "sizes="),
    ({"sizes": {"H": True}}, "sizes="),
    ({"sizes": {"H": 10**5000}}, "sizes="),
    ({"sizes": {3: 5}}, "sizes="),
    ({"sizes": {"H-1": 5}}, "sizes="),
    ({"sizes": [("H", 5)]}, "sizes="),
    ({"sizes": {f"S{i}": 1 for i in range(10**5)}}, "sizes="),
])
def test_bad_keywords_are_argument_errors(concrete, kwargs, names):
    for call in (lambda: cnncalc.analyze(concrete, **kwargs),
                 lambda: cnncalc.explain(concrete, "conv2d_0", **kwargs),
                 lambda: cnncalc.check(concrete, **kwargs)):
        started = time.monotonic()
        with pytest.raises(ArgumentError) as info:
            call()
        assert time.monotonic() - started < HANG_LIMIT_S
        message = str(info.value)
        assert names in message and "\n" not in message and len(message) < 1000


def test_a_digit_string_gets_a_hint(concrete):
    with pytest.raises(ArgumentError) as info:
        cnncalc.analyze(concrete, input=["3", 16, 16])
    assert "not the string '3'" in str(info.value)


def test_good_keywords_agree_with_the_file(concrete, symbolic):
    """Values the checks accept give what the same values written in the file give."""
    numpy = pytest.importorskip("numpy")
    from_file = cnncalc.analyze(cnncalc.loads(CONCRETE.replace("[3, 16, 16]", "[3, 12, 10]") + "batch: 2\n"
                                              "dtype: float16\n"))
    for dims in ([3, 12, 10], (3, 12, 10), [numpy.int64(3), numpy.int32(12), 10]):
        report = cnncalc.analyze(concrete, input=dims, batch=2, dtype="float16")
        assert report.totals.to_dict() == from_file.totals.to_dict()
    sized = cnncalc.analyze(symbolic, sizes={"H": 12, "W": numpy.int64(10)}, batch=2, dtype="float16")
    assert sized.totals.to_dict() == from_file.totals.to_dict()


def test_explain_layer_must_be_a_name(concrete):
    for layer in (None, 3, ["conv2d_0"], "x" * 100_000):
        with pytest.raises(ArgumentError):
            cnncalc.explain(concrete, layer)


@pytest.mark.parametrize("value", [None, 3, 2.5, ["a.yaml"], b"a.yaml", "a\0b.yaml"])
def test_load_refuses_what_is_not_a_path(value):
    with pytest.raises(ArgumentError):
        cnncalc.load(value)


@pytest.mark.parametrize("text, filename", [(None, "<string>"), (3, "<string>"), (CONCRETE, 3),
                                            (CONCRETE, None)])
def test_loads_refuses_what_is_not_text(text, filename):
    with pytest.raises(ArgumentError):
        cnncalc.loads(text, filename)


def test_loads_takes_bytes():
    assert cnncalc.loads(CONCRETE.encode()).input == (3, 16, 16)


def test_check_arguments(concrete):
    for kwargs in ({"params": [1]}, {"params": 10**5000}, {"params": "5" * 5000}, {"macs": "²"},
                   {"max_growth": "1e-999999999", "baseline": {}}, {"max_growth": 10**5000, "baseline": {}},
                   {"strict": "yes"}, {"baseline": [[[]]]}, {"baseline": 3}, {"baseline": "a\0b"}):
        started = time.monotonic()
        with pytest.raises(ArgumentError):
            cnncalc.check(concrete, **kwargs)
        assert time.monotonic() - started < HANG_LIMIT_S


class _Endless(io.RawIOBase):
    """A standard input that never ends (``yes | cnncalc ...``); counts what was asked of it."""

    def __init__(self) -> None:
        self.asked = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size >= 0, "an unbounded read of an endless stream"
        self.asked += size
        return b"#" * size


def test_load_stdin_is_bounded(monkeypatch):
    endless = _Endless()

    class Stdin:
        buffer = endless

    monkeypatch.setattr(sys, "stdin", Stdin())
    with pytest.raises(SpecError) as info:
        cnncalc.load("-")
    assert "standard input" in str(info.value)
    assert endless.asked <= 4 * 2**20 + 1


def test_load_stdin_reads_a_network(monkeypatch):
    class Stdin:
        buffer = io.BytesIO(CONCRETE.encode())

    monkeypatch.setattr(sys, "stdin", Stdin())
    assert cnncalc.load("-").input == (3, 16, 16)


# -- the lazily imported functions stay functions -----------------------------------------

def test_explain_and_check_called_twice():
    network = EXAMPLES / "lenet5.yaml"
    first = cnncalc.explain(network, "c1")
    second = cnncalc.explain(network, "c1")
    assert first == second
    assert cnncalc.check(network).ok == cnncalc.check(network).ok


LAZY_SCRIPT = textwrap.dedent("""
    import importlib, sys
    import cnncalc
    first = {name: getattr(cnncalc, name) for name in ("check", "explain", "to_torch", "verify")}
    for module in ("cnncalc.explain", "cnncalc.budget", "cnncalc.torch_bridge", "cnncalc.torch_bridge.verify",
                   "cnncalc.cli", "cnncalc.cli_rf", "cnncalc.cli_check", "cnncalc.cli_verify"):
        importlib.import_module(module)
    import cnncalc.explain
    for name, function in first.items():
        assert getattr(cnncalc, name) is function and callable(function), (name, getattr(cnncalc, name))
    from cnncalc import explain
    assert explain is first["explain"]
    net = sys.argv[1]
    assert cnncalc.explain(net, "c1") == cnncalc.explain(net, "c1")
    print("ok")
""")

MODULE_FIRST_SCRIPT = textwrap.dedent("""
    import sys
    import cnncalc.explain             # the submodule before the function was ever asked for
    from cnncalc.cli import main       # imports the module again, by its other users
    import cnncalc
    assert callable(cnncalc.explain), cnncalc.explain
    assert cnncalc.explain(sys.argv[1], "c1") == cnncalc.explain(sys.argv[1], "c1")
    assert "torch" not in sys.modules
    print("ok")
""")


@pytest.mark.parametrize("script", [LAZY_SCRIPT, MODULE_FIRST_SCRIPT], ids=["function-first", "module-first"])
def test_lazy_functions_are_not_clobbered_by_their_modules(script):
    result = subprocess.run([sys.executable, "-c", script, str(EXAMPLES / "lenet5.yaml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- fuzzing the keywords ---------------------------------------------------------------------

_HUGE_INTS = st.sampled_from([4400, 5000]).map(lambda digits: 10**digits)   # too long for str()
_SCALARS = (st.none() | st.booleans() | st.integers(-5, 40) | st.integers() | _HUGE_INTS
            | st.floats(allow_nan=True) | st.text(max_size=8)
            | st.text(alphabet="0123456789²³٣５", min_size=1, max_size=6)
            | st.sampled_from(["H", "W", "float32", "bfloat16", "3", "16", "H ", "x" * 300]))
ANYTHING = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner, inner)
                        | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=3),
                        max_leaves=12)
KEYWORDS = st.fixed_dictionaries({}, optional={"input": ANYTHING, "sizes": ANYTHING, "batch": ANYTHING,
                                               "dtype": ANYTHING})


def _survives(call) -> object:
    started = time.monotonic()
    try:
        outcome = call()
    except CnnCalcError as err:
        assert "\n" not in err.headline()
        outcome = err
    assert time.monotonic() - started < HANG_LIMIT_S
    return outcome


@given(KEYWORDS)
def test_fuzz_analyze_keywords(concrete, kwargs):
    outcome = _survives(lambda: cnncalc.analyze(concrete, **kwargs))
    if not isinstance(outcome, CnnCalcError):
        assert outcome.batch == kwargs.get("batch") or kwargs.get("batch") is None


@given(KEYWORDS)
def test_fuzz_explain_keywords(concrete, kwargs):
    _survives(lambda: cnncalc.explain(concrete, "conv2d_0", **kwargs))


LIMIT_KEYWORDS = st.fixed_dictionaries({}, optional={
    key: ANYTHING for key in ("params", "trainable_params", "macs", "flops", "param_memory", "activation_memory",
                              "min_rf", "max_rf", "max_growth", "strict")})


@given(LIMIT_KEYWORDS, KEYWORDS)
def test_fuzz_check_keywords(concrete, limits, kwargs):
    _survives(lambda: cnncalc.check(concrete, **limits, **kwargs))
