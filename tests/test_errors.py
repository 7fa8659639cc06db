"""User errors: one broken file per kind (tests/data/broken), on the CLI and in the API.

Every broken file marks its offending line with ``# <- error at "TOKEN"``;
the expected line and column are computed from that marker, so the files
can be edited without touching the numbers here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc import CnnCalcError, ShapeError, SpecError
from cnncalc.cli import main
from cnncalc.errors import (ArgumentError, BudgetExceeded, Loc, VerifyMismatch, did_you_mean)

BROKEN = Path(__file__).resolve().parent / "data" / "broken"

# file -> (exception class, layer path or None, hint or None, words the message must hold)
CASES: dict[str, tuple[type, str | None, str | None, tuple[str, ...]]] = {
    "syntax_error.yaml": (SpecError, None, None, ("YAML syntax error",)),
    "duplicate_key.yaml": (SpecError, None, None, ("duplicate key 'out_channels'", "line 5")),
    "unknown_top_level_key.yaml": (SpecError, None, "did you mean 'dtype'?", ("unknown top-level key 'dtpye'",)),
    "unknown_layer_type.yaml": (SpecError, None, "did you mean 'BatchNorm2d'?",
                                ("unknown layer type 'BatchNrom2d'",)),
    "unknown_argument.yaml": (SpecError, "conv2d_2", "did you mean 'stride'?", ("unknown argument 'strdie'",)),
    "wrong_argument_type.yaml": (SpecError, "conv2d_0", None, ("kernel_size", "expected an integer", "'three'")),
    "missing_required_argument.yaml": (SpecError, "conv2d_2", "write Conv2d: {out_channels: ...}",
                                       ("missing required argument 'out_channels'",)),
    "from_undefined_name.yaml": (SpecError, "add_3", "did you mean 'stem'?", ("'stme'", "not defined")),
    "from_index_too_far.yaml": (SpecError, "add_2", None, ("'from: -4'", "before the start")),
    "kernel_too_large.yaml": (ShapeError, "conv2d_3", None, ("kernel_size 7x7 exceeds the padded input 5x5",
                                                              "input 3x3, padding 1")),
    "add_channel_mismatch.yaml": (ShapeError, "add_2", None, ("[1, 32, 32, 32]", "[1, 16, 32, 32]", "broadcast")),
    "concat_mismatch.yaml": (ShapeError, "concat_2", None, ("[1, 8, 32, 32]", "[1, 8, 16, 16]",)),
    "bad_input.yaml": (SpecError, None, None, ("input sizes", "-32")),
    "bad_dtype.yaml": (SpecError, None, "did you mean 'float32'?", ("unknown dtype 'flaot32'",)),
    "param_outside_block.yaml": (SpecError, None, None, ("'$width'", "outside a block")),
    "bad_expression.yaml": (SpecError, "wide_1", None, ("unexpected '*'", "'$c * * 2'")),
    "division_by_zero.yaml": (SpecError, "grouped_1", None, ("division by zero", "'$c // $groups'")),
    "unknown_block_param.yaml": (SpecError, "basic_0", "did you mean 'stride'?", ("no parameter 'sride'",)),
    "recursive_block.yaml": (SpecError, "tower_0.tower_1", None, ("uses itself (tower -> tower)",)),
    "repeat_too_large.yaml": (SpecError, "relu_0", None, ("'repeat'", "1000000")),
    "duplicate_name.yaml": (SpecError, "act", None, ("name 'act' is already used",)),
    "date_name.yaml": (SpecError, None, None, ("date", '"2024-01-01"')),
    "second_document.yaml": (SpecError, None, None, ("one document",)),
    "non_ascii_name.yaml": (SpecError, None, None, ("ASCII", "'é'")),
}

_MARKER = re.compile(r'#\s*<- error at "(.*)"\s*$')


def expected_position(path: Path) -> tuple[int, int]:
    """Line and column of the token named by the file's '# <- error at "TOKEN"' marker."""
    hits = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _MARKER.search(line)
        if match:
            token = match.group(1)
            code = line[:match.start()]
            assert token in code, f"{path.name}:{number}: marker token {token!r} not on its line"
            hits.append((number, code.index(token) + 1))
    assert len(hits) == 1, f"{path.name}: expected exactly one error marker"
    return hits[0]


def test_every_broken_file_has_a_case():
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_reports_one_located_line(name):
    path = BROKEN / name
    cls, layer_path, hint, words = CASES[name]
    result = CliRunner().invoke(main, ["summarize", str(path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)           # no traceback
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("error: ")
    assert sum(line.startswith("error:") for line in lines) == 1
    assert all(line.startswith((" ", "\t")) for line in lines[1:]), lines   # details are indented
    headline = lines[0][len("error: "):]
    line, col = expected_position(path)
    assert headline.startswith(f"{path}:{line}:{col}: "), (headline, line, col)
    rest = headline[len(f"{path}:{line}:{col}: "):]
    if layer_path is not None:
        assert rest.startswith(f"{layer_path} ("), rest
    for word in words:
        assert word in headline, (word, headline)
    if hint is not None:
        assert headline.endswith(f"; {hint}"), headline


@pytest.mark.parametrize("name", sorted(CASES))
def test_api_raises_the_subclass(name):
    path = BROKEN / name
    cls, layer_path, hint, words = CASES[name]
    with pytest.raises(CnnCalcError) as info:
        cnncalc.analyze(path)
    err = info.value
    assert type(err) is cls, (type(err), cls)
    assert err.exit_code == 2
    line, col = expected_position(path)
    assert err.loc == Loc(str(path), line, col)
    assert err.path == layer_path
    assert err.hint == hint if hint is not None else True
    # str(err) is what the CLI prints after "error: "
    cli = CliRunner().invoke(main, ["summarize", str(path)])
    assert cli.stderr.rstrip("\n") == f"error: {err}"


@pytest.mark.parametrize("name", ["unknown_argument.yaml", "kernel_too_large.yaml", "bad_dtype.yaml"])
def test_stdin_reports_the_same_error(name):
    path = BROKEN / name
    result = CliRunner().invoke(main, ["summarize", "-"], input=path.read_text(encoding="utf-8"))
    assert result.exit_code == 2
    line, col = expected_position(path)
    assert result.stderr.startswith(f"error: <stdin>:{line}:{col}: ")


def test_shape_error_explains_the_failing_layer():
    path = BROKEN / "kernel_too_large.yaml"
    with pytest.raises(ShapeError) as info:
        cnncalc.analyze(path)
    assert info.value.detail and "input [1, 8, 3, 3]" in info.value.detail


@pytest.mark.parametrize("args, message", [
    (["summarize", "no/such/file.yaml"], "cannot read"),
    (["summarize", str(BROKEN / "bad_dtype.yaml"), "--dtype", "flaot16"], "unknown dtype"),
    (["summarize", str(BROKEN / "kernel_too_large.yaml"), "--input", "3,x"], None),
    (["summarize", str(BROKEN / "kernel_too_large.yaml"), "--set", "H=0"], "--set"),
])
def test_bad_arguments_exit_2(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    if message is not None:
        assert result.stderr.startswith("error: ") and message in result.stderr


# -- the error classes ------------------------------------------------------------------------

def test_headline_format():
    err = SpecError("kernel_size 7 exceeds the padded input 5x5", loc=Loc("arch.yaml", 14, 7),
                    path="conv2d_3", layer_type="Conv2d", hint="use a smaller kernel")
    assert str(err) == ("arch.yaml:14:7: conv2d_3 (Conv2d): kernel_size 7 exceeds the padded input 5x5; "
                        "use a smaller kernel")
    assert str(SpecError("bad")) == "bad"
    assert str(SpecError("bad", path="a.b")) == "a.b: bad"
    assert str(SpecError("bad", detail="  more")) == "bad\n  more"


def test_add_context_fills_only_what_is_missing():
    err = ShapeError("x", path="inner")
    assert err.add_context(loc=Loc("f", 1, 2), path="outer", layer_type="T") is err
    assert err.loc == Loc("f", 1, 2) and err.path == "inner" and err.layer_type == "T"
    err.add_context(loc=Loc("f", 9, 9))
    assert err.loc == Loc("f", 1, 2)


def test_headline_is_one_line_whatever_the_file_holds():
    err = SpecError("unknown layer type 'a\nb'", loc=Loc("f", 1, 1), hint="x\r\ny")
    assert "\n" not in err.headline() and "\r" not in err.headline()
    result = CliRunner().invoke(main, ["summarize", "-"],
                                input='input: [3, 8, 8]\nlayers:\n  - "Conv\\n2d": {x: 1}\n')
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_hierarchy_and_exit_codes():
    for cls in (SpecError, ShapeError, ArgumentError):
        assert issubclass(cls, CnnCalcError) and cls.exit_code == 2
    for cls in (BudgetExceeded, VerifyMismatch):
        assert issubclass(cls, CnnCalcError) and cls.exit_code == 1
    assert issubclass(CnnCalcError, Exception)


@pytest.mark.parametrize("word, choices, expected", [
    ("Conv2D", ["Conv2d", "Conv1d"], "did you mean 'Conv2d'?"),
    ("relu", ["ReLU", "ReLU6"], "did you mean 'ReLU'?"),
    ("strdie", ["stride", "padding"], "did you mean 'stride'?"),
    ("zzzz", ["stride", "padding"], None),
    ("x", [], None),
])
def test_did_you_mean(word, choices, expected):
    assert did_you_mean(word, choices) == expected


def test_every_part_of_the_headline_is_visible_and_bounded():
    err = SpecError("unknown layer type 'x\x1b[2J'", loc=Loc("dir\n/a\x1b.yaml", 1, 2), path="p\u202e",
                    layer_type="T\x07", hint="h\x9b")
    line = err.headline()
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202e]", line), line
    huge = SpecError("unknown layer type " + "y" * 100_000, hint="z" * 100_000, path="q" * 100_000)
    assert len(huge.headline()) < 3_000 and "characters)" in huge.headline()


def test_a_100000_character_layer_type_is_one_short_line():
    name = "Conv" + "x" * 100_000
    result = CliRunner().invoke(main, ["summarize", "-"],
                                input=f"input: [3, 8, 8]\nlayers:\n  - {name}: {{out_channels: 1}}\n")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: <stdin>:3:") and len(lines[0]) < 3_000


def test_detail_lines_are_visible_and_bounded():
    err = ShapeError("bad", detail="  a\x1b[31m\n" + "  line\n" * 10_000)
    text = str(err)
    assert "\x1b" not in text and len(text.splitlines()) < 1_000
