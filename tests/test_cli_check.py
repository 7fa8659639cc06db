"""`cnncalc check` on the command line: formats, exit codes 0/1/2, globs, baselines, the pre-commit hook.

Expected figures: ResNet-18 has 11,689,512 params (torchvision); digits has
30 + 84 + 3·7·7·10 = 1,584 params and 21,168 + 15,876 + 1,470 = 38,514 MACs
(see tests/test_budget.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main

from .conftest import ROOT

RESNET18_PARAMS = 11_689_512
DIGITS_PARAMS = 1_584
DIGITS_MACS = 38_514

ARCH = """\
name: tiny
input: [3, 32, 32]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - ReLU
  - AdaptiveAvgPool2d: {output_size: 1}
  - Flatten
  - Linear: {out_features: 10}
budget:
  params: 1K
  macs: "200K"
  param_memory: 2KiB
  receptive_field: {min: 30}
"""
# params 8·27+8 + 8·10+10 = 314 (ok); MACs 32·32·8·27 + 80 = 221,264 (> 200K);
# param memory 314·4 = 1,256 B (ok); global field 32 (ok)


def run(*args, input=None):
    return CliRunner().invoke(main, ["check", *map(str, args)], input=input, catch_exceptions=False)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def arch(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text(ARCH)
    return path


# -- exit codes ---------------------------------------------------------------------

def test_exit_0_and_1_on_published_params(example):
    ok = run(example("resnet18"), "--max-params", "12M")
    assert ok.exit_code == 0, ok.output
    assert "11,689,512" in ok.output and "ok" in ok.output and "EXCEEDED" not in ok.output
    over = run(example("resnet18"), "--max-params", "11M")
    assert over.exit_code == 1
    assert "EXCEEDED" in over.output and "resnet18: EXCEEDED, 1 of 1 limits (params)" in over.output


def test_exit_2_bad_file_and_bad_arguments(tmp_path, example):
    missing = run(tmp_path / "missing.yaml", "--max-params", "5M")
    assert missing.exit_code == 2 and "cannot read" in missing.output
    bad_flag = run(example("digits"), "--max-params", "5MB")
    assert bad_flag.exit_code == 2
    assert "--max-params '5MB'" in bad_flag.output and "byte unit" in bad_flag.output
    assert "Traceback" not in bad_flag.output
    bad_memory = run(example("digits"), "--max-param-memory", "5M")
    assert bad_memory.exit_code == 2 and "count suffix" in bad_memory.output
    no_glob = run(tmp_path / "nothing" / "*.yaml")
    assert no_glob.exit_code == 2 and "no file matches" in no_glob.output
    assert run().exit_code == 2                                   # FILE is required
    growth_alone = run(example("digits"), "--max-growth", "5%")
    assert growth_alone.exit_code == 2 and "--max-growth needs --baseline" in growth_alone.output


def test_exit_2_budget_errors_point_at_the_line(tmp_path):
    text = ARCH.replace("params: 1K", "params: 48MiB")
    path = tmp_path / "arch.yaml"
    path.write_text(text)
    result = run(path)
    assert result.exit_code == 2
    line = line_of(text, "params: 48MiB")
    assert f"{path}:{line}:11: budget.params: '48MiB': 'MiB' is a byte unit" in result.output
    path.write_text(ARCH.replace("params: 1K", "parms: 1K"))
    result = run(path)
    assert result.exit_code == 2 and "unknown key 'parms'; did you mean 'params'?" in result.output


def test_no_limits_passes(example):
    result = run(example("digits"))
    assert result.exit_code == 0
    assert "no limits set" in result.output


def test_bad_file_among_good_ones_still_checks_the_others(tmp_path, example):
    broken = tmp_path / "broken.yaml"
    broken.write_text("input: [3, 32, 32]\nlayers: []\n")
    result = run(example("digits"), broken, example("resnet18"), "--max-params", "12M")
    assert result.exit_code == 2                       # a bad file wins over everything
    assert "digits: ok" in result.output and "resnet18: ok" in result.output
    assert "non-empty list" in result.output
    assert "3 files: 2 ok, 0 over budget, 1 could not be checked" in result.output


def test_symbolic_needs_set(tmp_path):
    path = tmp_path / "sym.yaml"
    path.write_text("input: [3, H, W]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n")
    result = run(path, "--max-macs", "1G")
    assert result.exit_code == 2 and "symbolic" in result.output and "--set H=" in result.output
    # 222·222·4 outputs, 27 MACs each = 5,322,672
    assert run(path, "--max-macs", 5_322_672, "--set", "H=224,W=224").exit_code == 0
    assert run(path, "--max-macs", 5_322_671, "--set", "H=224", "--set", "W=224").exit_code == 1


def test_analysis_options(example):
    # 56x56 input: dense 3·14·14·10 = 5,880 -> 5,994 params
    assert run(example("digits"), "--input", "1,56,56", "--max-params", 5_994).exit_code == 0
    assert run(example("digits"), "--input", "1,56,56", "--max-params", 5_993).exit_code == 1
    assert run(example("digits"), "--batch", 2, "--max-macs", 2 * DIGITS_MACS).exit_code == 0
    assert run(example("digits"), "--batch", 2, "--max-macs", 2 * DIGITS_MACS - 1).exit_code == 1
    assert run(example("digits"), "--dtype", "float16", "--max-param-memory", 2 * DIGITS_PARAMS).exit_code == 0
    assert run(example("digits"), "--dtype", "float16", "--max-param-memory", 2 * DIGITS_PARAMS - 1).exit_code == 1
    assert run(example("digits"), "--input", "1,x", "--max-params", 1).exit_code == 2


# -- limits: file and flags -------------------------------------------------------------

def test_each_flag(example):
    digits = example("digits")
    for flag, limit in [("--max-params", DIGITS_PARAMS), ("--max-trainable-params", DIGITS_PARAMS),
                        ("--max-macs", DIGITS_MACS), ("--max-param-memory", 4 * DIGITS_PARAMS),
                        ("--max-activation-memory", 2 * 3 * 28 * 28 * 4), ("--max-rf", 28)]:
        assert run(digits, flag, limit).exit_code == 0, flag
        assert run(digits, flag, limit - 1).exit_code == 1, flag
    assert run(digits, "--max-flops", "1M").exit_code == 0
    assert run(digits, "--max-flops", 2 * DIGITS_MACS - 1).exit_code == 1      # FLOPs >= 2 MACs
    assert run(digits, "--min-rf", 28).exit_code == 0
    assert run(digits, "--min-rf", 29).exit_code == 1


def test_file_budget_and_flags_override(arch):
    from_file = run(arch)
    assert from_file.exit_code == 1                       # macs 221,264 > 200K
    rows = {line.split()[0]: line for line in from_file.output.splitlines() if line.startswith("  ")}
    assert "budget, line" in rows["macs"] and "EXCEEDED" in rows["macs"]
    overridden = run(arch, "--max-macs", "250K")
    assert overridden.exit_code == 0, overridden.output
    rows = {line.split()[0]: line for line in overridden.output.splitlines() if line.startswith("  ")}
    assert "--max-macs" in rows["macs"] and "≤ 250K" in rows["macs"]
    assert "budget, line 10" in rows["params"]           # the file's other limits still apply
    assert run(arch, "--max-macs", "250K", "--max-params", 313).exit_code == 1
    assert run(arch, "--max-macs", "250K", "--min-rf", 33).exit_code == 1


def test_globs_expanded_here(example):
    pattern = str(example("resnet18")).replace("resnet18", "resnet?[08]")     # resnet18 and resnet50 only
    result = run(pattern, "--max-params", "30M")
    assert result.exit_code == 0
    assert "resnet18 — " in result.output and "resnet50 — " in result.output
    assert "2 files: 2 ok" in result.output
    mixed = run(pattern, "--max-params", "12M")          # ResNet-50 (25.6M) is over
    assert mixed.exit_code == 1 and "2 files: 1 ok, 1 over budget" in mixed.output


def test_stdin(arch):
    result = run("-", "--max-macs", "1M", input=arch.read_text())
    assert result.exit_code == 0 and "tiny — <stdin>" in result.output


def test_table_output_matches_python_text(example):
    result = run(example("resnet18"), "--max-params", "11M", "--max-macs", "2G")
    text = cnncalc.check(example("resnet18"), params="11M", macs="2G").text()
    # the same table; only the source differs (a flag, a keyword) and with it the rule's width
    def words(output, sources):
        for source in sources:
            output = output.replace(source, "")
        return [line.split() for line in output.splitlines() if "───" not in line]
    assert words(result.output, ["--max-params", "--max-macs"]) == words(text, ["params=", "macs="])


# -- formats --------------------------------------------------------------------------------

def test_json_format(arch, example):
    result = run(arch, example("digits"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False and data["exit_code"] == 1
    tiny, digits = data["files"]
    assert tiny["name"] == "tiny" and tiny["file"] == str(arch) and tiny["ok"] is False
    assert tiny["totals"]["macs"] == 32 * 32 * 8 * 27 + 80
    macs = next(c for c in tiny["checks"] if c["name"] == "macs")
    assert macs == {**macs, "limit": 200_000, "actual": 221_264, "ok": False, "source": "budget",
                    "line": line_of(ARCH, "macs:"), "col": 9, "kind": "max", "unit": "count"}
    assert macs["margin"] == pytest.approx((200_000 - 221_264) / 200_000 * 100)
    assert digits["checks"] == [] and digits["ok"] is True


def test_json_format_with_a_bad_file(tmp_path, example):
    broken = tmp_path / "broken.yaml"
    broken.write_text("input: [3, 32, 32]\nlayers: [{Conv2d: {kernel_size: 3}}]\n")
    result = run(example("digits"), broken, "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert data["exit_code"] == 2 and data["files"][1]["file"] == str(broken) and "error" in data["files"][1]


def test_github_format_points_at_budget_lines(arch):
    result = run(arch, "--format", "github")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file={arch},line={line_of(ARCH, 'macs:')},col=9,title=cnncalc check%3A macs::")
    assert "tiny: macs 221,264" in errors[0] and "by 10.6%25" in errors[0]          # '%' escaped
    assert "::group::cnncalc check" in result.output and "::endgroup::" in result.output


def test_github_format_flags_point_at_line_1(arch, example):
    result = run(arch, "--max-params", 100, "--max-macs", "1M", "--format", "github")
    errors = [line for line in result.output.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and errors[0].startswith(f"::error file={arch},line=1,col=1,")
    assert "(--max-params)" in errors[0]
    passing = run(example("digits"), "--max-params", "5M", "--format", "github")
    assert passing.exit_code == 0 and "::error" not in passing.output
    notices = run(example("digits"), "--max-params", "5M", "--format", "github", "--notices")
    assert "::notice file=" in notices.output


def test_github_format_bad_file(tmp_path):
    text = ARCH.replace("macs: \"200K\"", "macs: 200KiB")
    path = tmp_path / "arch.yaml"
    path.write_text(text)
    result = run(path, "--format", "github")
    assert result.exit_code == 2
    assert f"::error file={path},line={line_of(text, 'macs:')},col=9,title=cnncalc check%3A invalid file::" \
        in result.output


def test_github_escaping():
    from cnncalc.budget import github_command
    line = github_command("error", "100% done\nnext", "a,b:c.yaml", 3, 4, title="t: x")
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,col=4,title=t%3A x::100%25 done%0Anext"


# -- the baseline guard ---------------------------------------------------------------------

def save_baseline(tmp_path, path, **totals):
    saved = CliRunner().invoke(main, ["summarize", str(path), "--format", "json"])
    assert saved.exit_code == 0
    report = json.loads(saved.output)
    report["totals"].update(totals)
    target = tmp_path / "baseline.json"
    target.write_text(json.dumps(report))
    return target


def test_baseline_unchanged(tmp_path, example):
    baseline = save_baseline(tmp_path, example("digits"))
    result = run(example("digits"), "--baseline", baseline)
    assert result.exit_code == 0, result.output
    assert "vs baseline" in result.output and "params growth" in result.output and "+0 (0.0%)" in result.output


def test_baseline_growth_over_and_under(tmp_path, example):
    # 1,500 -> 1,584 params: +84, +5.6%
    over = run(example("digits"), "--baseline", save_baseline(tmp_path, example("digits"), params=1_500))
    assert over.exit_code == 1
    row = next(line for line in over.output.splitlines() if line.strip().startswith("params growth"))
    assert "+84 (+5.6%)" in row and "EXCEEDED" in row and "(+5%)" in row
    baseline = save_baseline(tmp_path, example("digits"), params=1_510)          # +4.9%
    assert run(example("digits"), "--baseline", baseline).exit_code == 0
    assert run(example("digits"), "--baseline", baseline, "--max-growth", "4%").exit_code == 1
    assert run(example("digits"), "--baseline", baseline, "--max-growth", "0.05").exit_code == 0
    assert run(example("digits"), "--baseline", baseline, "--max-growth", "5").exit_code == 2


def test_baseline_github_and_json(tmp_path, example):
    baseline = save_baseline(tmp_path, example("digits"), macs=30_000)
    github = run(example("digits"), "--baseline", baseline, "--format", "github")
    errors = [line for line in github.output.splitlines() if line.startswith("::error")]
    assert [e.split("title=")[1].split("::")[0] for e in errors] == ["cnncalc check%3A macs growth"]
    assert ",line=1,col=1," in errors[0] and "macs changed by +28.4%25" in errors[0]   # 38,514 / 30,000
    data = json.loads(run(example("digits"), "--baseline", baseline, "--format", "json").output)
    macs = next(c for c in data["files"][0]["checks"] if c["name"] == "macs growth")
    assert macs["baseline"] == 30_000 and macs["limit"] == 31_500 and macs["max_growth"] == "5%"
    assert macs["delta"] == pytest.approx(28.38)


def test_check_json_output_is_a_baseline(tmp_path, example):
    saved = run(example("digits"), example("resnet18"), "--format", "json")
    path = tmp_path / "check.json"
    path.write_text(saved.output)
    assert run(example("digits"), example("resnet18"), "--baseline", path).exit_code == 0
    missing = run(example("resnet50"), example("digits"), "--baseline", path)
    assert missing.exit_code == 2 and "no report named 'resnet50'" in missing.output


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"name": "digits"}', "no 'totals' object"),
    ('{"totals": {"params": 1}}', "'totals' lacks"),
    ("[1, 2]", "expected a JSON object"),
])
def test_malformed_baseline_exit_2(tmp_path, example, content, message):
    path = tmp_path / "baseline.json"
    path.write_text(content)
    result = run(example("digits"), "--baseline", path)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


# -- the pre-commit hook ----------------------------------------------------------------------

HOOK_FILES = ["arch.yaml", "models/resnet.yaml", "archs/a.yml", "net/resnet.arch.yaml", "x/y-arch.yml",
              "architectures/deep/v2.yaml"]
NOT_HOOK_FILES = [".github/workflows/ci.yml", "config.yaml", "march.yaml", ".pre-commit-config.yaml",
                  "models/readme.md"]


def test_hook_manifest():
    pytest.importorskip("pre_commit")
    from pre_commit.clientlib import load_manifest
    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "cnncalc-check" and hook["entry"] == "cnncalc check"
    assert hook["language"] == "python" and hook["types"] == ["yaml"] and hook["pass_filenames"]
    files = re.compile(hook["files"])
    assert all(files.search(name) for name in HOOK_FILES)
    assert not any(files.search(name) for name in NOT_HOOK_FILES)


def _git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.mark.skipif(bool(os.environ.get("CNNCALC_SKIP_PRECOMMIT")),
                    reason="CNNCALC_SKIP_PRECOMMIT is set (the test builds the hook's own virtualenv and "
                           "pip-installs cnncalc, click, rich and pyyaml into it: 20-75 s, needs PyPI)")
def test_pre_commit_try_repo(tmp_path):
    """pre-commit installs the hook from this checkout (language: python) and runs it on the passed files."""
    if shutil.which("git") is None or shutil.which("pre-commit") is None:
        pytest.skip("needs git and pre-commit")
    # the checkout as it is on disk (tracked and untracked, not ignored), committed in a scratch repo
    source = tmp_path / "cnncalc-src"
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file() and not name.startswith(("examples/", "tests/", "bench/")):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _git("init", "-q", cwd=source)
    _git("add", "-A", cwd=source)
    _git("commit", "-q", "-m", "snapshot", cwd=source)

    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)
    _git("init", "-q", cwd=work)
    (work / "arch.yaml").write_text(ARCH)                                    # macs 221,264 > 200K
    (work / "models" / "small.yaml").write_text(ARCH.replace("name: tiny", "name: small")
                                                .replace('macs: "200K"', "macs: 300K"))
    (work / "notes.yaml").write_text("just: some yaml\n")          # not an architecture file: not passed
    _git("add", "arch.yaml", "models/small.yaml", "notes.yaml", cwd=work)
    env = dict(os.environ, HOME=str(tmp_path / "home"), PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               PIP_NO_COMPILE="1")
    env.pop("VIRTUAL_ENV", None)
    # one run (each try-repo builds its own environment): one file passes, one fails
    run_ = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(source), "cnncalc-check",
                           "--verbose", "--files", "arch.yaml", "models/small.yaml", "notes.yaml"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=600)
    output = run_.stdout + run_.stderr
    assert run_.returncode == 1, output
    assert "cnncalc budget check" in output and "Failed" in output
    assert "small: ok, 4 limits met" in output
    assert "tiny: EXCEEDED, 1 of 4 limits (macs)" in output
    assert "2 files: 1 ok, 1 over budget" in output                 # notes.yaml was filtered out


def test_help_examples_run(tmp_path, monkeypatch):
    """Every example in `check --help` runs as written (from the repository root): exit 0 or 1, never 2."""
    import shlex

    from cnncalc.cli_check import EXAMPLES
    help_text = CliRunner().invoke(main, ["check", "--help"]).output
    examples = [line.split("#")[0].strip() for line in EXAMPLES.splitlines() if line.strip().startswith("cnncalc")]
    assert len(examples) >= 5 and all(example in help_text for example in examples)
    monkeypatch.chdir(ROOT)
    baseline = tmp_path / "base.json"
    for example in examples:
        words = shlex.split(example)[1:]
        if ">" in words:                                   # cnncalc summarize ... > base.json
            words = words[:words.index(">")]
            result = CliRunner().invoke(main, words)
            baseline.write_text(result.stdout)
        else:
            result = CliRunner().invoke(main, [str(baseline) if w == "base.json" else w for w in words])
        assert result.exit_code in (0, 1), (example, result.output)
