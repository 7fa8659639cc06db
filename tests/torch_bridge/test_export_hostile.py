"""`cnncalc export` against hostile names: nothing a file says runs, every name loads.

A network name (or file stem) that tries to close the docstring and plant code,
layer names that Python would mangle (``__conv``), keywords, ``nn.Module``
attributes, and class names that would shadow what the module uses. Each export
must parse (``ast.parse``), run nothing on import (a marker file is never
created), keep the name exactly (the docstring evaluates to it), and -- where
torch is installed -- give the same ``state_dict`` keys as ``cnncalc.to_torch``.
The export itself must run with torch absent.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.cli import main
from cnncalc.errors import ArgumentError
from cnncalc.torch_bridge.export import class_name_for, class_name_problem, export_source, python_string

ROOT = Path(__file__).resolve().parents[2]


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar for any text: everything outside printable ASCII escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def network(name: str | None, layers: str = "  - Conv2d: {out_channels: 2, kernel_size: 3}\n", blocks: str = "") -> str:
    head = "" if name is None else f"name: {yaml_string(name)}\n"
    return f"{head}input: [1, 6, 6]\n{blocks}layers:\n{layers}"


def load_source(source: str, path: Path, module_name: str):
    """Write ``source`` to ``path`` and import it (needs torch)."""
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exported_class(module):
    torch = pytest.importorskip("torch")
    return next(v for k, v in vars(module).items()
                if isinstance(v, type) and issubclass(v, torch.nn.Module) and k != "Scope")


def payload(marker: Path) -> list[str]:
    """Names that try to break out of a docstring, a string or a comment and create ``marker``."""
    code = f"open({str(marker)!r}, 'w').close()"
    return [
        f'x"""\n{code}\n"""',
        f"x'''\n{code}\n'''",
        f'x"\n{code}\n"',
        f"x\\\n{code}\n#",
        f'"""; {code}; """',
        f"\\\"\"\"\n{code}  #",
        f'x\r{code}\r"""',
        f"x\u2028{code}\u2029\"\"\"",
        "\x1b[31mred\x1b[0m # comment",
        "\\N{BULLET} \\x41 \\u0041 {0} %s",
        "réseau 网络 \U0001F600 \u202egnp.exe",
        "\x00\x07\x7f\x85",
    ]


# --------------------------------------------------------------------------
# Network names and file stems
# --------------------------------------------------------------------------

def test_hostile_network_names_parse_and_keep_the_name(tmp_path):
    """Without torch: the source parses, the docstrings evaluate to the name, nothing is outside them."""
    marker = tmp_path / "marker"
    for name in payload(marker):
        source = export_source(network(name))
        tree = ast.parse(source)
        assert ast.get_docstring(tree, clean=False).startswith(f"{name}: PyTorch source")
        classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
        assert [c.name for c in classes][0] == "Scope"
        assert ast.get_docstring(classes[1], clean=False).startswith(f"{name}, as cnncalc reads")
        # the only top-level statements: docstring, imports, two classes, the __main__ guard
        kinds = [type(node).__name__ for node in tree.body]
        assert kinds == ["Expr", "Import", "ImportFrom", "ClassDef", "ClassDef", "If"], (name, kinds)
        # nothing raw reaches a terminal: no control character outside an escape
        assert not any(ord(c) < 0x20 and c != "\n" for c in source), repr(name)


def test_hostile_network_names_run_nothing_on_import(tmp_path):
    pytest.importorskip("torch")
    marker = tmp_path / "marker"
    for index, name in enumerate(payload(marker)):
        text = network(name)
        module = load_source(export_source(text), tmp_path / f"net{index}.py", f"hostile_net{index}")
        assert not marker.exists(), f"importing the export of {name!r} ran code"
        assert module.__doc__.startswith(f"{name}: PyTorch source")
        cls = exported_class(module)
        model = cls()
        assert list(model.state_dict()) == list(cnncalc.to_torch(text).state_dict())


def test_hostile_file_stem(tmp_path, monkeypatch):
    """No `name:`: the file's stem names the network, and goes through the same escaping."""
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)                  # the payload (no "/" in a file name) writes ./marker
    marker = tmp_path / "marker"
    stem = "x'''\"\"\"; open('marker', 'w').close(); \"\"\" #\\"      # one line: a newline makes it YAML text
    path = tmp_path / f"{stem}.yaml"
    path.write_text(network(None), encoding="utf-8")
    out = tmp_path / "stem_export.py"
    result = CliRunner().invoke(main, ["export", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    module = load_source(out.read_text(encoding="utf-8"), out, "hostile_stem")
    assert not marker.exists()
    assert module.__doc__.startswith(f"{stem}: PyTorch source")
    assert str(path) in module.__doc__
    # a newline in the stem, through the Python API (cnncalc.load: a path, never text)
    stem = "y\n\"\"\"\nopen('marker', 'w').close()\n#"
    path = tmp_path / f"{stem}.yaml"
    path.write_text(network(None), encoding="utf-8")
    module = load_source(export_source(cnncalc.load(path)), tmp_path / "stem_export2.py", "hostile_stem2")
    assert not marker.exists()
    assert module.__doc__.startswith(f"{stem}: PyTorch source")


# free text, valid for the loader by construction (YAML can escape every character but a surrogate)
free_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=free_text)
def test_any_network_name_stays_inside_its_literal(name):
    source = export_source(network(name))
    tree = ast.parse(source)
    assert ast.get_docstring(tree, clean=False).startswith(f"{name}: PyTorch source")
    assert [type(node).__name__ for node in tree.body] == ["Expr", "Import", "ImportFrom", "ClassDef", "ClassDef", "If"]
    cls = tree.body[4]
    assert class_name_problem(cls.name) is None
    assert ast.literal_eval(python_string(name)) == name
    assert ast.literal_eval(python_string(name, docstring=True)) == name


# --------------------------------------------------------------------------
# Layer names that are not safe attributes
# --------------------------------------------------------------------------

HOSTILE_LAYER_NAMES = ["__conv", "__conv__", "class", "if", "None", "True", "lambda", "match", "self", "x",
                       "torch", "nn", "math", "Scope", "print", "super", "input_", "train", "forward",
                       "training", "_modules", "add_module", "__init__", "__class__", "__dict__", "paths",
                       "input_shape", "layer", "run_until", "__getitem__", "_", "__"]


def hostile_layers_network() -> str:
    """Every hostile name at the top level and inside a block instance called ``__blk``."""
    def conv(name: str, indent: str = "  ") -> str:
        return f"{indent}- Conv2d: {{out_channels: 1, kernel_size: 1, name: {json.dumps(name)}}}\n"
    inner = "".join(conv(n, "      ") for n in HOSTILE_LAYER_NAMES)
    blocks = f"blocks:\n  hostile:\n    layers:\n{inner}"
    top = "".join(conv(n) for n in HOSTILE_LAYER_NAMES) + "  - hostile: {name: __blk}\n  - hostile: {name: class_}\n"
    return network("hostile layers", top, blocks)


def test_hostile_layer_names_load_the_same_state_dict(tmp_path):
    torch = pytest.importorskip("torch")
    text = hostile_layers_network()
    source = export_source(text)
    ast.parse(source)
    assert "self.__conv" not in source and ".__blk" not in source      # never name-mangled
    module = load_source(source, tmp_path / "hostile_layers.py", "hostile_layers")
    model = exported_class(module)().eval()
    built = cnncalc.to_torch(text).eval()
    assert list(model.state_dict()) == list(built.state_dict())
    model.load_state_dict(built.state_dict())
    built.load_state_dict(model.state_dict())
    x = torch.randn(built.input_shape)
    with torch.no_grad():
        assert torch.equal(model(x), built(x))


def test_names_that_collide_after_renaming_are_one_clear_error():
    """``train`` becomes ``train_`` (an nn.Module attribute), which a layer already holds: both refuse."""
    pytest.importorskip("torch")
    layers = "".join(f"  - ReLU: {{name: {n}}}\n" for n in ("train_", "train"))
    text = network("clash", layers)
    with pytest.raises(cnncalc.CnnCalcError, match="share the path"):
        cnncalc.to_torch(text)
    with pytest.raises(cnncalc.CnnCalcError, match="share the path"):
        export_source(text)


identifier = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z")
dunderish = st.sampled_from(["__", "_", ""]).flatmap(lambda prefix: identifier.map(lambda s: prefix + s))


@given(names=st.lists(st.one_of(dunderish, st.sampled_from(HOSTILE_LAYER_NAMES)), min_size=1, max_size=6,
                      unique=True))
def test_any_layer_names_give_to_torchs_state_dict(names):
    torch = pytest.importorskip("torch")
    layers = "".join(f"  - Conv2d: {{out_channels: 1, kernel_size: 1, name: {json.dumps(n)}}}\n" for n in names)
    text = network("fuzz", layers)
    try:
        cnncalc.loads(text)
    except cnncalc.CnnCalcError:
        return                                   # the loader refuses it (e.g. a name taken twice): not ours
    source = export_source(text)
    namespace: dict = {"__name__": "fuzz_export"}
    exec(compile(source, "<export>", "exec"), namespace)
    cls = next(v for k, v in namespace.items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
               and k != "Scope")
    with torch.device("meta"):
        exported = cls()
        built = cnncalc.to_torch(text, device="meta")
    assert list(exported.state_dict()) == list(built.state_dict())


# --------------------------------------------------------------------------
# Class names
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nn", "torch", "math", "F", "Scope", "class", "None", "match", "print", "super",
                                  "Exception", "__name__", "1abc", "a-b", "a.b", "", "ｎｎ", "x" * 200, "a\nb"])
def test_class_name_that_would_shadow_is_refused(name, example):
    result = CliRunner().invoke(main, ["export", str(example("digits")), "--class-name", name])
    assert result.exit_code == 2, result.output
    assert "--class-name" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    with pytest.raises(ArgumentError):
        export_source(str(example("digits")), class_name=name)


def test_class_name_accepted(example):
    result = CliRunner().invoke(main, ["export", str(example("digits")), "--class-name", "MyNet"])
    assert result.exit_code == 0, result.output
    assert "class MyNet(nn.Module):" in result.output


@given(name=free_text)
def test_default_class_name_is_always_safe(name):
    cls = class_name_for(name)
    assert class_name_problem(cls) is None, (name, cls)


@pytest.mark.parametrize("name", ["nn", "torch", "math", "scope", "class", "print", "exception", "", "123", "__",
                                  "none", "true", "x" * 500])
def test_default_class_name_from_hostile_network_names_compiles(name):
    source = export_source(network(name))
    tree = ast.parse(source)
    assert class_name_problem(tree.body[4].name) is None


# --------------------------------------------------------------------------
# inf / nan arguments
# --------------------------------------------------------------------------

def test_inf_and_nan_arguments(tmp_path):
    torch = pytest.importorskip("torch")
    layers = ("  - Hardtanh: {min_val: -.inf, max_val: .inf}\n"
              "  - Softplus: {threshold: .inf}\n"
              "  - ConstantPad2d: {padding: 1, value: .nan}\n")
    text = network("floats", layers)
    source = export_source(text)
    assert "math.inf" in source and "math.nan" in source and "import math" in source
    module = load_source(source, tmp_path / "floats.py", "floats_export")
    model = exported_class(module)()
    built = cnncalc.to_torch(text)
    hardtanh, softplus, pad = list(model.children())
    ref_hardtanh, ref_softplus, ref_pad = list(built.children())
    assert (hardtanh.min_val, hardtanh.max_val) == (ref_hardtanh.min_val, ref_hardtanh.max_val) == (-math.inf, math.inf)
    assert softplus.threshold == ref_softplus.threshold == math.inf
    assert math.isnan(pad.value) and math.isnan(ref_pad.value)


# --------------------------------------------------------------------------
# No torch needed
# --------------------------------------------------------------------------

NO_TORCH = textwrap.dedent("""
    import sys

    class NoTorch:
        tried = []

        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                NoTorch.tried.append(name)
                raise ImportError("torch is blocked in this test")
            return None

    sys.meta_path.insert(0, NoTorch())
    from cnncalc.cli import main
    try:
        main(["export", sys.argv[1], "-o", sys.argv[2]])
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
    print(json.dumps({"code": code, "tried": NoTorch.tried, "loaded": "torch" in sys.modules}))
""").replace("import sys", "import json, sys", 1)


def test_export_runs_without_torch(tmp_path, example):
    out = tmp_path / "resnet50.py"
    run = subprocess.run([sys.executable, "-c", NO_TORCH, str(example("resnet50")), str(out)], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "tried": [], "loaded": False}, run.stderr
    source = out.read_text(encoding="utf-8")
    assert "class Resnet50(nn.Module):" in source
    ast.parse(source)


def test_help_has_examples():
    result = CliRunner().invoke(main, ["export", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "cnncalc export examples/" in result.output
