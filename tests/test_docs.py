"""Every code block and every shown output in README.md and docs/*.md is run.

A block's info string says what it is and how it is checked:

- ``console``: ``$ command`` lines, each followed by exactly what it prints
  (standard output and error together, as a terminal shows them). The
  command runs with bash in a sandbox (below) and its output must match.
- ``bash``/``sh``: commands a reader runs. ``cnncalc`` lines run in the sandbox
  and must exit 0 (or 1 for a ``check`` shown failing, stated by
  ``# exits 1``); ``pip install`` lines are the installs README promises and
  are compared with what ``.ci/run`` does instead of being run here.
- ``python``: executed as a script; ``pycon``: a doctest (``>>>`` with output).
- ``yaml``: an architecture file (it has ``layers:``) is analysed and its
  ``budget:`` must hold; any other YAML (a workflow, a hook) must parse, and
  the cnncalc commands in its ``run:`` lines (a workflow's steps) must run.
- ``text``: the output of a benchmark script, measured, so not comparable:
  it must say which script (``<!-- bench: bench/x.py -->`` above the block),
  and that script must exist and accept ``--help``.
- ``schema``: the shape of the JSON report; every quoted key in it must be a
  key of a real ``summarize --format json`` report, and every key of that
  report must be in it.
- ``mermaid``/``dot``: a drawing; ``<!-- output of: cnncalc ... -->`` above it
  names the command whose output it is, and that output must match.

An unlabelled block is an error: the reader cannot tell what it is.

The sandbox is a temporary directory holding ``examples/`` and the files of
``tests/data/docs/`` (the ``arch.yaml`` and ``models/`` that docs refer to),
so commands that write files (``-o model.py``) leave the checkout clean.
``python -m tests.test_docs --update`` rewrites console outputs in place.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIXTURES = ROOT / "tests" / "data" / "docs"
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
DIRECTIVE = re.compile(r"<!--\s*(bench|output of):\s*(.*?)\s*-->\s*$")
COLUMNS = "140"            # console outputs are shown as a 140-column terminal prints them (a wide one)


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int              # 1-based line of the opening fence
    lang: str
    body: str
    start: int             # offsets of the body in the document's text
    end: int
    directive: tuple[str, str] | None

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            directive = DIRECTIVE.search(before)
            found.append(Block(doc, text.count("\n", 0, match.start()) + 1, match.group(1), match.group(2),
                               match.start(2), match.end(2),
                               (directive.group(1), directive.group(2)) if directive else None))
    return found


ALL = blocks()


def _of(*langs: str) -> list:
    return [pytest.param(b, id=b.id) for b in ALL if b.lang in langs]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "examples", where / "examples")
    if FIXTURES.is_dir():
        shutil.copytree(FIXTURES, where, dirs_exist_ok=True)
    return where


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(COLUMNS=COLUMNS, LINES="50", NO_COLOR="1", TERM="dumb", PYTHONIOENCODING="utf-8",
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    env.pop("FORCE_COLOR", None)
    return env


def run_shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """``command`` in bash, standard error merged into standard output in the order printed."""
    return subprocess.run(["bash", "-c", "exec 2>&1\n" + command], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


STEP = "@@cnncalc-docs-step@@"


def run_console(steps: list[tuple[str, str]], cwd: Path) -> list[str]:
    """What each command of a console block prints, run in one shell as a reader types them ($? carries)."""
    script = "".join(f"printf '%s' '{STEP}'\n{command}\n" for command, _ in steps)
    printed = run_shell(script, cwd).stdout
    return printed.split(STEP)[1:]


def console_steps(body: str) -> list[tuple[str, str]]:
    """[(command, expected output)] of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif not steps:
            raise AssertionError(f"console block starts with output, not a '$ ' command: {line!r}")
        else:
            steps[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in steps]


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def _printed(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


def test_every_block_is_labelled():
    unlabelled = [b.id for b in ALL if not b.lang]
    known = {"console", "bash", "sh", "python", "pycon", "yaml", "text", "schema", "mermaid", "dot"}
    unknown = [f"{b.id} ({b.lang})" for b in ALL if b.lang and b.lang not in known]
    assert not unlabelled and not unknown, (unlabelled, unknown)


@pytest.mark.parametrize("block", _of("console"))
def test_console_output_matches(block: Block, sandbox: Path):
    steps = console_steps(block.body)
    for (command, expected), printed in zip(steps, run_console(steps, sandbox), strict=True):
        assert _normal(printed) == _normal(expected), f"{block.id}: $ {command}"


SHELL_OK_EXIT = re.compile(r"#\s*exits (\d)")


@pytest.mark.parametrize("block", _of("bash", "sh"))
def test_shell_commands_run(block: Block, sandbox: Path):
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for line in block.body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in (p.strip() for p in line.split("&&")):
            if part.startswith("pip install"):
                # installs are not run here; CI runs README's install and test command (.ci/run)
                assert part.split()[:2] == ["pip", "install"], part
                continue
            if part.startswith("python -m pytest"):
                assert "python -m pytest" in ci, ".ci/run must run README's test command"
                continue
            code = SHELL_OK_EXIT.search(part)
            command = SHELL_OK_EXIT.sub("", part).strip()
            done = run_shell(command, sandbox)
            assert done.returncode == (int(code.group(1)) if code else 0), f"{block.id}: {command}\n{_printed(done)}"


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = 'pip install -c constraints.txt -e ".[dev]" && python -m pytest'
    assert test_command in readme
    assert 'pip install --quiet -c constraints.txt -e ".[dev]"' in ci and "python -m pytest" in ci


@pytest.mark.parametrize("block", _of("python"))
def test_python_runs(block: Block, sandbox: Path, monkeypatch):
    monkeypatch.chdir(sandbox)
    namespace: dict = {"__name__": "__docs__"}
    exec(compile(block.body, block.id, "exec"), namespace)
    for name, value in list(namespace.items()):       # a pytest example in the docs: it must pass
        if name.startswith("test_") and callable(value):
            value()


@pytest.mark.parametrize("block", _of("pycon"))
def test_doctest(block: Block, sandbox: Path, monkeypatch):
    monkeypatch.chdir(sandbox)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.body, {}, block.id, str(block.doc), block.line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda text: sys.stdout.write(text))
    assert runner.failures == 0, f"{block.id}: {runner.failures} doctest failure(s)"


@pytest.mark.parametrize("block", _of("yaml"))
def test_yaml_blocks(block: Block, sandbox: Path, monkeypatch):
    data = yaml.safe_load(block.body)
    if isinstance(data, dict) and "layers" in data:
        import cnncalc
        report = cnncalc.analyze(cnncalc.loads(block.body, block.id))
        if "budget" in data:
            cnncalc.check(cnncalc.loads(block.body, block.id), strict=True)
        assert report.totals.params >= 0
        return
    if isinstance(data, dict) and set(data) <= {"budget"}:
        # a `budget:` section on its own: it must read as a budget
        from cnncalc.budget import read_budget
        from cnncalc.spec.yaml_source import parse_yaml
        read_budget(parse_yaml(block.body, block.id).get("budget"))
        return
    # a workflow or a hook: its cnncalc commands must run
    for command in re.findall(r"^\s*(?:-\s*)?run:\s*(cnncalc\b.*)$", block.body, re.M):
        done = run_shell(command, sandbox)
        assert done.returncode in (0, 1), f"{block.id}: {command}\n{_printed(done)}"


@pytest.mark.parametrize("block", _of("text"))
def test_bench_blocks_name_their_script(block: Block):
    assert block.directive and block.directive[0] == "bench", f"{block.id}: say which bench script printed it"
    script = ROOT / block.directive[1].split()[0]
    assert script.is_file(), script
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr


def _keys(value, into: set) -> set:
    if isinstance(value, dict):
        for key, item in value.items():
            into.add(key)
            _keys(item, into)
    elif isinstance(value, list):
        for item in value:
            _keys(item, into)
    return into


@pytest.mark.parametrize("block", _of("schema"))
def test_schema_blocks_name_the_real_keys(block: Block):
    import cnncalc
    real: set = set()
    for example in ("resnet18", "unet", "fcn"):
        _keys(cnncalc.analyze(ROOT / "examples" / f"{example}.yaml").to_dict(), real)
    shown = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', block.body))
    assert shown - real == set(), f"{block.id}: keys the report does not have"
    assert real - shown == set(), f"{block.id}: keys the report has that the schema does not show"


@pytest.mark.parametrize("block", _of("mermaid", "dot"))
def test_drawings_are_real_output(block: Block, sandbox: Path):
    assert block.directive and block.directive[0] == "output of", f"{block.id}: say which command printed it"
    done = run_shell(block.directive[1], sandbox)
    assert done.returncode == 0 and _normal(done.stdout) == _normal(block.body)


def update() -> None:
    """Rewrite every console block's outputs with what the commands print now."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        shutil.copytree(ROOT / "examples", where / "examples")
        if FIXTURES.is_dir():
            shutil.copytree(FIXTURES, where, dirs_exist_ok=True)
        for doc in DOCS:
            text = doc.read_text(encoding="utf-8")
            pieces, last = [], 0
            for block in (b for b in ALL if b.doc == doc and b.lang in ("console", "mermaid", "dot")):
                if block.lang == "console":
                    new = []
                    steps = console_steps(block.body)
                    for (command, _), printed in zip(steps, run_console(steps, where), strict=True):
                        new += [f"$ {command}", _normal(printed)]
                    body = "\n".join(line for line in new if line != "") + "\n"
                elif block.directive and block.directive[0] == "output of":
                    body = _normal(run_shell(block.directive[1], where).stdout) + "\n"
                else:
                    continue
                pieces += [text[last:block.start], body]
                last = block.end
            pieces.append(text[last:])
            doc.write_text("".join(pieces), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        print(__doc__)
