"""torch modules that compute Keras layers on channels-last tensors (``framework: keras`` files).

Each module takes and returns (batch, *spatial, channels) tensors, as Keras
lays them out: a convolution or pooling moves the channels first, pads
(before, after) per axis exactly as Keras pads ('same' puts the larger half at
the end, which torch's symmetric ``padding=`` cannot say), runs torch's own
operator and moves the channels back. Weights are torch's (``weight`` of
shape (out, in/groups, *kernel)), so their counts equal Keras's ``kernel``;
BatchNormalization's moving mean and variance are buffers, as Keras keeps
them non-trainable. The text is executed like layers/_torch_ops.py's (it is
added to its SOURCES), so ``export --to torch`` writes these same classes.
"""

from __future__ import annotations

_ACTIVATION = '''
def keras_activation(x, name):
    """Keras's activation ``name`` (keras.activations) on x; None: linear."""
    if name is None:
        return x
    if name == "softmax":
        return torch.softmax(x, dim=-1)
    if name == "log_softmax":
        return torch.log_softmax(x, dim=-1)
    if name == "leaky_relu":
        return F.leaky_relu(x, 0.2)
    if name in ("silu", "swish"):
        return F.silu(x)
    if name == "hard_sigmoid":
        return F.hardsigmoid(x)
    if name in ("hard_silu", "hard_swish"):
        return F.hardswish(x)
    if name in ("sigmoid", "tanh"):
        return getattr(torch, name)(x)
    return getattr(F, name)(x)
'''

SOURCES: dict[str, str] = {
    "KerasConv": _ACTIVATION + '''

class KerasConv(nn.Module):
    """Keras Conv/DepthwiseConv/SeparableConv (kind) on channels last: pad (before, after) per axis, convolve."""

    def __init__(self, rank, in_channels, filters, kernel_size, strides, pads, dilation_rate, groups=1,
                 depth_multiplier=1, kind="conv", use_bias=True, activation=None):
        super().__init__()
        conv = getattr(nn, f"Conv{rank}d")
        self.pads = [p for pair in reversed(pads) for p in pair]      # F.pad: the last axis first
        self.activation = activation
        if kind == "conv":
            self.conv = conv(in_channels, filters, kernel_size, strides, 0, dilation_rate, groups, use_bias)
            self.pointwise = None
        else:
            middle = in_channels * depth_multiplier
            self.conv = conv(in_channels, middle, kernel_size, strides, 0, dilation_rate, in_channels,
                             use_bias and kind == "depthwise")
            self.pointwise = conv(middle, filters, 1, bias=use_bias) if kind == "separable" else None

    def forward(self, x):
        y = self.conv(F.pad(torch.movedim(x, -1, 1), self.pads))
        if self.pointwise is not None:
            y = self.pointwise(y)
        return keras_activation(torch.movedim(y, 1, -1), self.activation)
''',
    "KerasConvTranspose": _ACTIVATION + '''

class KerasConvTranspose(nn.Module):
    """Keras ConvNDTranspose on channels last: torch's full transposed convolution, then Keras's
    (before, after) crop per axis (a negative crop extends with zeros), as keras's torch backend does."""

    def __init__(self, rank, in_channels, filters, kernel_size, strides, dilation_rate, crops, use_bias=True,
                 activation=None):
        super().__init__()
        self.conv = getattr(nn, f"ConvTranspose{rank}d")(in_channels, filters, kernel_size, strides, 0, 0, 1,
                                                        use_bias, dilation_rate)
        self.rank, self.pads = rank, [-c for pair in reversed(crops) for c in pair]
        self.activation = activation

    def forward(self, x):
        conv = self.conv
        transposed = getattr(F, f"conv_transpose{self.rank}d")
        y = transposed(torch.movedim(x, -1, 1), conv.weight, None, conv.stride, 0, 0, 1, conv.dilation)
        y = torch.movedim(F.pad(y, self.pads), 1, -1)                  # extended positions get the bias too
        return keras_activation(y if conv.bias is None else y + conv.bias, self.activation)
''',
    "KerasPool": '''
class KerasPool(nn.Module):
    """Keras Max/AveragePooling on channels last; 'same' pads (before, after). Averages as keras's torch
    backend does (keras/src/backend/torch/nn.py average_pool, _apply_same_padding): the padding is left out
    of the average where it is the same on both sides of every axis, else the border is replicated into it
    (TensorFlow leaves it out always)."""

    def __init__(self, rank, kind, pool_size, strides, pads):
        super().__init__()
        self.rank, self.kind, self.pool_size, self.strides = rank, kind, list(pool_size), list(strides)
        self.pads = [p for pair in reversed(pads) for p in pair]

    def forward(self, x):
        x = torch.movedim(x, -1, 1)
        if self.kind == "max":
            pool = getattr(F, f"max_pool{self.rank}d")
            y = pool(F.pad(x, self.pads, value=float("-inf")), self.pool_size, self.strides)
        else:
            pool = getattr(F, f"avg_pool{self.rank}d")
            if self.pads[0::2] == self.pads[1::2]:
                y = pool(x, self.pool_size, self.strides, self.pads[-2::-2], count_include_pad=False)
            else:
                y = pool(F.pad(x, self.pads, mode="replicate"), self.pool_size, self.strides)
        return torch.movedim(y, 1, -1)
''',
    "KerasGlobalPool": '''
class KerasGlobalPool(nn.Module):
    """Keras GlobalAverage/GlobalMaxPooling on channels last: over every spatial axis."""

    def __init__(self, kind, keepdims=False):
        super().__init__()
        self.kind, self.keepdims = kind, keepdims

    def forward(self, x):
        axes = tuple(range(1, x.dim() - 1))
        if self.kind == "max":
            return torch.amax(x, dim=axes, keepdim=self.keepdims)
        return torch.mean(x, dim=axes, keepdim=self.keepdims)
''',
    "KerasNormalization": '''
class KerasNormalization(nn.Module):
    """Keras BatchNormalization (kind batch: moving mean and variance as buffers, Keras's momentum) or
    LayerNormalization (kind layer: statistics of each sample over ``axes``), gamma / beta optional."""

    def __init__(self, kind, view, axes, center=True, scale=True, epsilon=1e-3, momentum=0.99, rms_scaling=False):
        super().__init__()
        self.kind, self.view, self.axes = kind, list(view), list(axes)
        self.epsilon, self.momentum, self.rms_scaling = epsilon, momentum, rms_scaling
        shape = [view[a] for a in axes]
        self.gamma = nn.Parameter(torch.ones(shape)) if scale or rms_scaling else None
        self.beta = nn.Parameter(torch.zeros(shape)) if center and not rms_scaling else None
        if kind == "batch":
            self.register_buffer("moving_mean", torch.zeros(shape))
            self.register_buffer("moving_variance", torch.ones(shape))

    def forward(self, x):
        view = [1] * x.dim()
        for a in self.axes:
            view[a] = x.shape[a]
        others = [d for d in range(x.dim()) if d not in self.axes]
        if self.kind == "batch" and not self.training:
            mean, variance = self.moving_mean.reshape(view), self.moving_variance.reshape(view)
        elif self.kind == "batch":
            mean = x.mean(dim=others, keepdim=True)
            variance = x.var(dim=others, keepdim=True, unbiased=False)
            with torch.no_grad():
                self.moving_mean.mul_(self.momentum).add_((1 - self.momentum) * mean.reshape(self.moving_mean.shape))
                self.moving_variance.mul_(self.momentum).add_(
                    (1 - self.momentum) * variance.reshape(self.moving_variance.shape))
        else:
            reduce = self.axes
            if self.rms_scaling:
                # keras.ops.layer_normalization's rms_scaling (deprecated there): x / sqrt(variance + ε), γ
                y = x * torch.rsqrt(x.var(dim=reduce, keepdim=True, unbiased=False) + self.epsilon)
                return y * self.gamma.reshape(view)
            mean = x.mean(dim=reduce, keepdim=True)
            variance = x.var(dim=reduce, keepdim=True, unbiased=False)
        y = (x - mean) * torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma.reshape(view)
        if self.beta is not None:
            y = y + self.beta.reshape(view)
        return y
''',
    "KerasDense": _ACTIVATION + '''

class KerasDense(nn.Module):
    """Keras Dense: a matrix product on the last axis (torch's Linear), then the activation."""

    def __init__(self, in_features, units, use_bias=True, activation=None):
        super().__init__()
        self.linear = nn.Linear(in_features, units, use_bias)
        self.activation = activation

    def forward(self, x):
        return keras_activation(self.linear(x), self.activation)
''',
    "KerasActivation": _ACTIVATION + '''

class KerasActivation(nn.Module):
    """Keras Activation, ReLU (max_value, negative_slope, threshold) and Softmax (axis)."""

    def __init__(self, activation=None, max_value=None, negative_slope=0.0, threshold=0.0, axis=None):
        super().__init__()
        self.activation, self.max_value, self.negative_slope = activation, max_value, negative_slope
        self.threshold, self.axis = threshold, axis

    def forward(self, x):
        if self.axis is not None:
            return torch.softmax(x, dim=self.axis)
        if self.activation is not None:
            return keras_activation(x, self.activation)
        y = torch.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        return y if self.max_value is None else torch.clamp(y, max=self.max_value)
''',
    "KerasReshape": '''
class KerasReshape(nn.Module):
    """Keras Flatten (target None), Reshape (target_shape, batch excluded) or Permute (dims, batch excluded)."""

    def __init__(self, target=None, dims=None):
        super().__init__()
        self.target, self.dims = target, dims

    def forward(self, x):
        if self.dims is not None:
            return torch.permute(x, [0, *self.dims])
        if self.target is None:
            return torch.flatten(x, 1)
        return torch.reshape(x, [x.shape[0], *self.target])
''',
    "KerasDropout": '''
class KerasDropout(nn.Module):
    """Keras Dropout / SpatialDropout (spatial: whole channels); the identity at inference."""

    def __init__(self, rate, spatial=False):
        super().__init__()
        self.rate, self.spatial = rate, spatial

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        shape = [x.shape[0], *[1] * (x.dim() - 2), x.shape[-1]] if self.spatial else list(x.shape)
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1 - self.rate)
        return x * keep / (1 - self.rate)
''',
    "KerasPad": '''
class KerasPad(nn.Module):
    """Keras ZeroPadding (positive) and Cropping (negative): (before, after) per spatial axis, channels last."""

    def __init__(self, pads):
        super().__init__()
        self.pads = [0, 0] + [p for pair in reversed(pads) for p in pair]

    def forward(self, x):
        return F.pad(x, self.pads)
''',
    "KerasUpSampling": '''
class KerasUpSampling(nn.Module):
    """Keras UpSampling: repeat each element ``size`` times per axis (nearest) or bilinear (half pixel)."""

    def __init__(self, size, interpolation="nearest"):
        super().__init__()
        self.size, self.interpolation = list(size), interpolation

    def forward(self, x):
        if self.interpolation == "bilinear":
            y = F.interpolate(torch.movedim(x, -1, 1), scale_factor=self.size, mode="bilinear", align_corners=False)
            return torch.movedim(y, 1, -1)
        for axis, factor in enumerate(self.size, start=1):
            x = torch.repeat_interleave(x, factor, dim=axis)
        return x
''',
    "KerasMerge": '''
class KerasMerge(nn.Module):
    """Keras Add, Multiply, Concatenate (axis) and InceptionResNetV2's CustomScaleLayer (a + b · scale)."""

    def __init__(self, op, axis=-1, scale=1.0):
        super().__init__()
        self.op, self.axis, self.scale = op, axis, scale

    def forward(self, *xs):
        if self.op == "concatenate":
            return torch.cat(xs, dim=self.axis)
        if self.op == "scale":
            return xs[0] + xs[1] * self.scale
        out = xs[0]
        for x in xs[1:]:
            out = out + x if self.op == "add" else out * x
        return out
''',
    "KerasAffine": '''
class KerasAffine(nn.Module):
    """Keras Rescaling (x · scale + offset) and Normalization ((x − mean) / sqrt(variance), given or adapted:
    adapt()'s mean, variance and count as buffers, shaped ``view``)."""

    def __init__(self, scale=1.0, offset=0.0, mean=None, variance=None, view=None, invert=False):
        super().__init__()
        self.scale, self.offset, self.invert = scale, offset, invert
        self.mean, self.variance = mean, variance
        if view is not None:
            self.register_buffer("adapted_mean", torch.zeros(view))
            self.register_buffer("adapted_variance", torch.ones(view))
            self.register_buffer("count", torch.zeros(()))

    def forward(self, x):
        if self.mean is None and not hasattr(self, "adapted_mean"):
            return x * torch.as_tensor(self.scale, dtype=x.dtype) + torch.as_tensor(self.offset, dtype=x.dtype)
        mean = self.adapted_mean if self.mean is None else torch.as_tensor(self.mean, dtype=x.dtype)
        variance = self.adapted_variance if self.mean is None else torch.as_tensor(self.variance, dtype=x.dtype)
        if self.invert:
            return x * torch.sqrt(variance) + mean
        return (x - mean) / torch.sqrt(torch.clamp(variance, min=1e-7))
''',
}


def register_sources() -> None:
    """Add the classes above to layers/_torch_ops.py's SOURCES (so to_torch and export --to torch see them)."""
    from . import _torch_ops
    for name, source in SOURCES.items():
        _torch_ops.SOURCES.setdefault(name, source)
