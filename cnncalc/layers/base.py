"""The LayerType protocol: everything cnncalc knows about one layer type.

A layer type is registered once by its torch class name and holds, in one
place: its argument schema (torch's keyword arguments and defaults), its
output-shape rule, its parameter and buffer shapes (the counts follow), its
MACs and FLOPs, its receptive-field step, and (used by the torch bridge and
the numpy reference) its torch constructor and numpy forward.

Rules work on sizes that are Python ints or, for symbolic inputs
([3, H, W]), sympy expressions: they use only ``+ - * //`` and the helpers
below, and they never compare sizes directly. Comparisons go through the
:class:`Context` the engine passes in, which raises at once for concrete
sizes and records a constraint for symbolic ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, ClassVar, Mapping, Sequence

from ..errors import ShapeError
from ..text import cut, shown

Dim = Any            # int, or a sympy expression for symbolic sizes
Shape = tuple        # tuple[Dim, ...], batch included, as torch prints it


# --------------------------------------------------------------------------
# Argument schema
# --------------------------------------------------------------------------

class ArgError(Exception):
    """An argument value is invalid; ``expected`` says what was wanted.

    ``why`` says what is wrong with ``found`` when showing it is not enough
    ("3 values, not 2"); ``message`` replaces "expected X, found Y" for rules
    between arguments that have no single found value ("give either size or
    scale_factor, not both"); ``arg`` names the argument to point at.
    """

    def __init__(self, expected: str, found: Any = None, hint: str | None = None, *,
                 why: str | None = None, message: str | None = None, arg: str | None = None) -> None:
        super().__init__(message or expected)
        self.expected = expected
        self.found = found
        self.hint = hint
        self.why = why
        self.message = message
        self.arg = arg

    def text(self) -> str:
        """The message shown to the user: what was expected, what was found and why it does not fit."""
        if self.message is not None:
            return self.message
        return f"expected {self.expected}, found {_describe(self.found)}" + (f" ({self.why})" if self.why else "")


REQUIRED = object()   # marker: the argument has no default


def _describe(value: Any) -> str:
    """A found value for a message: repr (escapes control characters), cut when long."""
    if isinstance(value, bool):
        return f"{value!r} (a bool)"
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, (list, tuple)):
        return cut("[" + ", ".join(repr(v) for v in value[:MAX_LISTED]) + (", ..." if len(value) > MAX_LISTED else "")
                   + "]")
    return cut(repr(value))


MAX_LISTED = 16       # items of a list shown in a message


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def list_problem(value: Any, length: int | None, item_ok: Callable[[Any], bool], item_what: str) -> str | None:
    """What is wrong with a list argument, in words: its length or its first bad item (None: nothing)."""
    if not isinstance(value, (list, tuple)):
        return None
    if length is not None and len(value) != length:
        return f"{len(value)} value{'s' if len(value) != 1 else ''}, not {length}"
    if not value:
        return "an empty list"
    for position, item in enumerate(value, 1):
        if not item_ok(item):
            return f"item {position} is {_describe(item)}, not {item_what}"
    return None


@dataclass(frozen=True)
class Arg:
    """One keyword argument: its name, how it is checked, its default."""

    name: str
    check: Callable[[Any], Any]
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def int_arg(minimum: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not is_int(value):
            raise ArgError(f"an integer{'' if minimum is None else f' >= {minimum}'}", value)
        if minimum is not None and value < minimum:
            raise ArgError(f"an integer >= {minimum}", value)
        return value
    return check


def int_tuple_arg(rank: int, minimum: int | None = None) -> Callable[[Any], tuple]:
    """An int or a list of ``rank`` ints (torch's ``_pair`` / ``_triple``)."""
    def check(value: Any) -> tuple:
        what = f"an integer{'' if minimum is None else f' >= {minimum}'}"
        if is_int(value):
            values = (value,) * rank
        elif isinstance(value, (list, tuple)) and len(value) == rank and all(is_int(v) for v in value):
            values = tuple(value)
        else:
            expected = what if rank == 1 else f"{what} or a list of {rank} integers"
            raise ArgError(expected, value, why=list_problem(value, rank, is_int, "an integer"))
        if minimum is not None and any(v < minimum for v in values):
            low = next(v for v in values if v < minimum)
            raise ArgError(f"{what} or a list of {rank} such integers", value,
                           why=f"{low} is less than {minimum}" if isinstance(value, (list, tuple)) else None)
        return values
    return check


def bool_arg(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ArgError("true or false", value)
    return value


def number_arg(minimum: float | None = None, strictly: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArgError("a number", value)
        if minimum is not None and (value <= minimum if strictly else value < minimum):
            raise ArgError(f"a number {'>' if strictly else '>='} {minimum}", value)
        return value
    return check


def choice_arg(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ArgError("one of " + ", ".join(repr(o) for o in options), value)
        return value
    return check


def optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def wrapped(value: Any) -> Any:
        return None if value is None else check(value)
    return wrapped


# --------------------------------------------------------------------------
# Receptive-field steps (Araujo, Norris, Sim, Distill 2019)
# --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AxisStep:
    """How one layer maps the field along one axis, in its input's elements.

    With the field of the layer's input (size r, jump S, start c):
      r_out = r + span * S       # span: extra input elements one output sees
      S_out = S * stride         # stride < 1 after upsampling
      c_out = c + offset * S     # offset: centre of output 0, input coords
    For a convolution span = d(k-1), stride = s, offset = (d(k-1))/2 - p_left.
    """

    span: Any
    stride: Any
    offset: Any


@dataclass(frozen=True, slots=True)
class AxisMap:
    """Exactly which input elements each output element reads, along one axis.

    Output element n·period + q (q < period) reads input elements from
    n·advance + low[q] to n·advance + high[q] (only the extremes matter for
    the field; None: that phase reads nothing, as a transposed convolution
    with kernel < stride). A convolution is period 1, advance s,
    low −p, high −p + d(k − 1); a transposed convolution with stride s has
    period s and advance 1. The engine composes these exactly, so fields
    after transposed convolutions and upsampling are what the gradient
    measures, not an evenly spaced approximation.
    """

    period: int
    advance: int
    low: tuple
    high: tuple
    # distance between the elements a window reads (a dilated kernel's d): which inputs inside the
    # window are read, for the part of a global field (engine/reach.py) where padding cuts a window
    spacing: int = 1


MAX_PERIOD = 4096       # beyond this a map falls back to the affine AxisStep


class GlobalField:
    """Marker: every output element sees the whole input (global pooling, linear)."""

    def __repr__(self) -> str:  # pragma: no cover
        return "GLOBAL"


GLOBAL = GlobalField()


def conv_axis_step(kernel: int, stride: int, pad_left: Any, dilation: int = 1) -> AxisMap | None:
    """A convolution or pooling window along one axis (Distill's r, S, c follow).

    Output j reads input elements j·s − p … j·s − p + d(k − 1).
    """
    effective = dilation * (kernel - 1)              # span of a dilated kernel, minus one
    if effective == 0 and stride == 1 and pad_left == 0:
        return None                                  # identity on this axis
    return AxisMap(1, stride, (-pad_left,), (-pad_left + effective,), dilation)


# --------------------------------------------------------------------------
# What a rule returns
# --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything one layer contributes, for one set of input shapes."""

    output_shape: Shape
    param_shapes: Mapping[str, tuple] = field(default_factory=dict)   # as module.named_parameters()
    buffer_shapes: Mapping[str, tuple] = field(default_factory=dict)  # as module.named_buffers()
    macs: Any = 0
    flops: Any = 0
    # None: the field passes through unchanged; GLOBAL; or one AxisMap|AxisStep|None per spatial axis.
    field: Any = None


# --------------------------------------------------------------------------
# The backward pass (cnncalc/engine/training.py; docs/training.md)
# --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Grads:
    """Which gradients one layer's backward computes in a training step.

    ``inputs``: per input, whether it requires a gradient (some trainable
    parameter lies upstream); ``weights``: the layer has parameters and is
    not frozen; ``device``: "cpu" or "cuda" (a few kernels save differently).
    """

    inputs: tuple
    weights: bool
    device: str = "cpu"

    @property
    def any(self) -> bool:
        """torch records an autograd node (and saves anything) only when some gradient is needed."""
        return self.weights or any(self.inputs)


@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor that autograd keeps from the forward pass for the backward.

    ``kind``: "input" (``inputs[index]``: its storage, shared with whoever
    else keeps it), "output" (the layer's own output), "param" (a parameter
    of ``elements`` elements: model state, not counted, except that under
    autocast a lower-precision op saves a half-precision copy of it), or
    "new" (a tensor made for the backward: ``elements`` at ``itemsize``
    bytes; None: the dtype the op computes in).
    """

    kind: str
    index: int = 0
    elements: Any = 0
    itemsize: int | None = None


@dataclass(frozen=True, slots=True)
class Backward:
    """What one layer's backward costs and what its forward keeps for it."""

    input_macs: Any = 0          # MACs of the gradient w.r.t. the input(s) that need one
    weight_macs: Any = 0         # MACs of the gradient w.r.t. the weights (0 when frozen)
    flops: Any = 0               # every floating-point operation of the backward, 2 × MACs included
    saved: tuple = ()            # Saved entries (only when ``grads.any``)
    shares_input: bool | None = None   # training mode: output aliases the input (None: as ``is_view``)


NO_BACKWARD = Backward()
ACC = -1          # Saved.itemsize: the accumulation type (float32 for half and float32 inputs, float64 for float64)


# --------------------------------------------------------------------------
# The context a rule runs in
# --------------------------------------------------------------------------

class Context:
    """Checks and explanations for one layer evaluation (concrete sizes).

    The engine's symbolic context subclasses this and records constraints
    instead of raising when a comparison depends on a symbol.
    """

    explaining: bool = False

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, Any]] = []

    # -- checks: ``message`` is a callable so it costs nothing when the check passes
    def require(self, ok: bool, message: Callable[[], str]) -> None:
        if not ok:
            raise ShapeError(message())

    def require_at_least(self, value: Dim, minimum: Dim, message: Callable[[], str]) -> None:
        if value < minimum:
            raise ShapeError(message())

    def require_equal(self, value: Dim, expected: Dim, message: Callable[[], str]) -> None:
        if value != expected:
            raise ShapeError(message())

    def require_divisible(self, value: Dim, divisor: int, message: Callable[[], str]) -> None:
        if value % divisor != 0:
            raise ShapeError(message())

    def is_true(self, condition_fn: Callable[[], bool]) -> bool:
        """A branch on sizes (torch's ceil_mode rule): concrete here."""
        return condition_fn()

    def explain(self, label: str, formula: str, value: Any) -> None:
        """Record ``label = formula = value`` (only called when explaining)."""
        self.lines.append((label, formula, value))


class ExplainingContext(Context):
    explaining = True


# --------------------------------------------------------------------------
# The layer type
# --------------------------------------------------------------------------

class LayerType:
    """Base class: subclasses set ``name``/``args`` and implement ``evaluate``."""

    name: ClassVar[str] = ""
    args: ClassVar[tuple[Arg, ...]] = ()
    #: number of inputs: 1, or None for merges (two or more)
    arity: ClassVar[int | None] = 1
    #: a one-line description for docs and `cnncalc types`
    summary: ClassVar[str] = ""

    def configure(self, args: dict[str, Any]) -> dict[str, Any]:
        """Cross-argument checks after the schema; may normalise. Raise ArgError."""
        return args

    def evaluate(self, cfg: Mapping[str, Any], inputs: Sequence[Shape], ctx: Context) -> Outcome:
        raise NotImplementedError

    # The torch bridge and the numpy reference call these; layer files import
    # torch / numpy inside them, never at module level.
    def to_torch(self, cfg: Mapping[str, Any], inputs: Sequence[Shape]):  # -> torch.nn.Module
        raise NotImplementedError(f"{self.name} has no torch constructor")

    def reference(self, cfg: Mapping[str, Any], weights: Mapping[str, Any], inputs: Sequence[Any]):
        """numpy forward pass; ``weights`` maps parameter/buffer names to arrays."""
        raise NotImplementedError(f"{self.name} has no numpy reference")

    def is_view(self, cfg: Mapping[str, Any]) -> bool:
        """True when the output shares its input's memory (a view, or in-place)."""
        return False

    #: under torch.autocast: "lower" (runs and saves in half precision: convolutions, linear, prelu),
    #: "fp32" (inputs cast up to float32 on the devices named in ``autocast_fp32_on``), or None
    #: (runs in its inputs' dtype, the widest for merges)
    autocast: ClassVar[str | None] = None
    autocast_fp32_on: ClassVar[frozenset] = frozenset()

    def backward(self, cfg: Mapping[str, Any], inputs: Sequence[Shape], outcome: Outcome, grads: Grads) -> Backward:
        """The backward's MACs and FLOPs and what autograd saves, for one layer in a training step.

        Default: no arithmetic and nothing saved (views, padding by copy,
        concat, add): the gradient passes through or is sliced. Types that
        save or compute override it beside their forward rule.
        """
        return NO_BACKWARD

    def has_reference(self) -> bool:
        return type(self).reference is not LayerType.reference


# --------------------------------------------------------------------------
# Small shape helpers shared by the families
# --------------------------------------------------------------------------

def numel(shape: Sequence[Dim]) -> Dim:
    total = 1
    for size in shape:
        total = total * size
    return total


def dim_max(values: Sequence[Dim]) -> Dim:
    """max() for sizes that may be symbolic (sympy.Max, imported only then)."""
    values = list(values)
    if all(isinstance(v, (int, Fraction)) for v in values):
        return max(values)
    import sympy
    return sympy.Max(*values)


def floor_div(numerator: Dim, denominator: Dim) -> Dim:
    """⌊a / b⌋ for positive b: ``//`` for ints; for a symbolic size, layers/floors.py's exact floor,
    nested floors collapsed (sympy's general floor is most of a symbolic analysis' time)."""
    if type(numerator) is int and type(denominator) is int:
        return numerator // denominator
    if isinstance(numerator, (int, Fraction)):
        return numerator // denominator
    from .floors import floor_div as symbolic_floor_div
    return symbolic_floor_div(numerator, denominator)


def ceil_div(numerator: Dim, denominator: Dim) -> Dim:
    """⌈a / b⌉ for positive b, exact for ints and sympy expressions."""
    return -((-numerator) // denominator)


def fmt_shape(shape: Sequence[Dim]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def fmt_spatial(sizes: Sequence[Dim]) -> str:
    return "x".join(str(s) for s in sizes)


def expect_rank(ctx: Context, shape: Shape, ranks: Sequence[int], what: str) -> None:
    """torch's 'Expected 3D (unbatched) or 4D (batched) input' check, batch included."""
    if len(shape) not in ranks:
        allowed = " or ".join(f"{r}-d" for r in ranks)
        raise ShapeError(f"expected a {allowed} input {what}, found {len(shape)}-d {fmt_shape(shape)}")


def normalize_dim(dim: int, rank: int, what: str = "dim") -> int:
    """torch's wrap of a negative dimension index; raises ShapeError when out of range."""
    if not -rank <= dim < rank:
        raise ShapeError(f"{what} {dim} is out of range for a {rank}-d tensor (expected {-rank}..{rank - 1})")
    return dim % rank
