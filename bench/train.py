"""Benchmark of the training step (issue 12): one run prints two tables.

  python bench/train.py [--models resnet18,mobilenet_v2] [--input 3,224,224] [--rounds 3] [--device cpu|cuda]

1. Time. For each model at batch 1 and 32, in one process, interleaved round
   by round (a busy machine slows both alike): cnncalc's `summarize --train`
   in process (analyze(..., train=True) and the table rendered) against the
   alternative a user has, one real training step of the same model in torch
   (to_torch, Adam, fp32: zero_grad, forward, output.sum().backward(),
   step; the model and optimizer built beforehand, one warm-up round).
   Medians with the min-max of the rounds; the ratio of medians with the
   min-max of the per-round ratios.
2. torchinfo's estimate against the truth, on the same models and batches.
   torchinfo's "Forward/backward pass size" is the bytes of every layer's
   output × 2, and "Estimated Total Size" adds the parameters and the input.
   The truth it is compared with: on CPU, cnncalc's exact figures that
   `verify --train` proves equal to torch (saved tensors by
   saved_tensors_hooks, gradients, Adam state), re-proved here at batch 1 by
   verify_train, and the analytic peak of the step (peak_bytes; torch keeps
   no CPU peak, so it is not measured there); on CUDA, the measured
   torch.cuda.max_memory_allocated of a steady-state step as well.
   Ratios are torchinfo / truth (1.00× would be right).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402  (before torch: thread-pool settings)

_timing.quiet_threads()

import cnncalc  # noqa: E402


def _step_task(torch, model, x, device):
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        model(x).float().sum().backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return step, opt


def _summarize_task(network, batch):
    from cnncalc.render.table import render_table

    def run():
        render_table(cnncalc.analyze(network, batch=batch, train={"device": "cpu"}), 1, 120)
    return run


def _cuda_peak(torch, step) -> int:
    step()                                       # the optimizer state exists: the steady state
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step()
    return torch.cuda.max_memory_allocated()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet18,mobilenet_v2", help="example names, comma-separated")
    parser.add_argument("--input", default=None, metavar="C,H,W", help="replace the examples' input shape")
    parser.add_argument("--batches", default="1,32", help="batch sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch
    import torchinfo

    from cnncalc.torch_bridge.verify_train import verify_train
    from cnncalc.units import format_bytes
    shape = tuple(int(d) for d in args.input.split(",")) if args.input else None
    device = args.device
    time_rows, size_rows = [], []
    for name in args.models.split(","):
        network = cnncalc.load(ROOT / "examples" / f"{name}.yaml")
        if shape is not None:
            network = cnncalc.loads(_with_input(ROOT / "examples" / f"{name}.yaml", shape))
        proven = verify_train(network, batch=1, device="cpu" if not device.startswith("cuda") else device)
        for batch in (int(b) for b in args.batches.split(",")):
            report = cnncalc.analyze(network, batch=batch, train={"device": "cuda" if device.startswith("cuda")
                                                                  else "cpu"})
            model = cnncalc.to_torch(network).to(device).train()
            x = torch.randn(report.input_shape, device=device)
            step, _ = _step_task(torch, model, x, device)
            spreads = _timing.interleaved({"cnncalc": _summarize_task(network, batch), "torch": step},
                                          rounds=args.rounds)
            time_rows.append([name, str(batch), _timing.spread_text(spreads["cnncalc"]),
                              _timing.spread_text(spreads["torch"]),
                              _timing.ratio_text(spreads["cnncalc"].ratio_to(spreads["torch"])),
                              f"{spreads['torch'].median / spreads['cnncalc'].median:,.0f}×"])
            stats = torchinfo.summary(model, input_size=tuple(report.input_shape), verbose=0, device=device)
            fwd_bwd = stats.total_output_bytes               # "Forward/backward pass size": outputs × 2
            total = stats.total_input + fwd_bwd + stats.total_param_bytes   # "Estimated Total Size"
            step_ = report.training
            measured = _cuda_peak(torch, step) if device.startswith("cuda") else None
            truth = measured if measured is not None else step_.peak_bytes
            size_rows.append([name, str(batch), format_bytes(fwd_bwd), format_bytes(step_.saved_bytes),
                              f"{fwd_bwd / step_.saved_bytes:.2f}×", format_bytes(total),
                              format_bytes(step_.peak_bytes),
                              format_bytes(measured) if measured is not None else "—",
                              f"{total / truth:.2f}×",
                              "" if measured is None else f"{(step_.peak_bytes - measured) / measured:+.1%}"])
            del model, x, step
        print(f"{name}: verify --train at batch 1 on {proven.device}: "
              f"{'all ' + str(len(proven.compared)) + ' checks agree' if proven.ok else 'MISMATCH'}")
    print()
    print("Time: cnncalc summarize --train (in process) against one torch training step (Adam, fp32)")
    _timing.print_table(["model", "batch", "cnncalc", "torch step", "ratio", "torch ÷ cnncalc"], time_rows)
    print()
    print("Memory: torchinfo's estimate against the truth (torchinfo / truth; 1.00× is right)")
    _timing.print_table(["model", "batch", "torchinfo fwd/bwd", "saved (torch=cnncalc)", "ratio",
                         "torchinfo total", "cnncalc peak", "measured peak", "total/peak", "cnncalc err"],
                        size_rows)
    print()
    print(f"{_timing.machine_line()}, torch {torch.__version__}, torchinfo {torchinfo.__version__}, "
          f"device {device}, {args.rounds} rounds after 1 warm-up. On CPU the peak is cnncalc's analytic one "
          f"(torch keeps no CPU peak); its parts (saved, gradients, Adam state) are verified exactly above.")


def _with_input(path: Path, shape: tuple) -> str:
    """The example's text with its input replaced (the loader has no override for a loaded network)."""
    import re
    text = path.read_text()
    return re.sub(r"(?m)^input: .*$", f"input: [{', '.join(map(str, shape))}]", text, count=1)


if __name__ == "__main__":
    main()
