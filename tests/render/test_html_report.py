"""The HTML report: self-contained (nothing fetched), its JSON is the report's figures,
a hostile name cannot close the script element; the memory curve peaks at the report's
peak; the report/plot commands exit 0 on good input and 2 with a message on bad.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.api import load
from cnncalc.cli import _Group
from cnncalc.engine import plan
from cnncalc.render.html_report import page_data, render_html, script_json
from cnncalc.render.timeline import memory_timeline
from cnncalc.text import visible

from ..conftest import EXAMPLES, ROOT

# every symbolic example (fcn, fcn_resnet50, deeplabv3_resnet50: input [3, H, W]) drawn at 224 × 224
SIZES = {path.stem: {"H": 224, "W": 224} for path in sorted(EXAMPLES.glob("*.yaml"))
         if "[3, H, W]" in path.read_text(encoding="utf-8")}
EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.yaml"))
DATA = re.compile(r'<script type="application/json" id="cnncalc-data">(.*?)</script>', re.S)


def page(name: str, **kwargs) -> tuple[str, object]:
    network = load(EXAMPLES / f"{name}.yaml")
    report = cnncalc.analyze(network, sizes=SIZES.get(name), **kwargs)
    return render_html(report, network=network, overrides={"sizes": SIZES.get(name), **kwargs}), report


def page_json(text: str) -> dict:
    match = DATA.search(text)
    assert match, "no data script"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def cli() -> click.Group:
    """The report and plot commands on a group of their own (cli.py registers them once wired)."""
    from cnncalc import cli_report

    @click.group(cls=_Group)
    def group() -> None:
        pass
    cli_report.register(group)
    return group


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_memory_curve_peaks_at_the_reports_peak(name):
    network = load(EXAMPLES / f"{name}.yaml")
    report = cnncalc.analyze(network, sizes=SIZES.get(name))
    timeline = memory_timeline(report, plan(network))
    assert max(timeline.allocated + (timeline.start,)) == timeline.peak == report.totals.peak_activation_bytes
    assert timeline.after[-1] >= report.layers[-1].activation_bytes     # the output stays alive


def test_symbolic_sizes_have_no_curve():
    network = load(EXAMPLES / "fcn.yaml")
    assert memory_timeline(cnncalc.analyze(network), plan(network)) is None


def test_page_is_self_contained_and_its_json_is_the_report():
    text, report = page("resnet50")
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(?:https?:)?//|<iframe|\bfetch\(|XMLHttpRequest", text, re.I)
    assert "sourceMappingURL" not in text
    data = page_json(text)
    assert data["totals"] == report.totals.to_dict()          # exact integers (all below 2**53 here)
    assert data["layers"]["name"] == report.layers.names()
    assert data["layers"]["macs"] == [row.macs for row in report.layers]
    assert data["layers"]["explain"][0]                     # conv1's formulas are in the page
    assert data["timeline"]["peak"] == report.totals.peak_activation_bytes
    assert data["budget"] is None
    # every layer's inputs, by index
    names = report.layers.names()
    assert [[names[i] if i >= 0 else "input" for i in f] for f in data["layers"]["from"]] == \
        [list(row.inputs) for row in report.layers]


def test_budget_verdicts_come_from_cnncalc_budget(tmp_path):
    source = (EXAMPLES / "lenet5.yaml").read_text() + "\nbudget:\n  params: 1M\n  macs: 100K\n"
    path = tmp_path / "lenet.yaml"
    path.write_text(source)
    network = load(path)
    data = page_data(cnncalc.analyze(network), network=network)
    expected = cnncalc.check(path)
    assert [c["ok"] for c in data["budget"]["checks"]] == [c.ok for c in expected.checks]
    assert [c["text"] for c in data["budget"]["checks"]] == [c.describe() for c in expected.checks]


NAMES = st.lists(st.one_of(st.sampled_from(["</script>", "</SCRIPT ", "<!--", "<script>", "\u2028", "\u2029", "&",
                                            "]]>", '"', "\\", "\x1b[2J", "\u202e", "@@data@@", "@@js@@"]),
                           st.text(st.characters(exclude_categories=("Cs",), max_codepoint=0xFFFF), max_size=4)),
                 min_size=1, max_size=6).map("".join).filter(lambda s: s.strip() != "")


@settings(max_examples=30)
@given(name=NAMES)
def test_a_hostile_name_cannot_leave_the_script_element(name):
    text = f"name: {json.dumps(name)}\ninput: [1, 8, 8]\nlayers:\n  - Conv2d: {{out_channels: 2, kernel_size: 3}}\n"
    network = cnncalc.loads(text)
    html_text = render_html(cnncalc.analyze(network), network=network)
    assert len(re.findall(r"</script", html_text, re.I)) == 3 == len(re.findall(r"<script", html_text, re.I))
    assert page_json(html_text)["name"] == visible(name)
    assert "\u2028" not in html_text and "\u2029" not in html_text
    assert html_text.count("@@") == 0 or "@@" in visible(name)


def test_script_json_escapes_what_could_end_a_script():
    raw = script_json({"s": "</script><!--\u2028\u2029&"})
    assert not re.search(r"[<>&\u2028\u2029]", raw) and json.loads(raw) == {"s": "</script><!--\u2028\u2029&"}


def test_report_command_writes_the_page(cli, tmp_path):
    out = tmp_path / "unet.html"
    result = CliRunner().invoke(cli, ["report", str(EXAMPLES / "unet.yaml"), "-o", str(out), "--batch", "2"])
    assert result.exit_code == 0, result.output
    data = page_json(out.read_text(encoding="utf-8"))
    assert data["batch"] == 2 and data["input_shape"] == [2, 3, 256, 256]
    assert data["totals"] == cnncalc.analyze(EXAMPLES / "unet.yaml", batch=2).totals.to_dict()


@pytest.mark.parametrize("args, words", [
    (["report", "missing.yaml", "-o", "r.html"], "missing.yaml"),
    (["report", str(EXAMPLES / "unet.yaml"), "-o", "r.txt"], ".html"),
    (["report", str(EXAMPLES / "unet.yaml"), "-o", "r.html", "--batch", "0"], "--batch"),
    (["report", str(EXAMPLES / "unet.yaml"), "-o", "/nonexistent-dir/r.html"], "cannot write"),
    (["plot", str(EXAMPLES / "unet.yaml"), "-o", "c.gif"], ".png"),
    (["plot", str(EXAMPLES / "fcn.yaml"), "-o", "c.png", "--what", "timeline"], "--set"),
])
def test_bad_input_is_one_message_and_exit_2(cli, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("what", ["macs", "params", "memory", "field", "timeline"])
def test_plot_writes_each_chart(cli, tmp_path, what):
    pytest.importorskip("matplotlib")
    png, svg = tmp_path / f"{what}.png", tmp_path / f"{what}.svg"
    for out in (png, svg):
        result = CliRunner().invoke(cli, ["plot", str(EXAMPLES / "resnet18.yaml"), "--what", what, "-o", str(out)])
        assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_plot_without_matplotlib_says_how_to_install_it(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)        # import fails as if not installed
    result = CliRunner().invoke(cli, ["plot", str(EXAMPLES / "lenet5.yaml"), "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 2 and "pip install" in result.output, result.output


def test_summarize_does_not_import_the_pictures():
    code = ("import sys; from click.testing import CliRunner; from cnncalc.cli import main; "
            "r = CliRunner().invoke(main, ['summarize', 'examples/lenet5.yaml']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.startswith(('cnncalc.render.html_report', 'cnncalc.render.plot', "
            "'cnncalc.render.graph', 'cnncalc.render.timeline', 'matplotlib'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_report_train_puts_the_training_step_in_the_page(cli, tmp_path):
    out = tmp_path / "train.html"
    args = ["--train", "--optimizer", "sgd", "--batch", "2"]
    result = CliRunner().invoke(cli, ["report", str(EXAMPLES / "resnet18.yaml"), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    data = page_json(out.read_text(encoding="utf-8"))["training"]
    # the page's figures are summarize --train's (the engine's training step, checked against torch elsewhere)
    from cnncalc.cli import main
    summary = CliRunner().invoke(main, ["summarize", str(EXAMPLES / "resnet18.yaml"), "--format", "json", *args])
    assert summary.exit_code == 0, summary.output
    assert data["totals"] == json.loads(summary.output)["totals"]["training"]
    step = cnncalc.analyze(EXAMPLES / "resnet18.yaml", batch=2, train={"optimizer": "sgd"}).training
    assert data["phase"] == [phase for phase, _, _ in step.timeline]
    assert data["layer"] == [name for _, name, _ in step.timeline]
    assert data["alive"] == [alive for _, _, alive in step.timeline]
    # the marked event is the engine's peak, named as the engine names it
    assert data["alive"][data["peak_event"]] == step.peak_bytes == data["totals"]["peak_bytes"]
    peak_phase, peak_layer = data["phase"][data["peak_event"]], data["layer"][data["peak_event"]]
    assert step.peak_at in (peak_phase, f"{peak_phase}: {peak_layer}")
    assert {"start", "forward", "loss", "backward", "optimizer step"} == set(data["phase"])


def test_report_without_train_has_no_training_step():
    assert page_data(cnncalc.analyze(EXAMPLES / "lenet5.yaml"))["training"] is None


@pytest.mark.parametrize("args, words", [
    (["report", str(EXAMPLES / "lenet5.yaml"), "-o", "r.html", "--optimizer", "sgd"], "--train"),
    (["report", str(EXAMPLES / "fcn.yaml"), "-o", "r.html", "--train"], "concrete"),
    (["plot", str(EXAMPLES / "lenet5.yaml"), "-o", "c.png", "--precision", "fp16-mixed"], "--train"),
])
def test_train_options_refused_as_summarize_refuses_them(cli, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_plot_timeline_of_the_training_step(cli, tmp_path):
    pytest.importorskip("matplotlib")
    svg = tmp_path / "step.svg"
    result = CliRunner().invoke(cli, ["plot", str(EXAMPLES / "lenet5.yaml"), "--what", "timeline", "--train",
                                      "-o", str(svg)])
    assert result.exit_code == 0, result.output
    text = svg.read_text(encoding="utf-8")
    step = cnncalc.analyze(EXAMPLES / "lenet5.yaml", train=True).training
    assert ET.fromstring(text).tag.endswith("svg") and f"at {step.peak_at}" in text
