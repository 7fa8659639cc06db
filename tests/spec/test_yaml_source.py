"""The located YAML loader: positions, strictness, and bounds on hostile files."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cnncalc import SpecError
from cnncalc.errors import Loc
from cnncalc.spec import yaml_source
from cnncalc.spec.expand import load_bytes, load_path, load_text
from cnncalc.spec.yaml_source import YMap, YScalar, YSeq, parse_yaml, plain
from ..conftest import HANG_LIMIT_S


def _error(text: str, filename: str = "f.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, filename)
    return info.value


def _fast_error(text: str, limit: float = HANG_LIMIT_S) -> SpecError:
    start = time.perf_counter()
    err = _error(text)
    assert time.perf_counter() - start < limit
    return err


# -- values: what PyYAML's safe loader reads -------------------------------------------------

@pytest.mark.parametrize("text", [
    "a: ReLU\nb: 'quoted: text'\nc: \"dq \\u00e9\"\nd: !!str 12\ne: |\n  block\n  text\n",
    "ints: [1, -2, 0x1f, 0o17, 1_000]\nfloats: [1.5, .5, -2.0e+3]\nnone: [~, null]\nbools: [true, False]\n",
    "plain: [yes, no, on, 3, '3', 1e-5]\nnested: {k: [a, {b: c}]}\n",
])
def test_values_are_the_safe_loaders(text):
    # strings take a shortcut (their text, as SafeConstructor's construct_yaml_str returns); every
    # value must still be what yaml.safe_load reads, 1e-5 aside (a float here, YAML 1.2)
    import yaml
    expected = yaml.safe_load(text)
    if "plain" in expected:
        expected["plain"][-1] = 1e-5
    assert plain(parse_yaml(text, "f.yaml")) == expected


# -- positions --------------------------------------------------------------------------

def test_nodes_remember_line_and_column():
    text = "a: 1\nb:\n  - x\n  - {k: [1, 2]}\n"
    root = parse_yaml(text, "arch.yaml")
    assert isinstance(root, YMap) and root.loc == Loc("arch.yaml", 1, 1)
    a_key, a_value = root.items[0]
    assert (a_key.value, a_key.loc.line, a_key.loc.col) == ("a", 1, 1)
    assert (a_value.value, a_value.loc.col) == (1, 4)
    seq = root.get("b")
    assert isinstance(seq, YSeq) and seq.loc == Loc("arch.yaml", 3, 3)
    assert seq.items[0] == YScalar("x", Loc("arch.yaml", 3, 5))
    inner = seq.items[1]
    assert isinstance(inner, YMap) and inner.loc == Loc("arch.yaml", 4, 5)
    k = inner.get("k")
    assert isinstance(k, YSeq) and k.loc == Loc("arch.yaml", 4, 9)
    assert [item.loc.col for item in k.items] == [10, 13]
    assert plain(root) == {"a": 1, "b": ["x", {"k": [1, 2]}]}
    assert root.keys() == ["a", "b"] and root.get("missing") is None


def test_scalars_are_the_safe_yaml_types():
    root = parse_yaml("a: ~\nb: true\nc: 1.5\nd: -7\ne: '3'\nf: 0x10\ng: .inf\n", "f")
    values = plain(root)
    assert values["a"] is None and values["b"] is True and values["c"] == 1.5
    assert values["d"] == -7 and values["e"] == "3" and values["f"] == 16 and values["g"] == float("inf")


# -- strictness ---------------------------------------------------------------------------

def test_duplicate_key_names_both_lines():
    err = _error("input: [3, 8, 8]\nlayers: []\ninput: [1, 2]\n")
    assert err.loc == Loc("f.yaml", 3, 1)
    assert "duplicate key 'input'" in err.message and "line 1" in err.message


def test_duplicate_key_in_a_flow_mapping():
    line = "  - Conv2d: {kernel_size: 3, out_channels: 4, kernel_size: 5}"
    err = _error(f"layers:\n{line}\n")
    assert err.loc == Loc("f.yaml", 2, line.rindex("kernel_size") + 1)
    assert "duplicate key 'kernel_size'" in err.message


def test_merge_keys_are_rejected():
    err = _error("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert "merge keys" in err.message and err.loc.line == 3


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['echo pwned']\n",
    "a: !!python/name:os.system\n",
    "a: !custom 1\n",
    "a: !!binary aGVsbG8=\n",
    "a: 2020-01-01\n",
    "a: !!set {x, y}\n",
    "a: !!omap [x: 1]\n",
    "!!python/object:builtins.dict {}\n",
])
def test_only_safe_tags(text):
    err = _error(text)
    assert "tag" in err.message or "date" in err.message
    assert err.loc is not None and err.loc.line == 1


def test_syntax_error_position():
    err = _error("a: 1\nb: [1, 2\nc: 3\n")
    assert err.message.startswith("YAML syntax error")
    assert err.loc.line >= 2


def test_control_character_is_located():
    err = _error("a: 1\nb: x\x07y\n")
    assert err.loc == Loc("f.yaml", 2, 5)
    assert "\n" not in str(err)


def test_lone_surrogate_is_an_error():
    err = _error("a: 1\nb: x\udcffy\n")
    assert err.loc.line == 2 and "Unicode" in err.message


def test_empty_document():
    assert "empty" in _error("").message
    assert "empty" in _error("# only a comment\n").message


def test_integers_are_bounded():
    assert plain(parse_yaml(f"a: {2**63 - 1}\n", "f")) == {"a": 2**63 - 1}
    err = _error(f"a: {2**63}\n")
    assert "too large" in err.message and err.loc == Loc("f.yaml", 1, 4)
    err = _error("a: 0x" + "f" * 5000 + "\n")          # hex has no digit limit in int()
    assert "too large" in err.message and len(str(err)) < 300
    err = _error("a: " + "9" * 5000 + "\n")             # decimal hits int()'s digit limit
    assert len(str(err)) < 400


# -- bounds: never hang, crash or eat memory ------------------------------------------------

def _laughs(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_fails_fast():
    err = _fast_error(_laughs())
    assert "more than 200,000 nodes" in err.message


def test_a_few_aliases_are_fine():
    root = parse_yaml("a: &k [3, 3]\nb: *k\nc: *k\n", "f")
    assert plain(root) == {"a": [3, 3], "b": [3, 3], "c": [3, 3]}


def test_recursive_alias_is_an_error():
    assert "contains it" in _fast_error("a: &x [1, *x]\n").message
    assert "contains it" in _fast_error("a: &x {b: *x}\n").message


def test_aliases_cannot_build_depth():
    # each alias nests the previous one 60 levels deeper: fine as text, too deep when expanded
    text = "".join(f"x{i}: &a{i} " + "[" * 60 + (f"*a{i - 1}" if i else "1") + "]" * 60 + "\n"
                   for i in range(40))
    assert "nested more than" in _fast_error(text).message


@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_fails_fast(opener, closer):
    text = "a: " + opener * 150 + "1" + closer * 150 + "\n"
    err = _fast_error(text)
    assert "nested more than 100 levels" in err.message and err.loc.line == 1


def test_block_style_nesting_is_bounded_too():
    text = "".join("  " * i + f"k{i}:\n" for i in range(150)) + "  " * 150 + "v\n"
    assert "nested more than 100 levels" in _fast_error(text).message


def test_very_deep_nesting_does_not_crash_the_process():
    # libyaml's composer recurses in C: 100,000 '[' used to kill Python with SIGSEGV
    code = ("import sys\nfrom cnncalc.spec.yaml_source import parse_yaml\nfrom cnncalc import SpecError\n"
            "try:\n    parse_yaml('a: ' + '[' * 100000 + ']' * 100000, 'f')\n"
            "except SpecError as err:\n    print(err.exit_code, err.loc.line, err.loc.col > 1)\n")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "1", "True"]     # located, whichever bound (ours or PyYAML's) fires
    assert time.perf_counter() - start < HANG_LIMIT_S


def test_too_many_nodes_fails_before_composing():
    text = "a:\n" + "  - {b: 1, c: 2, d: 3}\n" * 60_000
    err = _fast_error(text)
    assert "more than 200,000 nodes" in err.message


def test_file_size_limit_text():
    text = "a: 1\n" + "#" * (4 * 2**20) + "\n"
    err = _fast_error(text)
    assert "limited to" in err.message


def test_file_size_limit_counts_bytes_not_characters():
    text = "a: 1\n#" + "é" * (2 * 2**20 + 10) + "\n"      # about 2 M characters, 4 MiB of UTF-8
    assert len(text) < yaml_source.MAX_SOURCE_BYTES
    assert "bytes" in _fast_error(text).message


def test_file_size_limit_path(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"input: [3, 8, 8]\nlayers: [ReLU]\n" + b"#" * (4 * 2**20 + 1) + b"\n")
    start = time.perf_counter()
    with pytest.raises(SpecError, match=f"{yaml_source.MAX_SOURCE_BYTES:,}") as info:
        load_path(path)
    assert time.perf_counter() - start < HANG_LIMIT_S
    assert info.value.loc == Loc(str(path), 1, 1)


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("input: [3, 8, 8]\nlayers:\n  - ReLU  # caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8") as info:
        load_path(path)
    assert info.value.loc == Loc(str(path), 3, len("  - ReLU  # caf") + 1)
    with pytest.raises(SpecError, match="not UTF-8"):
        load_bytes(b"\xff\xfe", "<stdin>")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_path(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="directory"):
        load_path(tmp_path)


def test_load_text_reports_yaml_errors_with_the_filename():
    with pytest.raises(SpecError) as info:
        load_text("input: [3, 8, 8\nlayers: [ReLU]\n", "net.yaml")
    assert str(info.value).startswith("net.yaml:")
