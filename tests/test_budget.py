"""cnncalc.check / cnncalc.budget: the budget section, limits, the baseline guard, the pytest helper.

Expected figures are published or plain arithmetic, never pasted output:
- examples/resnet18.yaml: 11,689,512 params (torchvision's model table).
- examples/digits.yaml: conv1 1·3·3·3+3 = 30, conv2 3·3·3·3+3 = 84, dense
  3·7·7·10 = 1,470 -> 1,584 params; MACs 28·28·3·9 + 14·14·3·27 + 1,470 =
  21,168 + 15,876 + 1,470 = 38,514; its output is global, so its receptive
  field is the 28×28 input; peak activations: conv1's and relu's outputs
  alive together, 2 · 3·28·28 · 4 B = 18,816 B.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.budget import (
    BASELINE_KEYS, Check, CheckResult, expand_files, load_baselines, parse_growth, read_budget,
)
from cnncalc.errors import ArgumentError, BudgetExceeded, SpecError

RESNET18_PARAMS = 11_689_512
DIGITS_PARAMS = 30 + 84 + 3 * 7 * 7 * 10
DIGITS_MACS = 28 * 28 * 3 * 9 + 14 * 14 * 3 * 27 + 3 * 7 * 7 * 10
DIGITS_PEAK = 2 * 3 * 28 * 28 * 4

# conv (3, 5) -> field 3×5; 2x2 pool -> 4×6, jump 2; conv (3, 5) -> 4+2·2 × 6+4·2 = 8×14 (not global)
RF_NET = """\
name: rfnet
input: [1, 32, 24]
layers:
  - Conv2d: {out_channels: 2, kernel_size: [3, 5]}
  - MaxPool2d: {kernel_size: 2}
  - Conv2d: {out_channels: 2, kernel_size: [3, 5]}
"""

# conv 3->8, 3x3, pad 1 on 32x32: params 8·27+8 = 224, MACs 32·32·8·27 = 221,184;
# linear 8->10: params 90, MACs 80. Totals: 314 params, 221,264 MACs.
TINY = """\
name: tiny
input: [3, 32, 32]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - ReLU
  - AdaptiveAvgPool2d: {output_size: 1}
  - Flatten
  - Linear: {out_features: 10}
"""
TINY_PARAMS = 8 * 27 + 8 + 8 * 10 + 10
TINY_MACS = 32 * 32 * 8 * 27 + 80


def with_budget(body: str, net: str = TINY) -> str:
    return net + "budget:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def write(tmp_path, text: str, name: str = "arch.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# -- each limit --------------------------------------------------------------------

def test_resnet18_params_published_figure(example):
    assert not cnncalc.check(example("resnet18"), params="11M").ok
    result = cnncalc.check(example("resnet18"), params="12M")
    assert result.ok
    (check,) = result.checks
    assert (check.name, check.limit, check.actual, check.ok) == ("params", 12_000_000, RESNET18_PARAMS, True)
    assert check.margin == pytest.approx((12_000_000 - RESNET18_PARAMS) / 12_000_000 * 100)
    assert check.loc is None and check.source == "params="


def test_exact_boundaries_digits(example):
    path = example("digits")
    assert cnncalc.check(path, params=DIGITS_PARAMS).ok
    assert not cnncalc.check(path, params=DIGITS_PARAMS - 1).ok
    assert cnncalc.check(path, params="1.584K").ok
    assert cnncalc.check(path, trainable_params=DIGITS_PARAMS).ok
    assert not cnncalc.check(path, trainable_params=DIGITS_PARAMS - 1).ok
    assert cnncalc.check(path, macs=DIGITS_MACS).ok
    assert not cnncalc.check(path, macs=DIGITS_MACS - 1).ok
    # every FLOP count is at least 2 x MACs
    assert not cnncalc.check(path, flops=2 * DIGITS_MACS - 1).ok
    assert cnncalc.check(path, param_memory=DIGITS_PARAMS * 4).ok
    assert not cnncalc.check(path, param_memory=DIGITS_PARAMS * 4 - 1).ok
    assert cnncalc.check(path, activation_memory=DIGITS_PEAK).ok
    assert not cnncalc.check(path, activation_memory=DIGITS_PEAK - 1).ok


def test_memory_units(example):
    # ResNet-18 float32 weights: 11,689,512 · 4 B = 46,758,048 B = 44.59 MiB
    path = example("resnet18")
    assert cnncalc.check(path, param_memory="48MiB").ok
    assert cnncalc.check(path, param_memory="46.758048MB").ok
    assert not cnncalc.check(path, param_memory="44MiB").ok
    assert cnncalc.check(path, param_memory="24MiB", dtype="float16").ok       # 2 B a parameter


def test_receptive_field_every_axis(tmp_path):
    path = write(tmp_path, RF_NET)
    result = cnncalc.check(path, min_rf=8, max_rf=14)
    assert result.ok
    low, high = result.checks
    assert (low.name, low.kind, low.actual, low.axes) == ("receptive_field.min", "min", 8, (8, 14))
    assert (high.name, high.kind, high.actual, high.axes) == ("receptive_field.max", "max", 14, (8, 14))
    assert not cnncalc.check(path, min_rf=9).ok          # the 8 axis is too small
    assert not cnncalc.check(path, max_rf=13).ok         # the 14 axis is too large
    assert cnncalc.check(path, min_rf=9).checks[0].margin == pytest.approx((8 - 9) / 9 * 100)


def test_global_field_is_the_input_extent(example):
    result = cnncalc.check(example("digits"), min_rf=28, max_rf=28)
    assert result.ok and result.checks[0].axes == (28, 28)
    assert not cnncalc.check(example("digits"), min_rf=29).ok
    # a larger input makes the global field larger
    assert cnncalc.check(example("digits"), input=[1, 56, 56], min_rf=56).ok


def test_analysis_overrides(example):
    path = example("digits")
    # 56x56 input: the dense layer sees 3·14·14 = 588 features -> 5,880 params
    assert cnncalc.check(path, input=[1, 56, 56], params=30 + 84 + 5_880).ok
    assert not cnncalc.check(path, input=[1, 56, 56], params=30 + 84 + 5_879).ok
    assert cnncalc.check(path, batch=3, macs=3 * DIGITS_MACS).ok
    assert not cnncalc.check(path, batch=3, macs=3 * DIGITS_MACS - 1).ok


def test_zero_limit_margin(example):
    check = cnncalc.check(example("digits"), params=0).checks[0]
    assert not check.ok and check.margin is None


# -- the budget section ----------------------------------------------------------------

def test_budget_section_all_keys(tmp_path):
    text = with_budget(f"""\
        params: {TINY_PARAMS}
        trainable_params: "1K"
        macs: 200K
        flops: 1G
        param_memory: 2KiB
        activation_memory: 1MB
        receptive_field: {{min: 30, max: 64}}
        """)
    path = write(tmp_path, text)
    result = cnncalc.check(path)
    by_name = {c.name: c for c in result.checks}
    assert list(by_name) == ["params", "trainable_params", "macs", "flops", "param_memory", "activation_memory",
                             "receptive_field.min", "receptive_field.max"]
    assert by_name["params"].limit == TINY_PARAMS and by_name["params"].ok
    assert by_name["trainable_params"].limit == 1_000
    assert by_name["macs"].limit == 200_000 and by_name["macs"].actual == TINY_MACS and not by_name["macs"].ok
    assert by_name["param_memory"].limit == 2_048 and by_name["param_memory"].actual == TINY_PARAMS * 4
    assert by_name["activation_memory"].limit == 1_000_000
    assert by_name["receptive_field.min"].actual == 32          # global: the input extent
    assert not result.ok and [c.name for c in result.failed] == ["macs"]
    assert by_name["macs"].loc.line == line_of(text, "macs:")
    assert by_name["macs"].loc.col == len("  macs: ") + 1
    assert by_name["receptive_field.max"].loc.line == line_of(text, "receptive_field:")
    assert by_name["macs"].loc.file == str(path)


def test_arguments_override_the_file(tmp_path):
    path = write(tmp_path, with_budget("params: 100\nmacs: 1G\n"))
    assert not cnncalc.check(path).ok
    result = cnncalc.check(path, params="1K")
    assert result.ok
    params, macs = result.checks
    assert params.limit == 1_000 and params.loc is None and params.source == "params="
    assert macs.limit == 10**9 and macs.loc is not None and macs.source == "budget"


def test_rf_override_each_bound(tmp_path):
    path = write(tmp_path, with_budget("receptive_field: {min: 8, max: 10}\n", RF_NET))
    assert not cnncalc.check(path).ok
    result = cnncalc.check(path, max_rf=14)
    assert result.ok and [c.source for c in result.checks] == ["budget", "max_rf="]


@pytest.mark.parametrize("body, message, needle", [
    ("params: 48MiB\n", "'MiB' is a byte unit", "params:"),
    ("param_memory: 5M\n", "'M' is a count suffix", "param_memory:"),
    ("activation_memory: 5X\n", "unknown suffix 'X'", "activation_memory:"),
    ("macs: 1.5\n", "not a whole number", "macs:"),
    ("macs: ~\n", "expected a count", "macs:"),
    ("macs: true\n", "expected a count", "macs:"),
    ("flops: -5\n", "non-negative", "flops:"),
    ("params: [1, 2]\n", "found a list", "params:"),
    ("receptive_field: 100\n", "must be a mapping", "receptive_field:"),
    ("receptive_field: {min: 5MiB}\n", "byte unit", "receptive_field:"),
])
def test_bad_values_point_at_their_line(tmp_path, body, message, needle):
    text = with_budget(body)
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        cnncalc.check(path)
    err = info.value
    assert message in str(err)
    assert err.loc.file == str(path) and err.loc.line == line_of(text, needle)
    assert str(err).startswith(f"{path}:{err.loc.line}:{err.loc.col}: budget.")
    assert err.exit_code == 2


@pytest.mark.parametrize("key, suggestion", [
    ("parms", "params"), ("mac", "macs"), ("param_memroy", "param_memory"), ("param_bytes", "param_memory"),
    ("peak_activation_bytes", "activation_memory"), ("receptive_feild", "receptive_field"),
])
def test_unknown_key_did_you_mean(tmp_path, key, suggestion):
    text = with_budget(f"{key}: 5\n")
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        cnncalc.check(path)
    err = info.value
    assert f"unknown key {key!r}" in str(err) and f"did you mean {suggestion!r}?" in str(err)
    assert (err.loc.line, err.loc.col) == (line_of(text, f"{key}:"), 3)


def test_unknown_rf_key(tmp_path):
    text = with_budget("receptive_field: {minimum: 5}\n")
    with pytest.raises(SpecError, match="did you mean 'min'"):
        cnncalc.check(write(tmp_path, text))
    with pytest.raises(SpecError, match="unknown key 'size'.*expected min and/or max"):
        cnncalc.check(write(tmp_path, with_budget("receptive_field: {size: 5}\n")))


def test_rf_min_above_max(tmp_path):
    with pytest.raises(SpecError, match="above the maximum"):
        cnncalc.check(write(tmp_path, with_budget("receptive_field: {min: 50, max: 40}\n")))
    with pytest.raises(ArgumentError, match="above the maximum"):
        cnncalc.check(write(tmp_path, with_budget("receptive_field: {min: 50}\n")), max_rf=40)


def test_budget_must_be_a_mapping(tmp_path):
    with pytest.raises(SpecError, match="'budget' must be a mapping"):
        cnncalc.check(write(tmp_path, TINY + "budget: [1, 2]\n"))


def test_empty_budget_and_no_budget(tmp_path, example):
    assert cnncalc.check(write(tmp_path, TINY + "budget:\n")).checks == ()
    result = cnncalc.check(example("digits"))
    assert result.ok and result.checks == () and "no limits set" in result.text()


def test_read_budget_none():
    assert read_budget(None) == {}


def test_bad_argument_values(example):
    with pytest.raises(ArgumentError, match=r"params= '5MB'.*byte unit"):
        cnncalc.check(example("digits"), params="5MB")
    with pytest.raises(ArgumentError, match="param_memory= '5M'.*count suffix"):
        cnncalc.check(example("digits"), param_memory="5M")
    with pytest.raises(ArgumentError, match="dtype"):
        cnncalc.check(example("digits"), params="5M", dtype="float33")


# -- symbolic sizes ------------------------------------------------------------------

SYMBOLIC = """\
name: sym
input: [3, H, W]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3}
"""


def test_symbolic_totals_need_sizes():
    with pytest.raises(ArgumentError) as info:
        cnncalc.check(SYMBOLIC, macs="1G")
    assert "symbolic" in str(info.value) and "--set H=" in str(info.value) and "sizes=" in str(info.value)
    # params do not depend on H and W: they can be checked as they are (4·27+4 = 112)
    assert cnncalc.check(SYMBOLIC, params=112).ok
    # 222·222 outputs of 4 channels, 27 MACs each
    assert cnncalc.check(SYMBOLIC, macs=222 * 222 * 4 * 27, sizes={"H": 224, "W": 224}).ok
    assert not cnncalc.check(SYMBOLIC, macs=222 * 222 * 4 * 27 - 1, sizes={"H": 224, "W": 224}).ok


# -- the baseline guard -----------------------------------------------------------------

def digits_baseline(example, **totals):
    report = cnncalc.analyze(example("digits")).to_dict()
    report["totals"].update(totals)
    return report


def test_baseline_unchanged_passes(example):
    result = cnncalc.check(example("digits"), baseline=cnncalc.analyze(example("digits")))
    assert result.ok
    assert [c.name for c in result.checks] == [f"{key} growth" for key in BASELINE_KEYS]
    assert all(c.delta == 0 and c.baseline == c.actual for c in result.checks)


def test_baseline_growth_over_and_under(example):
    path = example("digits")
    # 1,500 -> 1,584 is +5.6%: over 5%, under 6%
    over = cnncalc.check(path, baseline=digits_baseline(example, params=1_500, trainable_params=1_500))
    assert not over.ok
    failed = {c.name: c for c in over.failed}
    assert set(failed) == {"params growth", "trainable_params growth"}
    assert failed["params growth"].delta == pytest.approx(5.6)
    assert failed["params growth"].limit == 1_575          # 1,500 · 1.05
    assert cnncalc.check(path, baseline=digits_baseline(example, params=1_500, trainable_params=1_500),
                         max_growth="6%").ok
    # 1,510 -> 1,584 is +4.9%
    assert cnncalc.check(path, baseline=digits_baseline(example, params=1_510, trainable_params=1_510)).ok


def test_baseline_exact_threshold(example):
    # 1,440 · 1.10 = 1,584 exactly: allowed at 10%, not at 9.99%
    base = digits_baseline(example, params=1_440, trainable_params=1_440)
    assert cnncalc.check(example("digits"), baseline=base, max_growth="10%").ok
    assert cnncalc.check(example("digits"), baseline=base, max_growth=0.1).ok
    assert not cnncalc.check(example("digits"), baseline=base, max_growth="9.99%").ok


def test_baseline_shrinking_is_fine_and_zero_base(example):
    assert cnncalc.check(example("digits"), baseline=digits_baseline(example, macs=10**9, flops=10**9)).ok
    grown = cnncalc.check(example("digits"), baseline=digits_baseline(example, params=0, trainable_params=0))
    check = next(c for c in grown.checks if c.name == "params growth")
    assert not check.ok and check.delta is None and check.limit == 0


def test_baseline_every_total(example):
    base = digits_baseline(example, param_bytes=1, activation_bytes=1, peak_activation_bytes=1, buffers=0)
    failed = [c.name for c in cnncalc.check(example("digits"), baseline=base).failed]
    assert failed == ["param_bytes growth", "activation_bytes growth", "peak_activation_bytes growth"]


def test_baseline_from_files(tmp_path, example):
    report = cnncalc.analyze(example("digits")).to_dict()
    single = write(tmp_path, json.dumps(report), "digits.json")
    assert cnncalc.check(example("digits"), baseline=str(single)).ok
    # a list, matched by name
    other = dict(report, name="other", totals=dict(report["totals"], params=1))
    listed = write(tmp_path, json.dumps([other, report]), "all.json")
    assert cnncalc.check(example("digits"), baseline=listed).ok
    # a directory of reports
    folder = tmp_path / "baselines"
    folder.mkdir()
    write(folder, json.dumps(other), "other.json")
    write(folder, json.dumps(report), "digits.json")
    assert cnncalc.check(example("digits"), baseline=folder).ok
    with pytest.raises(ArgumentError, match="no report named 'resnet18'"):
        cnncalc.check(example("resnet18"), baseline=folder)


@pytest.mark.parametrize("content, message", [
    ("{", "not valid JSON"),
    ("[]", "list of reports is empty"),
    ('"x"', "expected a JSON object"),
    ('{"name": "digits"}', "no 'totals' object"),
    ('{"totals": []}', "'totals' must be an object"),
    ('{"totals": {"params": 1}}', "'totals' lacks trainable_params"),
    (None, "is symbolic"),
    (None, "must be a non-negative integer"),
])
def test_malformed_baselines(tmp_path, example, content, message):
    if content is None:
        totals = {key: 1 for key in BASELINE_KEYS}
        totals["macs"] = "10080*H*W" if "symbolic" in message else -1
        content = json.dumps({"name": "digits", "totals": totals})
    path = write(tmp_path, content, "base.json")
    with pytest.raises(ArgumentError) as info:
        cnncalc.check(example("digits"), baseline=path)
    assert message in str(info.value) and info.value.exit_code == 2


def test_missing_baseline_file(tmp_path, example):
    with pytest.raises(ArgumentError, match="cannot read"):
        cnncalc.check(example("digits"), baseline=tmp_path / "nope.json")


@pytest.mark.parametrize("text, expected", [
    ("5%", Fraction(1, 20)), ("0.05", Fraction(1, 20)), (0.05, Fraction(1, 20)), ("150%", Fraction(3, 2)),
    ("0", 0), (0, 0), ("1", 1), ("12.5%", Fraction(1, 8)), (" 5 % ", Fraction(1, 20)),
])
def test_parse_growth(text, expected):
    assert parse_growth(text) == expected


@pytest.mark.parametrize("text, message", [
    ("5", "a bare number is a fraction"), (5, "a bare number is a fraction"), ("-1%", "negative"),
    ("five", "expected a percentage"), (None, "expected a percentage"), ("%", "expected a percentage"),
])
def test_parse_growth_errors(text, message):
    with pytest.raises(ArgumentError, match=message):
        parse_growth(text)


def test_load_baselines_from_check_json(example):
    result = cnncalc.check(example("digits"), params="5M")
    (baseline,) = load_baselines({"ok": True, "files": [result.to_dict()]})
    assert baseline.name == "digits" and baseline.totals["params"] == DIGITS_PARAMS


# -- the result and the pytest helper ------------------------------------------------------

def test_result_is_frozen(example):
    result = cnncalc.check(example("resnet18"), params="12M", macs="2G")
    assert isinstance(result, CheckResult) and all(isinstance(c, Check) for c in result.checks)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.checks = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.checks[0].ok = False  # type: ignore[misc]
    assert result.report.totals.params == RESNET18_PARAMS
    check = result.checks[0]
    assert (check.name, check.limit, check.actual, check.margin, check.ok, check.loc) == (
        "params", 12_000_000, RESNET18_PARAMS, check.margin, True, None)


def test_strict_raises_with_the_table(example):
    with pytest.raises(BudgetExceeded) as info:
        cnncalc.check(example("resnet18"), params="11M", macs="2G", strict=True)
    err = info.value
    assert isinstance(err, cnncalc.CnnCalcError) and err.exit_code == 1
    text = str(err)
    assert "resnet18 exceeds its budget: params" in text
    assert err.result.text().rstrip("\n") in text        # the whole table
    assert "11,689,512" in text and "EXCEEDED" in text and "≤ 11M" in text
    assert cnncalc.check(example("resnet18"), params="12M", strict=True).ok


def test_text_table(example):
    text = cnncalc.check(example("resnet18"), params="11M", macs="2G").text()
    lines = text.splitlines()
    assert lines[0].startswith("resnet18 — ") and "[1, 3, 224, 224]" in lines[0]
    params_row = next(line for line in lines if line.strip().startswith("params"))
    assert "≤ 11M" in params_row and "11,689,512" in params_row and "EXCEEDED" in params_row
    assert "-6.3%" in params_row                       # (11M - 11,689,512) / 11M = -6.27%
    macs_row = next(line for line in lines if line.strip().startswith("macs"))
    assert " ok " in macs_row + " "
    assert lines[-1] == "resnet18: EXCEEDED, 1 of 2 limits (params)"
    assert all(line == line.rstrip() for line in lines)


def test_check_accepts_text_network_and_report(example):
    assert cnncalc.check(TINY, params=TINY_PARAMS).ok
    network = cnncalc.load(example("digits"))
    assert cnncalc.check(network, params=DIGITS_PARAMS).ok
    report = cnncalc.analyze(example("digits"))
    assert cnncalc.check(report, params=DIGITS_PARAMS - 1).checks[0].ok is False
    with pytest.raises(ArgumentError):
        cnncalc.check(report, params=1, batch=2)


def test_lazy_export():
    from cnncalc.budget import check
    assert cnncalc.check is check


# -- globs ------------------------------------------------------------------------------

def test_expand_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("b.yaml", "a.yaml", "c.yml"):
        (tmp_path / name).write_text("x")
    assert expand_files(["*.yaml"]) == ["a.yaml", "b.yaml"]
    assert expand_files(["b.yaml", "*.yaml", "./a.yaml", "-"]) == ["b.yaml", "a.yaml", "-"]
    assert expand_files(["missing.yaml"]) == ["missing.yaml"]     # reported when read
    with pytest.raises(ArgumentError, match="no file matches 'nothing/\\*.yaml'"):
        expand_files(["nothing/*.yaml"])


# -- hostile text and numbers ------------------------------------------------------------

HOSTILE = st.text(max_size=40) | st.sampled_from(["a\n::warning::x", "::add-mask::s", "100%\r\n", "a,b:c",
                                                     "%0A::error::x", "\x1b[2J", "\u2028::x"])


@given(HOSTILE, HOSTILE, HOSTILE, st.sampled_from(["error", "notice"]))
def test_github_command_is_one_line_whatever_it_holds(message, file, title, level):
    from cnncalc.budget import github_command
    line = github_command(level, message, file, 3, 4, title=title or None)
    assert len(line.splitlines()) == 1 and "\r" not in line and "\n" not in line
    assert line.startswith(f"::{level} file=")
    props, _, body = line[len(f"::{level} "):].partition("::")
    fields = dict(part.split("=", 1) for part in props.split(","))   # no raw ',' or ':' inside a property
    assert set(fields) <= {"file", "line", "col", "title"} and fields["line"] == "3"
    assert not any(ch in body for ch in "\r\n")


def test_github_command_escapes_as_github_decodes():
    from cnncalc.budget import github_command
    line = github_command("error", "50% a\nb", "x,y:z.yaml", 1, 1, title="t: a,b")
    assert line == "::error file=x%2Cy%3Az.yaml,line=1,col=1,title=t%3A a%2Cb::50%25 a%0Ab"


@given(st.text(max_size=40) | st.integers() | st.floats() | st.sampled_from(
    ["1e-999999999", "1e999999999", "5" * 5000 + "%", "0." + "5" * 5000, "²%", "５%"]))
def test_parse_growth_is_a_fraction_or_an_argument_error(value):
    from cnncalc.budget import parse_growth
    started = time.monotonic()
    try:
        growth = parse_growth(value)
    except ArgumentError as err:
        assert "\n" not in str(err) and len(str(err)) < 600
    else:
        assert isinstance(growth, Fraction) and growth >= 0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("baseline", [[[[{}]]], [3], "a\0b", b"report.json", 3.5, {"totals": [[[]]] * 3},
                                      {"totals": {k: 10**50 for k in ("params", "macs")}}])
def test_hostile_baselines_in_python(baseline, example):
    with pytest.raises(ArgumentError):
        cnncalc.check(example("digits"), baseline=baseline)
