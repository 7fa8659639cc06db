"""The command line: formats, overrides, standard input, exit codes, imports."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import EXAMPLES, ROOT

runner = CliRunner()


def invoke(*args, input=None):
    return runner.invoke(main, list(args), input=input)


def test_version_and_help():
    assert invoke("--version").output.startswith("cnncalc, version ")
    result = invoke("--help")
    assert result.exit_code == 0 and "Examples:" in result.output and "summarize" in result.output


def test_summarize_json_matches_published_resnet50():
    result = invoke("summarize", str(EXAMPLES / "resnet50.yaml"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"]["params"] == 25_557_032          # torchvision
    assert round(data["totals"]["macs"] / 1e9, 3) == 4.089  # torchvision's GFLOPS column
    assert data["output_shape"] == [1, 1000]


def test_csv_rows_sum_to_total_row():
    result = invoke("summarize", str(EXAMPLES / "resnet18.yaml"), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    body, total = rows[:-1], rows[-1]
    for key in ("params", "macs", "flops", "activation_bytes"):
        assert sum(int(r[key]) for r in body) == int(total[key])
    assert int(total["params"]) == 11_689_512


def test_depth_folding_keeps_totals():
    full = invoke("summarize", str(EXAMPLES / "resnet50.yaml"), "--format", "csv")
    folded = invoke("summarize", str(EXAMPLES / "resnet50.yaml"), "--format", "csv", "--depth", "0")
    full_rows = list(csv.DictReader(io.StringIO(full.output)))
    folded_rows = list(csv.DictReader(io.StringIO(folded.output)))
    assert len(folded_rows) < len(full_rows)
    assert folded_rows[-1] == full_rows[-1]
    assert sum(int(r["params"]) for r in folded_rows[:-1]) == 25_557_032


def test_markdown():
    result = invoke("summarize", str(EXAMPLES / "digits.yaml"), "--format", "markdown")
    assert result.exit_code == 0
    assert result.output.splitlines()[2].startswith("| layer | type |")


def test_stdin_and_overrides():
    text = "input: [3, 32, 32]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 3}\n"
    result = invoke("summarize", "-", "--format", "json", "--input", "3,64,48", "--batch", "2", "--dtype",
                    "float16", input=text)
    data = json.loads(result.output)
    assert data["output_shape"] == [2, 8, 62, 46]
    assert data["totals"]["activation_bytes"] == 2 * 8 * 62 * 46 * 2


def test_set_gives_symbols_values():
    result = invoke("summarize", str(EXAMPLES / "fcn.yaml"), "--set", "H=320,W=480", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["output_shape"][2:] == [320, 480]


@pytest.mark.parametrize("args", [
    ["summarize", "missing.yaml"],
    ["summarize", str(EXAMPLES / "resnet18.yaml"), "--input", "3,-1,4"],
    ["summarize", str(EXAMPLES / "resnet18.yaml"), "--set", "H=512"],
    ["summarize", str(EXAMPLES / "fcn.yaml"), "--set", "H=abc"],
    ["summarize", str(EXAMPLES / "resnet18.yaml"), "--dtype", "float31"],
    ["summarize", str(EXAMPLES / "resnet18.yaml"), "--format", "xml"],
])
def test_bad_arguments_exit_2_without_traceback(args):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_shape_error_names_file_line_and_layer(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n"
                    "  - Conv2d: {out_channels: 4, kernel_size: 7}\n")
    result = invoke("summarize", str(path))
    assert result.exit_code == 2
    first = result.output.splitlines()[0]
    assert first.startswith(f"error: {path}:4:5: conv2d_1 (Conv2d): kernel_size 7x7 exceeds the padded input 6x6")


def _imported_modules(args):
    code = ("import sys, runpy; sys.argv = ['cnncalc'] + %r\n"
            "try:\n    runpy.run_module('cnncalc.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)") % (args,)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return set(done.stderr.split())


@pytest.mark.parametrize("args", [["summarize", str(EXAMPLES / "resnet50.yaml")],
                                  ["summarize", str(EXAMPLES / "resnet50.yaml"), "--format", "json"],
                                  ["check", str(EXAMPLES / "resnet50.yaml"), "--max-params", "30M"],
                                  ["rf", str(EXAMPLES / "resnet50.yaml")],
                                  ["explain", str(EXAMPLES / "resnet50.yaml"), "conv1"]])
def test_core_commands_import_neither_torch_numpy_nor_sympy(args):
    modules = _imported_modules(args)
    assert "cnncalc.engine.analyze" in modules                 # it really ran
    assert not {"torch", "numpy", "sympy", "matplotlib"} & modules


def _core_distributions() -> set[str]:
    """cnncalc's core requirements (no extras) and everything they require, by distribution name."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    def name(requirement: str) -> str:
        return re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    pending = [name(r) for r in requires("cnncalc") or [] if "extra ==" not in r]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            pending += [name(r) for r in requires(current) or [] if "extra ==" not in r]
        except PackageNotFoundError:
            pass
    return seen


@pytest.mark.parametrize("args", [["summarize", str(EXAMPLES / "fcn.yaml")],
                                  ["sizes", str(EXAMPLES / "unet.yaml"), "--limit", "64"],
                                  ["check", str(EXAMPLES / "fcn.yaml"), "--max-params", "1M"]])
def test_core_commands_need_only_core_dependencies(args):
    """`pip install .` alone must run them: every third-party module they import is a core requirement's."""
    from importlib.metadata import packages_distributions
    owners = packages_distributions()
    allowed = _core_distributions()
    stdlib = set(sys.stdlib_module_names)
    bare = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
                          capture_output=True, text=True).stdout.split()   # what site start-up imports anyway
    imported = {m.split(".")[0] for m in _imported_modules(args)} - stdlib - {"cnncalc"} - \
        {m.split(".")[0] for m in bare}
    outside = {m for m in imported if m in owners
               and not {d.lower().replace("_", "-") for d in owners[m]} & allowed}
    assert not outside, f"imported but not a core dependency: {sorted(outside)}"


# -- the views (issue 9) ------------------------------------------------------------------------

def _table_rows(output: str) -> list[str]:
    lines = output.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith(" ───")]
    return lines[rules[0] + 1:rules[1]]


def test_table_folds_to_depth_1_by_default_and_says_how_to_unfold():
    import cnncalc
    layers = len(cnncalc.analyze(EXAMPLES / "resnet50.yaml").layers)
    default = invoke("summarize", str(EXAMPLES / "resnet50.yaml"))
    every = invoke("summarize", str(EXAMPLES / "resnet50.yaml"), "--depth", "all")
    assert default.exit_code == every.exit_code == 0
    assert len(_table_rows(every.output)) == layers
    assert len(_table_rows(default.output)) < layers / 4
    assert "--depth all" in default.output and "--depth all" not in every.output
    assert _table_rows(default.output) == _table_rows(invoke("summarize", str(EXAMPLES / "resnet50.yaml"),
                                                             "--depth", "1").output)


def test_depth_refuses_what_is_neither_a_number_nor_all():
    result = invoke("summarize", str(EXAMPLES / "resnet18.yaml"), "--depth", "deep")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_streamed_json_is_json_dumps_of_the_report():
    import cnncalc
    for stem in ("resnet50", "fcn", "unet"):
        result = invoke("summarize", str(EXAMPLES / f"{stem}.yaml"), "--format", "json")
        expected = json.dumps(cnncalc.analyze(EXAMPLES / f"{stem}.yaml").to_dict(), indent=2)
        assert result.stdout == expected + "\n", stem


@pytest.mark.parametrize("how", [["--width", "80"], ["--width", "200"], "COLUMNS=80", "COLUMNS=200"])
def test_symbolic_table_fits_the_terminal_and_shows_each_formula_once(how):
    args = ["summarize", str(EXAMPLES / "fcn.yaml")]
    if isinstance(how, str):
        width = int(how.split("=")[1])
        result = runner.invoke(main, args, env={"COLUMNS": str(width)})
    else:
        width = int(how[1])
        result = invoke(*args, *how)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= width
    macs = [line for line in result.stdout.splitlines() if line.startswith("MACs:")]
    assert len(macs) == 1 and "(" + macs[0][len("MACs: "):].split(" ")[0] not in macs[0]


def test_footer_says_the_peak_counts_the_input():
    text = invoke("summarize", str(EXAMPLES / "resnet18.yaml")).output
    memory = next(line for line in text.splitlines() if line.startswith("Memory"))
    peak = next(line for line in text.splitlines() if line.startswith("Peak activations"))
    assert "summed over all layers" in memory and "input included" in peak


def test_explain_of_an_unknown_layer_fails_before_printing_the_table():
    result = invoke("summarize", str(EXAMPLES / "resnet50.yaml"), "--explain", "nothere")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "nothere" in result.stderr


def test_summarize_explain_reads_standard_input_once():
    text = (EXAMPLES / "digits.yaml").read_text()
    import cnncalc
    first = cnncalc.analyze(EXAMPLES / "digits.yaml").layers[0].name
    result = invoke("summarize", "-", "--explain", first, input=text)
    assert result.exit_code == 0, result.output
    assert f"{first} (" in result.stdout


def test_rf_takes_depth_and_no_dtype():
    import cnncalc
    layers = len(cnncalc.analyze(EXAMPLES / "resnet50.yaml").layers)
    every = invoke("rf", str(EXAMPLES / "resnet50.yaml"), "--depth", "all")
    folded = invoke("rf", str(EXAMPLES / "resnet50.yaml"), "--depth", "0")
    assert every.exit_code == folded.exit_code == 0
    body = [line for line in every.output.splitlines()[4:] if line.strip()][:-1]
    assert len(body) == layers
    assert len(folded.output.splitlines()) < len(every.output.splitlines())
    assert invoke("rf", str(EXAMPLES / "resnet50.yaml"), "--dtype", "float16").exit_code == 2


@pytest.mark.parametrize("command", ["summarize", "rf", "sizes", "explain"])
def test_command_help_has_examples(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    examples = result.output.split("Examples:")[1].split()
    assert examples.count("cnncalc") >= 3 and examples[1] == command
