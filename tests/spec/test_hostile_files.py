"""Hostile files: special files, huge files and hostile bytes fail with one SpecError, bounded.

Special files are refused by what ``stat`` says, before a byte is read: a FIFO
nobody writes to must not hang, ``/dev/zero`` must not fill memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

import cnncalc
from cnncalc import SpecError
from cnncalc.spec import yaml_source
from ..conftest import HANG_LIMIT_S, ROOT

GOOD = b"input: [3, 8, 8]\nlayers: [ReLU]\n"


def _special_files(tmp_path: Path) -> dict[str, Path]:
    """Every kind of non-regular file we can make here, plus symlinks to them."""
    found: dict[str, Path] = {"directory": tmp_path / "adir"}
    found["directory"].mkdir()
    for device in ("/dev/zero", "/dev/urandom", "/dev/null"):
        if os.path.exists(device):
            found[device] = Path(device)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.yaml"
        os.mkfifo(fifo)
        found["fifo"] = fifo
    for kind, target in list(found.items()):
        link = tmp_path / f"link-to-{kind.strip('/').replace('/', '-')}.yaml"
        link.symlink_to(target)
        found[f"symlink to {kind}"] = link
    return found


SPECIAL_KINDS = ["directory", "/dev/zero", "/dev/urandom", "/dev/null", "fifo"]
SPECIAL_KINDS += [f"symlink to {kind}" for kind in SPECIAL_KINDS]


def _timed_load(path: Path) -> SpecError:
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        cnncalc.load(path)
    assert time.perf_counter() - start < HANG_LIMIT_S
    return info.value


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
def test_special_files_are_refused_by_the_api(tmp_path, kind):
    files = _special_files(tmp_path)
    if kind not in files:
        pytest.skip(f"{kind} does not exist on this system")
    err = _timed_load(files[kind])
    # the message names the file the user gave
    assert str(files[kind]) in str(err)


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
def test_special_files_through_the_cli(tmp_path, kind):
    files = _special_files(tmp_path)
    if kind not in files:
        pytest.skip(f"{kind} does not exist on this system")
    done = subprocess.run([sys.executable, "-c", "from cnncalc.cli import main; main()", "summarize",
                           str(files[kind])], capture_output=True, text=True, cwd=ROOT, timeout=HANG_LIMIT_S * 3)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(files[kind]) in lines[0]


def test_missing_file_and_symlink_loop(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    for path in (tmp_path / "nope.yaml", loop, tmp_path / "dangling.yaml"):
        if path.name == "dangling.yaml":
            path.symlink_to(tmp_path / "gone.yaml")
        assert str(path) in str(_timed_load(path))


def test_a_symlink_to_a_good_file_is_read(tmp_path):
    target = tmp_path / "net.yaml"
    target.write_bytes(GOOD)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert cnncalc.load(link).layers[0].type_name == "ReLU"


def test_a_file_over_the_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(GOOD + b"#" * yaml_source.MAX_SOURCE_BYTES + b"\n")
    err = _timed_load(path)
    assert err.loc is not None and (err.loc.line, err.loc.col) == (1, 1)
    assert f"{yaml_source.MAX_SOURCE_BYTES:,}" in str(err)


def test_a_file_at_the_limit_is_read(tmp_path):
    path = tmp_path / "full.yaml"
    path.write_bytes(GOOD + b"#" * (yaml_source.MAX_SOURCE_BYTES - len(GOOD) - 1) + b"\n")
    assert path.stat().st_size == yaml_source.MAX_SOURCE_BYTES
    assert len(cnncalc.load(path).layers) == 1


# -- fuzz: hostile bytes and texts -------------------------------------------------------------

# fragments a hostile or broken file is made of: YAML syntax, tags, anchors, control bytes,
# huge numbers, odd Unicode, and pieces of real architecture files
_FRAGMENTS = [
    "input: [3, 8, 8]\n", "layers:\n", "  - ReLU\n", "  - Conv2d: {out_channels: 4, kernel_size: 3}\n",
    "blocks:\n  b:\n    sequential: true\n    layers: [ReLU]\n", "  - b: {repeat: 3}\n",
    "name: 2024-01-01\n", "---\n", "...\n", "&a [*a]\n", "!!python/object:os.system\n", "!!binary AAAA\n",
    "<<: {a: 1}\n", "? [1, 2]\n: x\n", "9" * 5000, "-" + "9" * 4400, "0x" + "f" * 5000, "1e99999\n",
    ".inf\n", "\x00", "\x1b[2J", "\t", "\r", "\ufeff", "\u202e", "é", "\ud800", "{", "[", "'", '"',
    "  - ReLU: {name: " + "x" * 100_000 + "}\n", "  - " + "Q" * 100_000 + "\n",
    "  - ReLU: {from: \"0\"}\n", "  - add: {from: [-1, 7]}\n", "  - ReLU: {repeat: " + "9" * 5000 + "}\n",
    "sequential: " + "9" * 5000 + "\n", "batch: " + "9" * 5000 + "\n",
]
_texts = st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=40), max_size=12).map("".join)
_bytes = st.lists(st.sampled_from([f.encode("utf-8", "surrogatepass") for f in _FRAGMENTS]) | st.binary(max_size=40),
                  max_size=12).map(b"".join)


def _spec_error_or_network(call) -> None:
    """The call loads a network or raises SpecError; nothing else, bounded in time and in message size."""
    start = time.perf_counter()
    try:
        call()
    except SpecError as err:
        str(err)                                             # rendering the message must not fail either
        # user strings are cut, never echoed whole, whatever the input's size
        assert len(err.message) < 1000 and len(err.hint or "") < 1000, (err.message[:200], (err.hint or "")[:200])
    assert time.perf_counter() - start < HANG_LIMIT_S


# a valid file with one hostile token put in one slot: reaches the expander's checks, not just the parser
_TEMPLATE = """\
name: {slot0}
input: [3, {slot1}, 8]
blocks:
  blk:
    sequential: {slot2}
    params: {{p: {slot3}}}
    layers:
      - Conv2d: {{out_channels: "$p * 2", kernel_size: 1, name: {slot4}}}
      - ReLU: {{from: {slot5}}}
layers:
  - Conv2d: {{out_channels: 4, kernel_size: {slot6}, padding: 1}}
  - {slot7}
  - blk: {{p: {slot8}, repeat: {slot9}}}
  - ReLU: {{name: {slot10}, from: {slot11}}}
"""
_SLOTS = 12
_DEFAULTS = ["net", "8", "true", "2", "c", "-1", "3", "ReLU", "4", "2", "last", "-1"]
_TOKENS = st.sampled_from([
    "9" * 5000, "-" + "9" * 5000, "0x" + "f" * 5000, "0b" + "1" * 200, "1e99999", ".nan", "-.inf", "2024-01-01", "=",
    "<<", "!!binary aGk=", "!!set {a}", "!custom x", "Q" * 100_000, "x" * 100_000, '"' + "y" * 100_000 + '"',
    "conv_é", '"3"', "3", "0", "-0", "input", "~", "[]", "{}", "[[1]]", "[-1, -1]", '"-1"', "'\x1b[2J'",
    '"\u202e"', "true", "$p", '"$q"', '"$p // 0"', '"(" * 2000', "&a [*a, *a]", "*undefined",
]) | st.text(max_size=30).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"')


@given(slot=st.integers(min_value=0, max_value=_SLOTS - 1), token=_TOKENS)
def test_one_hostile_token_in_a_valid_file(slot, token):
    values = list(_DEFAULTS)
    values[slot] = token
    text = _TEMPLATE.format(**{f"slot{i}": value for i, value in enumerate(values)})
    _spec_error_or_network(lambda: cnncalc.loads(text, "fuzz.yaml"))


def test_the_template_is_valid_as_it_stands():
    """The fuzz template loads with its default tokens, so a failure there is the token's doing."""
    text = _TEMPLATE.format(**{f"slot{i}": value for i, value in enumerate(_DEFAULTS)})
    names = [layer.path for layer in cnncalc.loads(text).layers]
    assert names[-2:] == ["blk_2.1.1", "last"]


@given(text=_texts)
def test_hostile_texts_through_loads(text):
    _spec_error_or_network(lambda: cnncalc.loads(text, "fuzz.yaml"))


@given(data=_bytes)
def test_hostile_bytes_through_load(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.yaml"
    path.write_bytes(data)
    _spec_error_or_network(lambda: cnncalc.load(path))
