"""The model zoo: every example runs, a subset verifies against torch, docs/zoo.md is current.

Each zoo file's published figures are pinned in tests/test_examples.py and
its torchvision state-dict keys in tests/test_torchvision_names.py; every
example runs through the numpy forward pass (`cnncalc run`) at a small input
in tests/reference/test_run.py. Here a subset goes through `cnncalc verify`
on CPU, every figure compared with torch's; the others verify the same way
from the command line (`cnncalc verify FILE --device cpu --input 3,65,65`,
odd sides; Inception v3 at 3,139,139): at 224 a verify of ResNet-101 takes
minutes on two cores, more than the suite's budget.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

import cnncalc
from tests.conftest import EXAMPLES, ROOT

ZOO = sorted(path.stem for path in EXAMPLES.glob("*.yaml"))
# the zoo's files beyond the nine first examples (tests/torch_bridge/test_verify.py verifies
# those nine); each runs in numpy at the small input tests/reference/test_run.py gives it
ZOO_ONLY = ["convnext_tiny", "deeplabv3_resnet50", "densenet121", "efficientnet_b0",
            "fcn_resnet50", "googlenet", "inception_v3", "mnasnet1_0", "mobilenet_v3_large",
            "regnet_y_400mf", "resnet101", "resnext50_32x4d", "shufflenet_v2_x1_0",
            "squeezenet1_0", "squeezenet1_1", "vgg19_bn", "wide_resnet50_2"]
# verified here at these sides (odd: a stride-2 layer without padding then reads every pixel; the
# smallest Inception v3 takes is 75). Every zoo file but FCN-ResNet50, whose verify costs ~18 s here
# (examples/fcn.yaml and DeepLabV3, the same backbone and upsampling, are verified in the suite;
# FCN-ResNet50 passed `cnncalc verify --set H=33,W=33 --device cpu` by hand).
VERIFY = {name: 75 if name == "inception_v3" else 33 for name in ZOO_ONLY if name != "fcn_resnet50"}


def small_input(name: str, side: int) -> dict:
    network = cnncalc.load(EXAMPLES / f"{name}.yaml")
    if network.symbols:
        return {"sizes": {symbol: side for symbol in network.symbols}}
    return {"input": [network.input[0], *[side] * (len(network.input) - 1)]}


def test_zoo_only_is_every_new_example():
    from tests.torch_bridge.test_verify import EXAMPLES as VERIFIED
    assert sorted([*VERIFIED, *ZOO_ONLY]) == ZOO


def test_every_zoo_file_runs_in_numpy_at_a_small_input():
    from tests.reference.test_run import SMALL
    assert set(ZOO_ONLY) <= set(SMALL)


@pytest.mark.parametrize("name", sorted(VERIFY))
def test_zoo_subset_verifies_on_cpu(name):
    pytest.importorskip("torch")
    from cnncalc.torch_bridge.verify import verify
    result = verify(EXAMPLES / f"{name}.yaml", device="cpu", fields=2, **small_input(name, VERIFY[name]))
    assert result.ok, [check for check in result.checks if not check.ok][:3]


def load_zoo_table():
    spec = importlib.util.spec_from_file_location("zoo_table", ROOT / "scripts" / "zoo_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_zoo_is_what_the_script_prints():
    expected = load_zoo_table().table()
    assert (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8") == expected, \
        "docs/zoo.md is stale: run python scripts/zoo_table.py > docs/zoo.md"


def test_zoo_table_lists_every_example_with_its_figures():
    text = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert [row.split("]")[0][3:] for row in rows] == ZOO
    resnet50 = next(row for row in rows if row.startswith("| [resnet50]"))
    assert "25,557,032" in resnet50 and "4,089,184,256" in resnet50    # torchvision's figures


def test_zoo_table_script_runs_from_the_command_line():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_table.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "docs/zoo.md" in result.stdout
