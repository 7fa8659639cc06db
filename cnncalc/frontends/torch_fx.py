"""An ``nn.Module`` traced with ``torch.fx`` and written as a cnncalc document.

Why torch.fx symbolic tracing and not torch.export: fx keeps the module
hierarchy (each leaf call names its module path, ``layer1.0.conv1``, which
become the file's names and give ``to_torch`` the original's state_dict keys)
and stops at the ``torch.nn`` modules cnncalc knows, so a Conv2d stays one
Conv2d with its constructor arguments; torch.export lowers everything to
ATen ops (convolution, native_batch_norm, ...) and would have to be mapped
back. fx runs no forward on real data while tracing; ShapeProp then runs one
forward at the import input to give every node its shape, which the written
file is checked against.

Steps: trace (stopping at modules with a cnncalc type), map every node onto
layer types (:mod:`.torch_ops`), nest the layers by module path into block
instances (a scope that is not one contiguous run with one input and one
output is dissolved into its parent), fold instances of the same structure
into one block with parameters for what differs (:mod:`.blocks`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import ArgumentError, CnnCalcError
from ..text import cut, shown
from .source import SourceError
from .torch_ops import base

MAX_NODES = 100_000          # traced graph nodes: a larger model is refused before any mapping work
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(eq=False)
class Op:
    """One mapped node: the layers it becomes (a chain), what it reads, where it lives."""

    node: Any                              # the fx node whose value this op's last layer gives
    layers: list                           # [(type_name, args)], applied in sequence
    inputs: list                           # fx nodes (tensors) the first layer reads
    scope: tuple = ()                      # module-path components of the containing module
    key: str | None = None                 # the local name (a module's attribute name) or None
    frozen: bool = False
    module_path: str | None = None
    refs: dict = field(default_factory=dict)   # argument -> tensor it names (interpolate's size_of)


@dataclass(eq=False)
class Scope:
    """A module instance whose ops form one contiguous run: a block instance in the file."""

    path: tuple
    items: list = field(default_factory=list)      # Op or Scope, in execution order
    module: Any = None

    @property
    def key(self) -> str:
        return self.path[-1]


def import_module(module: Any, *, input: Sequence[Any] | None = None, name: str = "model") -> dict:
    """The cnncalc document of ``module`` (an ``nn.Module``), at ``input`` (C, H, W; default from its first layer)."""
    import torch
    from . import torch_ops
    graph_module = _trace(module)
    nodes = list(graph_module.graph.nodes)
    if len(nodes) > MAX_NODES:
        raise SourceError(f"the traced graph has {len(nodes):,} nodes; at most {MAX_NODES:,} are imported")
    input_shape = _input_shape(module, input)
    _propagate(graph_module, module, input_shape)
    ops, output = torch_ops.map_graph(graph_module, module)
    _name_wrappers(ops, module)
    _assign_scopes(ops, module)
    _name_from_assignments(ops)
    root = _build_tree(ops, module)
    from .blocks import document
    doc = document(root, ops, output, module)
    doc = {"name": _safe_name(name), "input": list(input_shape), **doc}
    return doc


def _trace(module: Any):
    import torch
    import torch.fx
    from .torch_ops import leaf_name

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):  # noqa: D401 - torch's hook
            return leaf_name(m) is not None or super().is_leaf_module(m, qualname)

    tracer = Tracer()
    tracer.record_stack_traces = True
    modes = {m: m.training for m in module.modules()}
    try:
        module.eval()                                   # the inference graph (StochasticDepth, Dropout: eval)
        graph = tracer.trace(module)
        return torch.fx.GraphModule(tracer.root, graph, type(module).__name__)
    except CnnCalcError:
        raise
    except Exception as err:  # fx refuses data-dependent control flow and the like
        raise SourceError(f"torch.fx could not trace {type(module).__name__}: {type(err).__name__}: {cut(err, 400)}",
                          hint="cnncalc imports models that torch.fx.symbolic_trace can trace (no Python control "
                               "flow on tensor values); rewrite that part, or write the file by hand") from None
    finally:
        for m, training in modes.items():
            m.train(training)


def _input_shape(module: Any, input: Sequence[Any] | None) -> tuple:
    """The import input: as given, else the first layer's channels at 224 per spatial axis."""
    import torch
    if input is not None:
        dims = tuple(input)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
            raise ArgumentError(f"importing a torch model needs a concrete input shape, found {list(dims)}",
                                hint="give --input C,H,W with numbers")
        return dims
    for sub in module.modules():
        if isinstance(sub, torch.nn.modules.conv._ConvNd):
            return (sub.in_channels,) + (224,) * len(sub.kernel_size)
        if isinstance(sub, torch.nn.Linear):
            return (sub.in_features,)
    raise ArgumentError(f"cannot tell the input shape of {type(module).__name__}", hint="give --input C,H,W")


def _propagate(graph_module: Any, module: Any, shape: tuple) -> None:
    """Run ShapeProp once at ``shape`` (batch 1, eval mode, no grad) so every node knows its shape."""
    import torch
    from torch.fx.passes.shape_prop import ShapeProp
    modes = {m: m.training for m in module.modules()}
    first = next(iter(module.parameters()), None)
    device = first.device if first is not None else None    # a module built on "meta" propagates shapes only
    try:
        graph_module.eval()
        with torch.no_grad():
            ShapeProp(graph_module).propagate(torch.zeros((1,) + tuple(shape), device=device))
    except CnnCalcError:
        raise
    except Exception as err:
        raise SourceError(f"running {type(module).__name__} on an input of shape {[1, *shape]} raised "
                          f"{type(err).__name__}: {cut(err, 400)}",
                          hint="give the input the model expects with --input C,H,W") from None
    finally:
        for m, training in modes.items():
            m.train(training)


def _name_wrappers(ops: list[Op], module: Any) -> None:
    """A parameterless module that makes one function op (a ``Permute``, ``Reduce`` or ``Chunk`` wrapper
    around ``torch.permute``, ``x.mean``, ``x.chunk``) is that op: it takes the module's name."""
    for op in ops:
        if op.module_path is not None or op.key is not None:
            continue
        while op.scope:
            path = op.scope
            sub = _submodule(module, path)
            alone = sum(1 for o in ops if o.scope[:len(path)] == path) == 1
            if sub is None or not alone or any(True for _ in sub.parameters()) or any(True for _ in sub.buffers()):
                break
            op.scope, op.key, op.module_path = path[:-1], path[-1], ".".join(path)


def _assign_scopes(ops: list[Op], module: Any = None) -> None:
    """Module ops live in their parent module's scope; function ops in the scope fx recorded, refined.

    A function op (``torch.add``) inside a flat ``forward`` has only the root in
    fx's module stack; it is placed with the module ops around it: the
    deepest scope shared by the producer of its first input and the op after
    it, when that lies under the recorded one.
    """
    flat = _flat_scopes(ops)
    for index, op in enumerate(ops):
        if op.module_path is not None:
            continue
        recorded = op.scope
        reads = [base(t) for t in op.inputs]
        producers = [o for o in ops[:index] if o.node in reads]
        after = next((o for o in ops[index + 1:] if o.module_path is not None), None)
        candidates = []
        if len(producers) >= 2 and len(producers) == len(set(reads)):   # one input: the op comes after
            shared = producers[0].scope                    # where every input is made (a concat of branches)
            for producer in producers[1:]:
                shared = _common(shared, producer.scope)
            candidates.append(shared)
        first = next((o for o in producers if o.node is reads[0]), None) if reads else None
        if first is not None and after is not None:
            candidates.append(_common(first.scope, after.scope))   # the module around it (an add's residual)
        inside = _enclosing(ops, index, reads, recorded, module) if recorded in flat else None
        if inside is not None:
            op.scope = inside
            continue
        for common in sorted(candidates, key=len, reverse=True)[:1]:
            if common[:len(recorded)] == recorded and len(common) > len(recorded):
                op.scope = common


def _enclosing(ops: list[Op], index: int, reads: list, recorded: tuple, module: Any) -> tuple | None:
    """The deepest module scope, under ``recorded``, that a function op plainly belongs to, or None.

    It belongs to scope P when every tensor it reads is made in P or is P's one input, P's ops so far
    are one run ending just before it, P is not a Sequential (whose children are positions only), and
    it reads P's input (SqueezeExcitation's ``scale * x``, a residual ``x + f(x)``, DenseNet's
    ``cat([x, new])``) or two tensors made in P (Inception's concat of branches). An op reading only
    P's last output is the next thing after P, not part of it.
    """
    producers = {o.node: o for o in ops[:index]}
    assigned = _assigned_name(ops[index])
    valid: list[tuple[tuple, bool, bool]] = []        # deepest first
    scopes: list[tuple] = []
    for tensor in reads:
        made = producers.get(tensor)
        if made is not None:
            scopes.extend(made.scope[:end] for end in range(len(made.scope), len(recorded), -1))
    for scope in sorted(set(scopes), key=len, reverse=True):
        if scope[:len(recorded)] != recorded or len(scope) <= len(recorded):
            continue
        start = index
        while start > 0 and ops[start - 1].scope[:len(scope)] == scope:
            start -= 1
        if start == index or any(o.scope[:len(scope)] == scope for o in ops[:start]):
            continue                                   # no run ending here, or P was left and would reopen
        run = ops[start:index]
        inner = {o.node for o in run}
        outer = [t for o in run for t in map(base, o.inputs) if t not in inner]
        if len(set(outer)) != 1 or (_positional(module, scope) and not assigned.startswith("_".join(scope) + "_")):
            continue                                   # a Sequential's items are positions, unless export named it
        made_here = {t for t in reads if t in inner}
        if all(t in inner or t == outer[0] for t in reads) and (outer[0] in reads or len(made_here) >= 2):
            direct = any(o.node in made_here and o.scope == scope for o in run)
            valid.append((scope, direct, outer[0] in reads))
    # `out = self.bn2(...); out += x` is written beside the layer that made its operand: the deepest scope
    # holding that layer directly; `x + self.f(x)` (a body's whole output and its input) wraps the body:
    # the outermost scope with that input; `cat([b1(x), b2(x)])` joins branches: the deepest
    for scope, direct, _ in valid:
        if direct:
            return scope
    wrapping = [scope for scope, _, reads_input in valid if reads_input]
    if wrapping:
        return wrapping[-1]
    return valid[0][0] if valid else None


_ASSIGNED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _name_from_assignments(ops: list[Op]) -> None:
    """A function op assigned to ``<scope path>_<name>`` (``Mixed_7b_branch3x3 = torch.cat(...)``, as
    ``cnncalc export --to torch`` writes a named merge) is called ``<name>`` in its scope."""
    for op in ops:
        if op.key is not None or not op.scope:
            continue
        name = _assigned_name(op)
        prefix = "_".join(op.scope) + "_"
        if name.startswith(prefix):
            key = name[len(prefix):]
            if key and not key[0].isdigit():
                op.key = key


def _assigned_name(op: Op) -> str:
    """The variable the op's source line assigns (``Mixed_7b_branch3x3 = torch.cat(...)``), or ''."""
    from .torch_ops import _user_line
    if not hasattr(op.node, "stack_trace"):
        return ""
    _, line = _user_line(op.node)
    match = _ASSIGNED.match(line or "")
    return match.group(1) if match else ""


def _flat_scopes(ops: list[Op]) -> set[tuple]:
    """Scopes whose forward calls grandchildren directly (``self.features[0].conv(x)``: an exported file's
    flat forward): there fx's record of where a function ran says nothing about the block it belongs to."""
    flat: set[tuple] = set()
    for op in ops:
        if op.module_path is None or op.node.op != "call_module":
            continue
        stack = [p for p in _stack_paths(op.node) if p != op.module_path]
        caller = tuple(stack[-1].split(".")) if stack else ()
        if len(op.module_path.split(".")) > len(caller) + 1:
            flat.add(caller)
    return flat


def _stack_paths(node: Any) -> list[str]:
    stack = node.meta.get("nn_module_stack") or {}
    return [p for p in (value[0] if isinstance(value, tuple) else key for key, value in stack.items()) if p]


def _positional(module: Any, path: tuple) -> bool:
    """True for a Sequential-like scope: its children are named by position only."""
    sub = _submodule(module, path)
    names = [name for name, _ in sub.named_children()] if sub is not None else []
    return bool(names) and all(name.isdigit() for name in names)


def _common(a: tuple, b: tuple) -> tuple:
    out = []
    for x, y in zip(a, b):
        if x != y:
            break
        out.append(x)
    return tuple(out)


def _build_tree(ops: list[Op], module: Any) -> Scope:
    """Nest the ops by scope; dissolve, one at a time, scopes that cannot be a block instance."""
    dissolved: set[tuple] = set()
    for _ in range(len(ops) + 1):
        root, bad = _try_tree(ops, dissolved, module)
        if bad is None:
            return root
        dissolved.add(bad)
    raise SourceError("could not nest the model's layers into blocks")  # pragma: no cover


def _effective(scope: tuple, dissolved: set[tuple]) -> tuple:
    """The scope an op lands in once ``dissolved`` scopes give their contents to their parents."""
    for end in range(1, len(scope) + 1):
        if scope[:end] in dissolved:
            return scope[:end - 1]
    return scope


def _try_tree(ops: list[Op], dissolved: set[tuple], module: Any) -> tuple[Scope, tuple | None]:
    root = Scope(())
    scopes: dict[tuple, Scope] = {(): root}
    closed: set[tuple] = set()
    chain: list[Scope] = [root]                # the open scopes, outermost first
    owner: dict[int, Scope] = {}
    for op in ops:
        target = _effective(op.scope, dissolved)
        while target[:len(chain[-1].path)] != chain[-1].path:   # leave scopes that do not hold target
            closed.add(chain.pop().path)
        while chain[-1].path != target:
            path = target[:len(chain[-1].path) + 1]
            if path in closed:
                return root, path                               # reopened: not one contiguous run
            scope = Scope(path, module=_submodule(module, path))
            scopes[path] = scope
            chain[-1].items.append(scope)
            chain.append(scope)
        chain[-1].items.append(op)
        owner[id(op)] = chain[-1]
    bad = _check_io(root, ops, owner)
    return root, bad


def _submodule(module: Any, path: tuple):
    try:
        return module.get_submodule(".".join(path))
    except AttributeError:
        return None


def _check_io(root: Scope, ops: list[Op], owner: dict[int, Scope]) -> tuple | None:
    """The first scope (innermost first) with other than one input tensor or an inner tensor read outside."""
    producer = {op.node: op for op in ops}
    parents: dict[tuple, tuple] = {}

    def walk(scope: Scope):
        for item in scope.items:
            if isinstance(item, Scope):
                yield from walk(item)
        yield scope

    for scope in walk(root):
        if not scope.path:
            continue
        inner = set(_ops_in(scope))
        inner_nodes = {op.node for op in inner}
        external = []
        for op in inner:
            for tensor in list(op.inputs) + list(op.refs.values()):
                if base(tensor) not in inner_nodes and tensor not in external:
                    external.append(tensor)
        if len(external) != 1:
            return scope.path
        last = _last_op(scope)
        for op in ops:
            if op in inner:
                continue
            for tensor in list(op.inputs) + list(op.refs.values()):
                if base(tensor) in inner_nodes and tensor is not last.node:
                    return scope.path
        if _sequential_problem(scope):
            return scope.path
    if _sequential_problem(root):
        return ()  # pragma: no cover - a root whose digit children are out of order cannot be fixed here
    return None


def _sequential_problem(scope: Scope) -> bool:
    """Digit names exist only as positions: the child called '3' must be the fourth item."""
    for position, item in enumerate(scope.items):
        key = item.key
        if key is not None and key.isdigit() and int(key) != position:
            return True
    return False


def _ops_in(scope: Scope):
    for item in scope.items:
        if isinstance(item, Scope):
            yield from _ops_in(item)
        else:
            yield item


def _last_op(scope: Scope) -> Op:
    item = scope.items[-1]
    return _last_op(item) if isinstance(item, Scope) else item


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)[:200] or "model"
    return name if not name[0].isdigit() else "m_" + name
