"""Benchmark of importing a torch module (issue 13): a 200-layer model in under 2 s, torch's import excluded.

  python bench/import.py [--layers N] [--rounds R] [--size S]

The model is a residual network of about N layers (default 200: blocks of
conv 3x3 -> BN -> ReLU -> conv 3x3 -> BN, + x, ReLU), built once in this
process after torch is imported, so torch's own import is not timed. Three
tasks run interleaved, R rounds each, on the same module:

- ``import``: ``import_module`` (fx trace, one ShapeProp forward, mapping, blocks)
  and loading the written file back: what ``cnncalc import`` does after torch's import;
- ``import+analyze``: the same and the analysis (``cnncalc summarize SOURCE``'s work);
- ``torchinfo.summary``: the peer's summary of the same module at the same input
  (one forward with hooks), the baseline of the ratios.

Goal: ``import`` of 200 layers < 2 s. The ratio to torchinfo says how many
torchinfo summaries an import costs, which travels between machines better
than seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._timing import interleaved, machine_line, print_table, quiet_threads, ratio_text, spread_text  # noqa: E402


def model(layers: int, width: int = 16):
    """A residual network of about ``layers`` layers (7 per block with the add and both ReLUs; stem and head 5)."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + x)

    blocks = max(1, -(-(layers - 5) // 7))              # at least ``layers``
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.Sequential(*[Block() for _ in range(blocks)]),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=200, help="layers in the model (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per task (default 5)")
    parser.add_argument("--size", type=int, default=32, help="input height and width (default 32)")
    args = parser.parse_args(argv)
    quiet_threads()
    import torch
    import torchinfo
    from cnncalc.api import analyze, loads
    from cnncalc.frontends.torch_fx import import_module
    from cnncalc.frontends.write_yaml import dump

    torch.manual_seed(0)
    module = model(args.layers).eval()
    shape = (3, args.size, args.size)
    leaves = sum(1 for m in module.modules() if not list(m.children()))

    def imported():
        return loads(dump(import_module(module, input=shape, name="bench")), filename="<bench>")

    network = imported()
    report = analyze(network)
    truth = sum(p.numel() for p in module.parameters())
    assert report.totals.params == truth, (report.totals.params, truth)     # the import is right before it is fast
    tasks = {
        "import": imported,
        "import+analyze": lambda: analyze(imported()),
        "torchinfo.summary": lambda: torchinfo.summary(module, input_size=(1, *shape), verbose=0),
    }
    spreads = interleaved(tasks, args.rounds)
    base = spreads["torchinfo.summary"]
    rows = [[name, spread_text(spread), ratio_text(spread.ratio_to(base))] for name, spread in spreads.items()]
    print(f"Import of a {len(network.layers)}-layer residual network ({leaves} leaf modules), input "
          f"{[1, *shape]}, {args.rounds} rounds, torch imported beforehand")
    print_table(["task", "median (min-max)", "vs torchinfo"], rows)
    print(machine_line() + f", torch {torch.__version__}, torchinfo {torchinfo.__version__}")
    goal = spreads["import"].median < 2.0
    print(f"goal import < 2 s at {len(network.layers)} layers: {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
