"""Check each zoo example against torchvision's own model (a developer's tool).

For every example that mirrors a torchvision builder (tests/data/torchvision/
make_keys.py's MODELS), builds torchvision's model (``weights=None``, eval) and
prints its parameter count and its MACs (FlopCounterMode's total / 2, batch 1,
at the example's input size) beside cnncalc's, and whether
``cnncalc.to_torch(example)`` has torchvision's state-dict keys and shapes.
These measured MACs are the ones pinned in tests/test_examples.py.

torchvision is not a dependency; import it as make_keys.py explains::

    PYTHONPATH=/tmp/tvlib python scripts/zoo_torchvision.py [MODEL ...]
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_keys():
    spec = importlib.util.spec_from_file_location("make_keys", ROOT / "tests/data/torchvision/make_keys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="torchvision builder names (default: all mirrored)")
    args = parser.parse_args()
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import cnncalc
    keys = make_keys()
    keys.import_torchvision()
    for name in args.models or keys.MODELS:
        path = ROOT / "examples" / f"{name}.yaml"
        if not path.exists():
            print(f"{name}: no example")
            continue
        network = cnncalc.load(path)
        sizes = {symbol: 520 for symbol in network.symbols}      # torchvision's segmentation size
        report = cnncalc.analyze(network, sizes=sizes)
        shape = [sizes.get(str(d), d) for d in network.input]
        model = keys.build(name).eval()
        params = sum(p.numel() for p in model.parameters())
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, *shape))
        macs = counter.get_total_flops() // 2
        ours = {k: list(v.shape) for k, v in cnncalc.to_torch(path, device="meta").state_dict().items()}
        theirs = {k: list(v.shape) for k, v in model.state_dict().items()}
        same = "same keys" if list(ours.items()) == list(theirs.items()) else \
            f"keys differ: missing {sorted(set(theirs) - set(ours))[:3]}, extra {sorted(set(ours) - set(theirs))[:3]}"
        print(f"{name} at {shape}: params {params:,} (cnncalc {report.totals.params:,}), "
              f"MACs {macs:,} (cnncalc {report.totals.macs:,}), {same}")


if __name__ == "__main__":
    main()
