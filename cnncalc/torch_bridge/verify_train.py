"""`cnncalc verify --train`: one real training step in torch against the analytic one.

Measured, per layer and in total (docs/training.md):

* saved bytes: every tensor autograd packs during the forward
  (``torch.autograd.graph.saved_tensors_hooks``), as distinct storages,
  parameters, buffers and the input batch excluded, each counted for the
  first layer that keeps it (a forward pre-hook says which layer runs);
* backward MACs: ``FlopCounterMode`` around ``loss.backward()`` (its counts
  after the forward subtracted), halved. torch 2.13's ``convolution_backward``
  count ignores ``groups`` in the weight-gradient term ((1 + g) × the forward
  MACs), so a grouped convolution is measured as its g ungrouped pieces: the
  same convolution with C_in/g inputs and C_out/g outputs, its backward
  counted by FlopCounterMode and multiplied by g;
* gradient bytes: ``p.grad`` storages after ``backward()``;
* optimizer state bytes: every tensor in ``optimizer.state`` after ``step()``;
* on CUDA, the peak: ``torch.cuda.max_memory_allocated`` over a second step
  (the steady state: optimizer state already there), against ``peak_bytes``.

Importing this module needs no torch.
"""

from __future__ import annotations

import warnings
from typing import Any

from .._gc import gc_frozen
from .verify import Check, VerifyResult

GROUPED_NOTE = ("grouped convolutions: FlopCounterMode (torch 2.13) counts (1 + g) × the forward MACs for their "
                "backward, ignoring groups in the weight gradient; measured instead as g ungrouped pieces")

LOSS = "loss = output.float().sum()"


def _optimizer(torch: Any, name: str, params: list) -> Any:
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01)
    if name == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3)
    return torch.optim.AdamW(params, lr=1e-3)


def measure_step(con: Any, device: str = "cpu", optimizer: str = "adam", precision: str = "fp32",
                 steps: int = 1) -> dict[str, Any]:
    """Run one training step of ``con``'s model; what torch holds, per layer path and in total."""
    import torch
    from torch.autograd.graph import saved_tensors_hooks
    from torch.utils.flop_counter import FlopCounterMode

    from .build import build_model
    from .verify import _allocate, _dispatch_without_dynamo
    report = con.report
    model = _allocate(build_model(None, device="meta", con=con), device, zeros=True)
    with torch.no_grad():              # small random weights: zeros would make some kernels take shortcuts
        generator = torch.Generator(device="cpu").manual_seed(0)
        for parameter in model.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator) * 0.1)
    model.train()
    for row in report.layers:
        if row.trainable_params == 0:
            for parameter in model.layer(row.name).parameters():
                parameter.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(torch, optimizer, trainable) if trainable else None
    state_ptrs = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    x = torch.randn(report.input_shape, generator=torch.Generator(device="cpu").manual_seed(1)).to(device)
    dtype = {"bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}.get(precision)

    current = {"layer": None}
    input_req: dict[str, bool] = {}
    node_layer: dict[Any, str] = {}       # autograd node -> the layer whose forward made it
    handles = []

    def claim(output, path):
        """Map the autograd nodes this layer's forward created to it (the walk stops at older nodes)."""
        stack = [getattr(output, "grad_fn", None)]
        while stack:
            node = stack.pop()
            if node is None or node in node_layer:
                continue
            node_layer[node] = path
            stack.extend(next_node for next_node, _ in node.next_functions)

    for path, qualified in model.paths.items():
        def pre(_module, args, path=path):
            current["layer"] = path
            input_req[path] = any(getattr(a, "requires_grad", False) for a in args)

        def post(_module, _args, output, path=path):
            claim(output, path)
        module = model.get_submodule(qualified)
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))

    def one_step(record: bool) -> dict[str, Any]:
        saved: dict[int, tuple[str, int]] = {}
        x_ptr = x.untyped_storage().data_ptr()

        def pack(tensor):
            storage = tensor.untyped_storage()
            pointer, size = storage.data_ptr(), storage.nbytes()
            if size and pointer not in state_ptrs and pointer != x_ptr and pointer not in saved:
                saved[pointer] = (current["layer"], size)
            return tensor

        counter = FlopCounterMode(display=False)
        with warnings.catch_warnings(), _dispatch_without_dynamo(), counter:
            warnings.simplefilter("ignore")
            with saved_tensors_hooks(pack, lambda t: t):
                if dtype is not None:
                    with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
                        out = model(x)
                else:
                    out = model(x)
            forward_total = counter.get_total_flops()
            # backward FLOPs per layer: each autograd node, before it runs, closes the previous node's
            # count (the engine runs one node at a time on a device)
            backward: dict[str, int] = {}
            running = {"layer": None, "mark": forward_total}

            def node_starts(node, _grads):
                total = counter.get_total_flops()
                if running["layer"] is not None:
                    backward[running["layer"]] = backward.get(running["layer"], 0) + total - running["mark"]
                running["layer"], running["mark"] = node_layer.get(node), total
            node_handles = [node.register_prehook(lambda grads, node=node: node_starts(node, grads))
                            for node in node_layer]
            loss = out.float().sum()
            if loss.requires_grad:          # every layer frozen: nothing to differentiate
                loss.backward()
            node_starts(None, None)
            for handle in node_handles:
                handle.remove()
        del out, loss
        node_layer.clear()
        result = {"saved": saved, "backward": backward,
                  "backward_total": counter.get_total_flops() - forward_total}
        if opt is not None:
            opt.step()
        return result

    if device.startswith("cuda") and steps > 1:
        one_step(False)                  # the optimizer state exists from here on: the steady state
        if opt is not None:
            opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        measured = one_step(True)
        torch.cuda.synchronize()
        measured["peak"] = torch.cuda.max_memory_allocated()
        measured["allocated_before"] = base
    else:
        measured = one_step(True)
    for handle in handles:
        handle.remove()

    per_layer: dict[str, dict[str, int]] = {}
    state_of = {}
    if opt is not None:
        for parameter, state in opt.state.items():
            state_of[id(parameter)] = sum(t.untyped_storage().nbytes() for t in state.values()
                                          if isinstance(t, torch.Tensor))
    grouped = []
    for row in report.layers:
        module = model.layer(row.name)
        qualified = model.paths[row.name]
        per_layer[row.name] = {
            "backward_macs2": measured["backward"].get(row.name, 0),
            "grad_bytes": sum(p.grad.untyped_storage().nbytes() for p in module.parameters() if p.grad is not None),
            "optimizer_state_bytes": sum(state_of.get(id(p), 0) for p in module.parameters()),
            "saved_bytes": 0,
        }
        if isinstance(module, torch.nn.modules.conv._ConvNd) and module.groups > 1:
            grouped.append(row.name)
            pieces = _grouped_backward(torch, module, con, row, input_req.get(row.name, False), device, dtype)
            per_layer[row.name]["flop_counter_macs2"] = per_layer[row.name]["backward_macs2"]
            per_layer[row.name]["backward_macs2"] = pieces
    for layer, size in measured["saved"].values():
        if layer in per_layer:
            per_layer[layer]["saved_bytes"] += size
    totals = {key: sum(v[key] for v in per_layer.values())
              for key in ("backward_macs2", "grad_bytes", "optimizer_state_bytes", "saved_bytes")}
    totals["flop_counter_total2"] = measured["backward_total"]
    if "peak" in measured:
        totals["peak"] = measured["peak"]
    return {"layers": per_layer, "totals": totals, "grouped": grouped}


def _grouped_backward(torch, module, con, row, input_needs_grad: bool, device: str, dtype) -> int:
    """2 × the backward MACs of a grouped convolution, measured as g ungrouped pieces."""
    from torch.utils.flop_counter import FlopCounterMode
    g = module.groups
    position = con.report.layers.names().index(row.name)
    shape = list(con.input_shapes(position)[0])
    shape[1] //= g
    kwargs = dict(kernel_size=module.kernel_size, stride=module.stride, padding=module.padding,
                  dilation=module.dilation, bias=module.bias is not None, padding_mode=module.padding_mode)
    if isinstance(module, torch.nn.modules.conv._ConvTransposeMixin):
        kwargs.pop("padding_mode")
        kwargs["output_padding"] = module.output_padding
    piece = type(module)(module.in_channels // g, module.out_channels // g, device=device, **kwargs)
    trainable = any(p.requires_grad for p in module.parameters())
    for parameter in piece.parameters():
        parameter.requires_grad_(trainable)
    x = torch.randn(shape, device=device, requires_grad=input_needs_grad)
    if not (trainable or input_needs_grad):
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dtype is not None:
            with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
                out = piece(x)
        else:
            out = piece(x)
        counter = FlopCounterMode(display=False)
        with counter:
            out.float().sum().backward()
    return g * counter.get_total_flops()


@gc_frozen
def verify_train(net: Any, *, input=None, sizes=None, batch=None, device: str = "cpu", optimizer: str = "adam",
                 precision: str = "fp32") -> VerifyResult:
    """One training step in torch against cnncalc's analysis of it (:class:`VerifyResult`)."""
    from . import require_torch
    torch = require_torch("cnncalc verify --train")
    from ..engine.training import check_options, train_step
    from .build import concrete
    from .verify import resolve_device
    dev = resolve_device(device)
    optimizer, precision, _ = check_options(optimizer, precision, "cuda" if dev.startswith("cuda") else "cpu")
    con = concrete(net, input=input, sizes=sizes, batch=batch, what="cnncalc verify --train")
    report = con.report
    training = train_step(con.plan, report, optimizer, precision, "cuda" if dev.startswith("cuda") else "cpu")
    measured = measure_step(con, dev, optimizer, precision, steps=2 if dev.startswith("cuda") else 1)
    result = VerifyResult(report.name, con.network.source, dev, torch.__version__, tuple(report.input_shape))
    checks = result.checks
    keys = (("saved", "saved bytes", "saved_bytes", "saved_bytes", 1),
            ("backward", "2×backward MACs vs FlopCounterMode", "backward_macs", "backward_macs2", 2),
            ("grads", "gradient bytes", "grad_bytes", "grad_bytes", 1),
            ("state", "optimizer state bytes", "optimizer_state_bytes", "optimizer_state_bytes", 1))
    for row, mine in zip(report.layers, training.layers):
        theirs = measured["layers"][row.name]
        for kind, label, attr, key, scale in keys:
            expected = scale * getattr(mine, attr)
            note = "grouped: g ungrouped pieces" if kind == "backward" and row.name in measured["grouped"] else ""
            checks.append(Check("train_" + kind, label, expected, theirs[key], expected == theirs[key], row.name,
                                note))
    totals = measured["totals"]
    for kind, label, attr, key, scale in keys:
        expected = scale * getattr(training, attr)
        checks.append(Check("total", f"{label} (total)", expected, totals[key], expected == totals[key]))
    if "peak" in totals:
        error = (training.peak_bytes - totals["peak"]) / totals["peak"] if totals["peak"] else 0.0
        checks.append(Check("info", "peak bytes vs torch.cuda.max_memory_allocated (not compared)",
                            training.peak_bytes, totals["peak"], None,
                            note=f"relative error {error:+.1%}; the caching allocator rounds blocks to 512 B "
                                 f"and keeps workspace for cuDNN/cuBLAS"))
        result.notes.append(f"peak: cnncalc {training.peak_bytes:,} B, torch.cuda.max_memory_allocated "
                            f"{totals['peak']:,} B ({error:+.1%})")
    else:
        result.notes.append("peak_bytes is not compared on CPU: torch's CPU allocator keeps no peak statistics; "
                            "run with --device cuda")
    if measured["grouped"]:
        result.notes.append(GROUPED_NOTE)
    result.notes.append(f"one training step: model.train(), {optimizer}, {precision}, {LOSS}")
    return result
