"""Hostile numbers, baselines and names on the command line: exit 0, 1 or 2 and one `error:` line.

Numbers: Unicode digits (``²``, ``٣``, ``５``, which ``str.isdigit`` accepts
and ``int`` may not), 5,000-digit values (Python refuses to convert or even
format ints of more than 4,300 digits), exponents that would take minutes to
expand. Baselines: special files, deep JSON, huge numbers. Names: text that
would print its own GitHub workflow commands.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.cli import main

from .conftest import EXAMPLES, HANG_LIMIT_S

NETWORK = ("input: [3, 16, 16]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n"
           "  - ReLU\n")
SYMBOLIC = NETWORK.replace("[3, 16, 16]", "[3, H, W]")
HUGE = "5" * 5000
UNICODE_DIGITS = ["²", "٣", "５", "১২", "3²", "⁴", "Ⅻ", "½"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A concrete network, a symbolic one and a baseline of the concrete one."""
    root = tmp_path_factory.mktemp("numbers")
    (root / "net.yaml").write_text(NETWORK)
    (root / "sym.yaml").write_text(SYMBOLIC)
    summary = CliRunner().invoke(main, ["summarize", str(root / "net.yaml"), "--format", "json"])
    assert summary.exit_code == 0, summary.output
    (root / "base.json").write_text(summary.stdout)
    return root


def run(*args: object):
    """Run the CLI; assert it survived: exit 0/1/2, no traceback, one `error:` line when it exits 2."""
    started = time.monotonic()
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert time.monotonic() - started < HANG_LIMIT_S
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert len(errors[0]) < 2000
    return result


def refused(*args: object, mentions: str) -> str:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert mentions in result.stderr, result.stderr
    return result.stderr


# -- the findings ----------------------------------------------------------------------

@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_are_refused(files, digit):
    net, sym = files / "net.yaml", files / "sym.yaml"
    refused("summarize", sym, f"--set=H={digit}", "--set=W=8", mentions="--set")
    refused("summarize", net, f"--input=3,{digit},4", mentions="--input")
    refused("summarize", net, f"--batch={digit}", mentions="--batch")
    refused("check", net, f"--max-params={digit}", mentions="--max-params")
    refused("check", net, f"--min-rf={digit}", mentions="--min-rf")
    refused("check", net, "--baseline", files / "base.json", f"--max-growth={digit}%", mentions="--max-growth")


@pytest.mark.parametrize("flag", ["--max-params", "--max-trainable-params", "--max-macs", "--max-flops",
                                  "--max-param-memory", "--max-activation-memory", "--min-rf", "--max-rf"])
def test_huge_limits_are_refused(files, flag):
    message = refused("check", files / "net.yaml", f"{flag}={HUGE}", mentions=flag)
    assert "40 digits" in message
    refused("check", files / "net.yaml", f"{flag}={HUGE}.5M", mentions=flag)
    refused("check", files / "net.yaml", f"{flag}=0.{'0' * 5000}1G", mentions=flag)


def test_huge_sizes_are_refused(files):
    refused("summarize", files / "sym.yaml", f"--set=H={HUGE}", "--set=W=8", mentions="2,147,483,648")
    refused("summarize", files / "net.yaml", f"--input=3,{HUGE},4", mentions="2,147,483,648")
    padded = run("summarize", files / "net.yaml", f"--input=3,{'0' * 5000}7,4")    # leading zeros: still 7
    assert padded.exit_code == 0 and "[1, 3, 7, 4]" in padded.stdout
    refused("summarize", files / "net.yaml", f"--batch={HUGE}", mentions="1,048,576")
    refused("explain", files / "net.yaml", "conv2d_0", f"--batch={HUGE}", mentions="--batch")


@pytest.mark.parametrize("growth", ["1e-999999999", "1e999999999", f"{HUGE}%", f"0.{HUGE}", "-5%", "inf", "nan",
                                    "5%%", "", "0x10"])
def test_hostile_growth_is_refused_at_once(files, growth):
    refused("check", files / "net.yaml", "--baseline", files / "base.json", f"--max-growth={growth}",
            mentions="--max-growth")


def test_valid_numbers_still_work(files):
    """Sizes given by flags give what the same sizes written in the file give."""
    from_file = files / "wide.yaml"
    from_file.write_text(NETWORK.replace("[3, 16, 16]", "[3, 20, 12]") + "batch: 3\n")
    expected = json.loads(run("summarize", from_file, "--format", "json").stdout)["totals"]
    for args in (["--input=3,20,12"], ["--input=3x20x12"], ["--input= 3 , 20 , 12 "]):
        got = json.loads(run("summarize", files / "net.yaml", *args, "--batch=3", "--format", "json").stdout)
        assert got["totals"] == expected
    got = json.loads(run("summarize", files / "sym.yaml", "--set=H=20,W=012", "--batch=03", "--format",
                         "json").stdout)
    assert got["totals"] == expected


def test_budget_in_the_file_with_huge_numbers(tmp_path):
    for digits in (4000, 5000):
        path = tmp_path / f"budget{digits}.yaml"
        path.write_text(NETWORK + f"budget:\n  params: {'5' * digits}\n")
        result = run("check", path)
        assert result.exit_code == 2
        assert re.search(rf"{re.escape(str(path))}:\d+:\d+", result.stderr), result.stderr
    path = tmp_path / "budget_text.yaml"
    path.write_text(NETWORK + f"budget:\n  macs: '{'5' * 5000}M'\n  activation_memory: ²MiB\n")
    assert run("check", path).exit_code == 2


# -- baselines ---------------------------------------------------------------------------

def _special_baselines(tmp_path: Path) -> list[Path]:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    zero_link = tmp_path / "zero.json"
    zero_link.symlink_to("/dev/zero")
    fifo_link = tmp_path / "fifo_link.json"
    fifo_link.symlink_to(fifo)
    return [Path("/dev/zero"), Path("/dev/urandom"), fifo, zero_link, fifo_link, tmp_path / "missing.json",
            tmp_path]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_as_baselines(files, tmp_path):
    for special in _special_baselines(tmp_path):
        refused("check", files / "net.yaml", "--baseline", special, mentions="--baseline")


@pytest.mark.parametrize("content, mentions", [
    ("[" * 100_000, "nested too deeply"),
    ("{\"a\": " * 100_000, "nested too deeply"),
    ("[" * 50 + "]" * 50, "--baseline"),
    (json.dumps({"totals": {"params": 1}}).replace("1", HUGE), "5,000-digit"),
    ("\xff\xfe not text", "UTF-8"),
    (json.dumps({"name": "x\x1b[31m\n::warning::y", "totals": {}}), "lacks"),
    (json.dumps({"totals": {"params": "H*W", "trainable_params": [[[]]]}}), "--baseline"),
    (json.dumps({"files": [[[[]]]]}), "--baseline"),
])
def test_hostile_baseline_content(files, tmp_path, content, mentions):
    path = tmp_path / "baseline.json"
    path.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    message = refused("check", files / "net.yaml", "--baseline", path, mentions=mentions)
    assert "\x1b" not in message


def test_baseline_directory_with_a_fifo(files, tmp_path):
    (tmp_path / "a.json").write_text((files / "base.json").read_text())
    os.mkfifo(tmp_path / "b.json")
    refused("check", files / "net.yaml", "--baseline", tmp_path, mentions="FIFO")


def test_baseline_names_are_shown_safely(files, tmp_path):
    report = json.loads((files / "base.json").read_text())
    hostile = [{**report, "name": f"evil{i}\x1b[2J\n::add-mask::x"} for i in range(20)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(hostile))
    message = refused("check", files / "net.yaml", "--baseline", path, mentions="no report named")
    assert "\x1b" not in message
    assert not any(line.startswith("::") for line in message.splitlines())


# -- GitHub annotations for hostile names ---------------------------------------------------

def _outside_inert_blocks(output: str) -> list[str]:
    """The lines GitHub would read as commands: all but those between ::stop-commands::T and ::T::."""
    lines, token = [], None
    for line in output.splitlines():
        if token is not None:
            if line == f"::{token}::":
                token = None
            continue
        match = re.fullmatch(r"::stop-commands::(\S+)", line)
        if match:
            token = match.group(1)
            continue
        lines.append(line)
    assert token is None, "a stop-commands block was never closed"
    return lines


def _check_github(path: Path, *flags: str) -> tuple[int, list[str]]:
    result = run("check", path, "--format", "github", *flags)
    lines = _outside_inert_blocks(result.stdout)
    assert all(line.startswith("::") for line in lines), lines
    commands = [line.split("::")[1].split(" ")[0] for line in lines]
    assert set(commands) <= {"group", "endgroup", "error", "notice"}, commands
    return result.exit_code, lines


NAMES = st.text(alphabet=st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=40) | \
    st.sampled_from(["a\n::warning::pwned", "::add-mask::secret", "x\r\n::error file=a::b", "%0A::warning::x",
                     "[red]x[/red] :smile:", "\x1b[31mred\x1b[0m", "a,b:c", "\u202e\u2066evil"])


@given(name=NAMES)
def test_github_format_for_hostile_names(tmp_path_factory, name):
    path = tmp_path_factory.mktemp("gh") / "net.yaml"
    path.write_text(f"name: {json.dumps(name)}\n" + NETWORK + "budget:\n  params: 10\n  macs: 1G\n")
    code, lines = _check_github(path, "--notices")
    annotations = [line for line in lines if line.startswith(("::error", "::notice"))]
    if code == 1:                      # the file loaded: one line per check (params fails, macs passes)
        assert [line[:8] for line in annotations] == ["::error ", "::notice"]
    else:                              # the loader refused the name: one annotation for the file
        assert code == 2 and len(annotations) == 1
    for line in annotations:
        assert not re.search(r"[\x00-\x1f\x7f]", line)


@given(name=NAMES)
def test_table_for_hostile_names(tmp_path_factory, name):
    path = tmp_path_factory.mktemp("tb") / "net.yaml"
    path.write_text(f"name: {json.dumps(name)}\n" + NETWORK + "budget:\n  params: 10\n")
    result = run("check", path)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]", result.output)
    if result.exit_code == 1:
        assert "EXCEEDED" in result.stdout
        lines = result.stdout.splitlines()
        assert len(lines) == 7, lines   # title, blank, header, rule, one row, blank, summary


# -- fuzzing the number flags ----------------------------------------------------------------

_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=12)
NUMBER_TEXT = st.one_of(
    st.text(max_size=12),
    _DIGITS,
    st.builds(lambda d, s: d + s, _DIGITS, st.sampled_from(["", "K", "M", "G", "T", "MiB", "GB", "%", "e5", ".5"])),
    st.text(alphabet="0123456789.,x=-+ " + "".join(UNICODE_DIGITS) + "HWeE%", max_size=16),
    st.integers(1, 5000).map(lambda n: "9" * n),
    st.sampled_from(["1e-999999999", "1e999999999", "nan", "inf", "-1", "0", "H=", "=5", ",", "x"]),
)
FLAGS = ["--max-params", "--max-trainable-params", "--max-macs", "--max-flops", "--max-param-memory",
         "--max-activation-memory", "--min-rf", "--max-rf", "--batch", "--input", "--max-growth"]


@given(flag=st.sampled_from(FLAGS), value=NUMBER_TEXT)
def test_fuzz_check_number_flags(files, flag, value):
    extra = ["--baseline", files / "base.json"] if flag == "--max-growth" else []
    run("check", files / "net.yaml", f"{flag}={value}", *extra)


@given(sets=st.lists(NUMBER_TEXT | st.builds(lambda n, v: f"{n}={v}", st.sampled_from(["H", "W", "Q", "H²"]),
                                                 NUMBER_TEXT), min_size=1, max_size=3),
       command=st.sampled_from(["summarize", "rf", "check"]))
def test_fuzz_set_flag(files, sets, command):
    run(command, files / "sym.yaml", *[f"--set={value}" for value in sets])
