"""Hypothesis strategies for architecture files.

``architectures()`` builds VALID files by construction: it tracks every
tensor's shape while it draws layers (Conv2d, ReLU, MaxPool2d, BatchNorm2d,
add and concat with ``from``, Flatten, Linear, a parameterised block with
``repeat``), so each drawn argument is one torch accepts. Besides the YAML
text it records the flat layer list (blocks and repeats expanded) with the
expected output shape of every layer, which the tests compare against
cnncalc and, where torch is installed, against torch itself.

``mutated_files()`` breaks valid files in the ways users and editors do
(a deleted line, a wrong value, an unknown key, stray bytes, a truncated
file, an unrelated YAML document) for the "exit 0 or 2, never a
traceback" property of the command line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

DTYPES = ("float32", "float16", "bfloat16", "float64")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


# -- the recorded architecture -------------------------------------------------

@dataclass(frozen=True)
class FlatLayer:
    """One layer as torch would run it: blocks and repeats expanded."""

    type: str                      # canonical torch name ("Conv2d", "add", ...)
    args: dict[str, Any]           # with $params substituted, inferred sizes absent
    sources: tuple[int, ...]       # indices into the tensor list (0 = the network input)
    in_shapes: tuple[tuple, ...]   # batch excluded
    out_shape: tuple               # batch excluded
    frozen: bool = False


@dataclass
class Arch:
    input: tuple[int, ...]
    batch: int
    dtype: str
    text: str = ""
    flat: list[FlatLayer] = field(default_factory=list)

    @property
    def output_shape(self) -> tuple:
        return (self.batch, *self.flat[-1].out_shape)

    def shapes(self) -> list[tuple]:
        """Every layer's expected output shape, batch included, in execution order."""
        return [(self.batch, *layer.out_shape) for layer in self.flat]


# -- YAML rendering ---------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def flow(value: Any) -> str:
    """A Python value as YAML flow text."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "~"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
            return value
        return json.dumps(value)          # a JSON string is a YAML double-quoted scalar
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def item_text(type_name: str, args: dict[str, Any], indent: str = "  ") -> str:
    if not args:
        return f"{indent}- {type_name}\n"
    return f"{indent}- {type_name}: {flow(args)}\n"


# -- shape rules (torch's, written independently of cnncalc) -------------------------

def conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_out(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    span = size + 2 * padding - kernel
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:      # the last window must start inside the input
        out -= 1
    return out


def _pair(draw, values: st.SearchStrategy, square: bool) -> tuple[Any, Any]:
    if square:
        v = draw(values)
        return v, v
    return draw(values), draw(values)


# -- the generator -------------------------------------------------------------------

class _Builder:
    """Top-level items as text; every item produces one tensor (its last copy)."""

    def __init__(self, draw, arch: Arch):
        self.draw = draw
        self.arch = arch
        self.lines: list[str] = []
        # per top-level item: (name or None, shape, flat tensor index)
        self.items: list[tuple[str | None, tuple, int]] = []
        self.use_block = False
        self.use_res = False

    # tensors a layer can read: (reference text for 'from', shape, tensor index)
    def candidates(self) -> list[tuple[Any, tuple, int]]:
        refs: list[tuple[Any, tuple, int]] = [("input", self.arch.input, 0)]
        n = len(self.items)
        for j, (name, shape, index) in enumerate(self.items):
            ref = name if name is not None and self.draw(st.booleans()) else -(n - j)
            refs.append((ref, shape, index))
        return refs

    def previous(self) -> tuple[Any, tuple, int]:
        if not self.items:
            return -1, self.arch.input, 0
        name, shape, index = self.items[-1]
        return -1, shape, index

    def pick_source(self, rank: int) -> tuple[Any, tuple, int] | None:
        """Mostly the previous tensor; sometimes an earlier one (a branch)."""
        ref, shape, index = self.previous()
        if len(shape) == rank and self.draw(st.integers(0, 4)) > 0:
            return ref, shape, index
        options = [c for c in self.candidates() if len(c[1]) == rank]
        if not options:
            return None
        return self.draw(st.sampled_from(options))

    def flat(self, type_name, args, sources, in_shapes, out_shape, frozen=False) -> int:
        self.arch.flat.append(FlatLayer(type_name, dict(args), tuple(sources), tuple(in_shapes),
                                        tuple(out_shape), frozen))
        return len(self.arch.flat)          # tensor index (0 is the input)

    def emit(self, type_name: str, args: dict[str, Any], out_shape: tuple, index: int) -> None:
        draw = self.draw
        name = None
        if draw(st.integers(0, 2)) == 0:
            name = f"t{len(self.items)}"
            args = {"name": name, **args}
        spelled = type_name.lower() if draw(st.integers(0, 5)) == 0 else type_name
        self.lines.append(item_text(spelled, args))
        self.items.append((name, tuple(out_shape), index))

    # -- layers --------------------------------------------------------------------
    def conv(self) -> bool:
        draw = self.draw
        src = self.pick_source(3)
        if src is None:
            return False
        ref, (c, h, w), index = src
        square = draw(st.booleans())
        out = draw(st.integers(1, 12))
        groups = 1
        if draw(st.integers(0, 4)) == 0:
            divisors = [g for g in range(2, c + 1) if c % g == 0]
            if divisors:
                groups = draw(st.sampled_from(divisors))
                out = groups * draw(st.integers(1, 3))
        same = draw(st.integers(0, 5)) == 0
        dh, dw = _pair(draw, st.integers(1, 2), square)
        if same:
            kh, kw = _pair(draw, st.integers(1, 4), square)
            sh = sw = 1
            ph = pw = "same"
            oh, ow = h, w
        else:
            ph, pw = _pair(draw, st.integers(0, 2), square)
            # the dilated kernel must fit the padded input
            kmax_h = (h + 2 * ph - 1) // dh + 1
            kmax_w = (w + 2 * pw - 1) // dw + 1
            kh = draw(st.integers(1, min(5, kmax_h)))
            kw = kh if square and kh <= kmax_w else draw(st.integers(1, min(5, kmax_w)))
            sh, sw = _pair(draw, st.integers(1, 3), square)
            oh, ow = conv_out(h, kh, sh, ph, dh), conv_out(w, kw, sw, pw, dw)
        args: dict[str, Any] = {"out_channels": out,
                                "kernel_size": kh if kh == kw else [kh, kw]}
        if ref != -1:
            args["from"] = ref
        if (sh, sw) != (1, 1):
            args["stride"] = sh if sh == sw else [sh, sw]
        if ph == "same":
            args["padding"] = "same"
        elif (ph, pw) != (0, 0) or draw(st.booleans()):
            args["padding"] = ph if ph == pw else [ph, pw]
        if (dh, dw) != (1, 1):
            args["dilation"] = dh if dh == dw else [dh, dw]
        if groups != 1:
            args["groups"] = groups
        if draw(st.booleans()):
            args["bias"] = draw(st.booleans())
        frozen = draw(st.integers(0, 6)) == 0
        if frozen:
            args["frozen"] = True
        torch_args = {k: v for k, v in args.items() if k not in ("from", "frozen")}
        new = self.flat("Conv2d", torch_args, [index], [(c, h, w)], (out, oh, ow), frozen)
        self.emit("Conv2d", args, (out, oh, ow), new)
        return True

    def maxpool(self) -> bool:
        draw = self.draw
        ref, shape, index = self.previous()
        if len(shape) != 3:
            return False
        c, h, w = shape
        k = draw(st.integers(1, 4))
        p = draw(st.integers(0, k // 2))
        if h + 2 * p < k or w + 2 * p < k:
            return False
        stride = draw(st.one_of(st.none(), st.integers(1, 3)))
        s = k if stride is None else stride
        ceil_mode = draw(st.integers(0, 3)) == 0
        oh, ow = pool_out(h, k, s, p, ceil_mode), pool_out(w, k, s, p, ceil_mode)
        args: dict[str, Any] = {"kernel_size": k}
        if stride is not None:
            args["stride"] = stride
        if p:
            args["padding"] = p
        if ceil_mode:
            args["ceil_mode"] = True
        new = self.flat("MaxPool2d", args, [index], [shape], (c, oh, ow))
        self.emit("MaxPool2d", args, (c, oh, ow), new)
        return True

    def simple(self, type_name: str, rank: int | None = None) -> bool:
        """ReLU (any rank) or BatchNorm2d (C, H, W), maybe repeated."""
        draw = self.draw
        ref, shape, index = self.previous()
        if rank is not None and len(shape) != rank:
            return False
        repeat = draw(st.integers(1, 3)) if draw(st.integers(0, 3)) == 0 else 1
        args: dict[str, Any] = {}
        frozen = type_name == "BatchNorm2d" and draw(st.integers(0, 4)) == 0
        if frozen:
            args["frozen"] = True
        if repeat > 1:
            args["repeat"] = repeat
        new = index
        for _ in range(repeat):
            new = self.flat(type_name, {}, [new], [shape], shape, frozen)
        self.emit(type_name, args, shape, new)
        return True

    def add(self) -> bool:
        draw = self.draw
        ref, shape, index = self.previous()
        options = [c for c in self.candidates() if c[1] == shape and c[2] != index]
        if not options:
            return False
        others = draw(st.lists(st.sampled_from(options), min_size=1, max_size=2))
        sources = [(ref, shape, index)] + others
        if draw(st.booleans()):
            sources.reverse()
        args = {"from": [s[0] for s in sources]}
        new = self.flat("add", {}, [s[2] for s in sources], [s[1] for s in sources], shape)
        self.emit("add", args, shape, new)
        return True

    def concat(self) -> bool:
        draw = self.draw
        ref, shape, index = self.previous()
        if len(shape) == 3:
            options = [c for c in self.candidates() if len(c[1]) == 3 and c[1][1:] == shape[1:]]
        else:
            options = [c for c in self.candidates() if len(c[1]) == len(shape)]
        options = [c for c in options if c[2] != index]
        if not options:
            return False
        others = draw(st.lists(st.sampled_from(options), min_size=1, max_size=2))
        sources = [(ref, shape, index)] + others
        draw(st.randoms(use_true_random=False)).shuffle(sources)
        channels = sum(s[1][0] for s in sources)
        out = (channels, *shape[1:])
        args: dict[str, Any] = {"from": [s[0] for s in sources]}
        dim = draw(st.sampled_from([None, 1, -len(shape)]))
        if dim is not None:
            args["dim"] = dim
        new = self.flat("concat", {"dim": 1 if dim is None else dim}, [s[2] for s in sources],
                        [s[1] for s in sources], out)
        self.emit("concat", args, out, new)
        return True

    def flatten(self) -> bool:
        ref, shape, index = self.previous()
        if len(shape) != 3:
            return False
        out = (shape[0] * shape[1] * shape[2],)
        new = self.flat("Flatten", {}, [index], [shape], out)
        self.emit("Flatten", {}, out, new)
        return True

    def linear(self) -> bool:
        draw = self.draw
        ref, shape, index = self.previous()
        if len(shape) != 1:
            return False
        out = draw(st.integers(1, 16))
        args: dict[str, Any] = {"out_features": out}
        if draw(st.booleans()):
            args["bias"] = draw(st.booleans())
        frozen = draw(st.integers(0, 5)) == 0
        if frozen:
            args["frozen"] = True
        torch_args = {k: v for k, v in args.items() if k != "frozen"}
        new = self.flat("Linear", torch_args, [index], [shape], (out,), frozen)
        self.emit("Linear", args, (out,), new)
        return True

    def unit(self) -> bool:
        """The block 'unit': conv(k, padding k//2) + BN + ReLU, keeps H and W; maybe repeated."""
        draw = self.draw
        ref, shape, index = self.previous()
        if len(shape) != 3:
            return False
        self.use_block = True
        c_out = draw(st.integers(1, 8))
        k = draw(st.sampled_from([None, 1, 3, 5]))        # None: the default 3
        repeat = draw(st.integers(1, 3)) if draw(st.booleans()) else 1
        frozen = draw(st.integers(0, 4)) == 0
        args: dict[str, Any] = {"c": c_out}
        if k is not None:
            args["k"] = k
        if repeat > 1:
            args["repeat"] = repeat
        if frozen:
            args["frozen"] = True
        kk = 3 if k is None else k
        current, cur_shape = index, shape
        for _ in range(repeat):
            out = (c_out, cur_shape[1], cur_shape[2])
            conv = self.flat("Conv2d", {"out_channels": c_out, "kernel_size": kk, "padding": kk // 2,
                                        "bias": False}, [current], [cur_shape], out, frozen)
            bn = self.flat("BatchNorm2d", {}, [conv], [out], out, frozen)
            current = self.flat("ReLU", {}, [bn], [out], out, frozen)
            cur_shape = out
        self.emit("unit", args, cur_shape, current)
        return True

    def res(self) -> bool:
        """The block 'res': conv 3x3 + BN, added to the block's input, ReLU."""
        ref, shape, index = self.previous()
        if len(shape) != 3:
            return False
        self.use_res = True
        c = shape[0]
        conv = self.flat("Conv2d", {"out_channels": c, "kernel_size": 3, "padding": 1, "bias": False},
                         [index], [shape], shape)
        bn = self.flat("BatchNorm2d", {}, [conv], [shape], shape)
        added = self.flat("add", {}, [bn, index], [shape, shape], shape)
        out = self.flat("ReLU", {}, [added], [shape], shape)
        self.emit("res", {"c": c}, shape, out)
        return True


BLOCKS_TEXT = {
    "unit": (
        "  unit:\n"
        "    params: {c: ~, k: 3}\n"
        "    layers:\n"
        "      - Conv2d: {out_channels: $c, kernel_size: $k, padding: \"$k // 2\", bias: false}\n"
        "      - BatchNorm2d\n"
        "      - ReLU\n"
    ),
    "res": (
        "  res:\n"
        "    params: {c: ~}\n"
        "    layers:\n"
        "      - Conv2d: {out_channels: \"($c * 2 + 1) // 2\", kernel_size: 3, padding: 1, bias: false}\n"
        "      - BatchNorm2d: {name: bn}\n"
        "      - add: {from: [bn, input]}\n"
        "      - ReLU\n"
    ),
}


@st.composite
def architectures(draw, max_layers: int = 8, torch_compatible: bool = False) -> Arch:
    """A valid architecture file and the shapes torch gives it.

    ``torch_compatible``: float32 only (the torch check runs on the CPU).
    """
    channels = draw(st.integers(1, 6))
    height = draw(st.integers(1, 20))
    width = height if draw(st.booleans()) else draw(st.integers(1, 20))
    batch = draw(st.integers(1, 3))
    dtype = "float32" if torch_compatible else draw(st.sampled_from(DTYPES))
    arch = Arch(input=(channels, height, width), batch=batch, dtype=dtype)
    builder = _Builder(draw, arch)
    steps = draw(st.integers(1, max_layers))
    kinds = ["conv", "conv", "relu", "bn", "maxpool", "add", "concat", "unit", "res", "flatten", "linear"]
    attempts = 0
    while len(builder.items) < steps and attempts < 4 * max_layers:
        attempts += 1
        kind = draw(st.sampled_from(kinds))
        if kind == "relu":
            builder.simple("ReLU")
        elif kind == "bn":
            builder.simple("BatchNorm2d", rank=3)
        elif kind == "flatten" and draw(st.integers(0, 2)) == 0:     # flatten late, rarely
            builder.flatten()
        elif kind != "flatten":
            getattr(builder, kind)()
    if not builder.items:
        builder.simple("ReLU")
    if draw(st.booleans()):                  # a classifier head
        builder.flatten()
        builder.linear()

    head = []
    if draw(st.booleans()):
        head.append("name: fuzz-net\n")
    head.append(f"input: {flow(list(arch.input))}\n")
    if batch != 1 or draw(st.booleans()):
        head.append(f"batch: {batch}\n")
    if dtype != "float32" or draw(st.booleans()):
        head.append(f"dtype: {dtype}\n")
    blocks = [name for name, used in (("unit", builder.use_block), ("res", builder.use_res)) if used]
    if blocks:
        head.append("blocks:\n" + "".join(BLOCKS_TEXT[name] for name in blocks))
    arch.text = "".join(head) + "layers:\n" + "".join(builder.lines)
    return arch


# -- broken files ------------------------------------------------------------------------

_JUNK_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from([
        "~", "[]", "{}", "[1, 2, 3]", "[[1]]", "{a: 1}", "-1", "0", "true", "null", ".inf", ".nan",
        "1e400", "0x7fffffffffffffffff", "$x", "\"$x * 2\"", "\"(\"", "\"1 // 0\"", "input", "-99",
        "!!python/object/apply:os.system [ls]", "!!binary aGk=", "*nowhere", "&a", "[", "{", "'", "\"",
        "@", "`", "%TAG", "---", "...", "? a", "<<: {}", "2020-01-01", "\t", "Conv2d", "conv2d",
        "basic", "unit", "same", "valid", "9" * 40, "1_000", "1:30",
    ]),
)

_WORDS = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$]*|-?\d+")

_yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                          st.floats(allow_nan=False), st.text(max_size=10),
                          st.sampled_from(["Conv2d", "ReLU", "add", "concat", "input", "layers", "from",
                                           "out_channels", "kernel_size", "-1", "$c"]))
_yaml_values = st.recursive(
    _yaml_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8) | st.sampled_from(
                                   ["name", "from", "repeat", "frozen", "out_channels", "kernel_size",
                                    "params", "layers"]), children, max_size=4)),
    max_leaves=20,
)


@st.composite
def random_documents(draw) -> bytes:
    """A YAML document unrelated to any valid file, sometimes shaped like one."""
    value = draw(_yaml_values)
    if draw(st.booleans()):
        value = {"input": draw(st.one_of(st.just([3, 8, 8]), _yaml_values)),
                 "layers": draw(st.one_of(st.lists(_yaml_values, max_size=4), _yaml_values))}
    return yaml.safe_dump(value, allow_unicode=draw(st.booleans())).encode("utf-8")


def _mutate(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["delete_line", "duplicate_line", "swap_value", "unknown_key",
                                 "top_key", "bytes", "truncate", "indent"]))
    lines = data.split(b"\n")
    if kind == "delete_line":
        i = draw(st.integers(0, len(lines) - 1))
        del lines[i]
        return b"\n".join(lines)
    if kind == "duplicate_line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return b"\n".join(lines)
    if kind == "swap_value":
        text = data.decode("utf-8", "replace")
        words = list(_WORDS.finditer(text))
        if not words:
            return data
        match = draw(st.sampled_from(words))
        junk = draw(_JUNK_VALUES)
        return (text[:match.start()] + junk + text[match.end():]).encode("utf-8", "surrogatepass")
    if kind == "unknown_key":
        text = data.decode("utf-8", "replace")
        spots = [m.start() for m in re.finditer(r"\{", text)]
        if not spots:
            return data
        at = draw(st.sampled_from(spots)) + 1
        key = draw(st.sampled_from(["out_chanels", "kernel", "strid", "nmae", "form", "repeats",
                                    "frozen_", "zzz", "in_channels", "num_features"]))
        return (text[:at] + f"{key}: {draw(_JUNK_VALUES)}, " + text[at:]).encode("utf-8", "surrogatepass")
    if kind == "top_key":
        key = draw(st.sampled_from(["layer", "inputs", "blocks", "batch", "dtype", "budget", "name", "junk"]))
        i = draw(st.integers(0, len(lines)))
        lines.insert(i, f"{key}: {draw(_JUNK_VALUES)}".encode("utf-8", "surrogatepass"))
        return b"\n".join(lines)
    if kind == "bytes":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=1, max_size=8))
        cut = draw(st.integers(0, 4))
        return data[:at] + junk + data[at + cut:]
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    # indent: shift one line left or right, breaking the block structure
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = (b"   " + lines[i]) if draw(st.booleans()) else lines[i].lstrip()
    return b"\n".join(lines)


@st.composite
def mutated_files(draw) -> bytes:
    """A valid file broken in one to three places, or an unrelated YAML document."""
    if draw(st.integers(0, 5)) == 0:
        return draw(random_documents())
    data = draw(architectures(max_layers=6)).text.encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate(draw, data)
    return data
