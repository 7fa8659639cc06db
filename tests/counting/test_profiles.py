"""Profiles without the peers: API and CLI behaviour, notes, reasons documented, no torch on the path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnncalc.api import analyze
from cnncalc.cli import main
from cnncalc.counting import PEERS, profile
from cnncalc.errors import ArgumentError
from tests.conftest import EXAMPLES, ROOT

RESNET50 = str(EXAMPLES / "resnet50.yaml")


def test_every_reason_is_a_line_of_the_conventions():
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    for peer in PEERS:
        for line in profile(peer).reasons.values():
            assert f"- {line}\n" in text, (peer, line)


def test_flopcounter_is_twice_cnncalc_macs_and_notes_the_rest():
    plain = analyze(RESNET50)
    counted = analyze(RESNET50, count_as="flopcounter")
    assert counted.totals.macs == plain.totals.macs and counted.totals.flops == 2 * plain.totals.macs
    assert counted.layers["conv1"].count_note is None
    assert counted.layers["bn1"].count_note.startswith("FlopCounterMode:")
    assert counted.to_dict()["counted_as"] == "flopcounter"
    assert "counted_as" not in plain.to_dict() and "count_note" not in plain.to_dict()["layers"][1]


def test_peer_without_flops_keeps_cnncalc_flops():
    plain, counted = analyze(RESNET50), analyze(RESNET50, count_as="fvcore")
    assert counted.totals.flops == plain.totals.flops
    assert counted.totals.macs - plain.totals.macs == 22_227_968 + 100_352   # BN 2 per element, avg pool input


@pytest.mark.parametrize("bad", ["fvcor", "", 3, "FLOPS"])
def test_unknown_peer_is_one_argument_error(bad):
    with pytest.raises(ArgumentError, match="expected one of torchinfo"):
        analyze(RESNET50, count_as=bad)


def test_symbolic_sizes_are_refused_with_a_hint():
    with pytest.raises(ArgumentError, match="needs concrete sizes"):
        analyze(EXAMPLES / "fcn.yaml", count_as="thop")
    assert analyze(str(EXAMPLES / "fcn.yaml"), sizes={"H": 64, "W": 64}, count_as="thop").totals.macs > 0


def test_summarize_count_as_and_compare_on_the_command_line():
    runner = CliRunner()
    result = runner.invoke(main, ["summarize", RESNET50, "--count-as", "thop", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["totals"]["macs"] == 4_133_742_592
    table = runner.invoke(main, ["summarize", RESNET50, "--count-as", "ptflops"])
    assert "Counted as ptflops" in table.output and "4,132,436,968" in table.output
    bad = runner.invoke(main, ["summarize", RESNET50, "--count-as", "nope"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    compared = runner.invoke(main, ["compare", RESNET50])
    assert compared.exit_code == 0
    total = next(line for line in compared.output.splitlines() if line.startswith("Total"))
    assert total.split()[1:] == ["4,089,184,256", "4,089,238,376", "4,111,512,576", "4,132,436,968",
                                 "4,133,742,592", "4,113,120,256", "4,089,184,256"]
    symbolic = runner.invoke(main, ["compare", str(EXAMPLES / "fcn.yaml")])
    assert symbolic.exit_code == 2 and "--set" in symbolic.output


def test_compare_and_count_as_do_not_import_torch():
    code = ("import sys; from click.testing import CliRunner; from cnncalc.cli import main; "
            f"r = CliRunner().invoke(main, ['compare', {RESNET50!r}]); assert r.exit_code == 0, r.output; "
            f"r = CliRunner().invoke(main, ['summarize', {RESNET50!r}, '--count-as', 'torchscan']); "
            "assert r.exit_code == 0; assert 'torch' not in sys.modules and 'numpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_check_compares_macs_limits_with_the_peers_figures():
    """ResNet-50: 4.089G MACs by cnncalc, 4.132G by ptflops (its documented double counts): a 4.1G limit
    holds for the one and fails for the other, through the API and the command line."""
    import cnncalc
    from click.testing import CliRunner
    from cnncalc.cli import main
    path = str(EXAMPLES / "resnet50.yaml")
    exact = cnncalc.check(path, macs="4.1G")
    peer = cnncalc.check(path, macs="4.1G", count_as="ptflops")
    assert exact.ok and not peer.ok
    assert peer.report.totals.macs == cnncalc.analyze(path, count_as="ptflops").totals.macs
    result = CliRunner().invoke(main, ["check", path, "--max-macs", "4.1G", "--count-as", "ptflops"])
    assert result.exit_code == 1 and "as ptflops counts them" in result.output
    bad = CliRunner().invoke(main, ["check", path, "--count-as", "nope"])
    assert bad.exit_code == 2


def test_compare_fits_an_80_column_terminal():
    """Wider than the terminal, the table turns to a row per tool with compact figures; the totals
    are the same figures (4.089G for cnncalc on ResNet-50)."""
    path = str(EXAMPLES / "resnet50.yaml")
    narrow = CliRunner().invoke(main, ["compare", path, "--width", "80"])
    wide = CliRunner().invoke(main, ["compare", path, "--width", "200"])
    assert narrow.exit_code == wide.exit_code == 0
    table = narrow.output.split("\nWhy:")[0].splitlines()
    assert max(len(line) for line in table) <= 80
    rows = {line.split()[0]: line.split()[-1] for line in table[4:] if line.strip()}
    assert set(rows) == set(PEERS) | {"cnncalc"} and rows["cnncalc"] == "4.089G"
    assert "4,089,184,256" in wide.output and max(len(line) for line in wide.output.splitlines()[:12]) > 80
