"""Which theory map describes a layer call: one registry for Keras, Larq and bnn-init layers.

``map_for(node)`` returns a :class:`NodeMap` (the layer's map, `bnn_init.theory.maps`) or an
:class:`Unmapped` that says why no sound map exists (the graph theory then re-anchors on the
measured statistics after that layer). Quantizers are read through `bnn_init.quantizer_kinds`,
the one answer to "is this quantizer sign-like" that the exporter and ``to_binary`` also use.

A user's own layer gets a map with :func:`register_layer`:

    >>> from bnn_init.theory.maps import Pointwise
    >>> from bnn_init.theory.pointwise import Tanh
    >>> @register_layer("MyTanh")
    ... def _my_tanh(layer, node):
    ...     return NodeMap(Pointwise(Tanh()))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnn_init.primitives.checks import first_line
from bnn_init.quantizer_kinds import quantizer_kind, quantizer_name
from bnn_init.theory import pointwise as fn
from bnn_init.theory.maps import (
    Add,
    Affine,
    BatchNormTraining,
    Chain,
    Concatenate,
    Dropout,
    Linear,
    Pad,
    Pointwise,
    Product,
    Tile,
)
from bnn_init.theory.pooling import AveragePool, MaxPool

__all__ = [
    "NodeMap",
    "Unmapped",
    "batch_norm_inference",
    "map_for",
    "pointwise_for_quantizer",
    "register_layer",
]


@dataclass(frozen=True)
class Unmapped:
    """No sound map for this layer call, and why."""

    reason: str


@dataclass(frozen=True)
class NodeMap:
    """The map from a layer call's inputs to its pre-activation (``pre``), the built-in
    activation after it (or None), and whether it mixes through a random kernel."""

    pre: object
    activation: object = None
    weight_layer: bool = False

    def forward(self, *inputs):
        pre = self.pre.forward(*inputs)
        return pre, (pre if self.activation is None else self.activation.forward(pre))


_REGISTRY = {}


def register_layer(*class_names):
    """Decorator: ``builder(layer, node) -> NodeMap | Unmapped`` for layers of these classes."""

    def decorate(builder):
        for name in class_names:
            _REGISTRY[name] = builder
        return builder

    return decorate


def map_for(node):
    """The map of one layer call (`bnn_init.graph.walk.GraphNode`), or Unmapped with the reason."""
    name = type(node.layer).__name__
    builder = _REGISTRY.get(name)
    if builder is None:
        return Unmapped(f"no map for a {name} layer")
    try:
        return builder(node.layer, node)
    except (ValueError, TypeError, AttributeError) as error:
        return Unmapped(f"{name}: {first_line(error)[:200]}")


# ---------------------------------------------------------------- elementwise parts
def _config(quantizer):
    getter = getattr(quantizer, "get_config", None)
    return getter() if callable(getter) else {}


def pointwise_for_quantizer(quantizer):
    """The maps of an input quantizer: a tuple of maps (empty for None), or Unmapped."""
    kind, name, config = quantizer_kind(quantizer), quantizer_name(quantizer), _config(quantizer)
    if kind is None:
        return ()
    if kind == "sign":
        clip = config.get("clip_value", 1.0)
        return (Pointwise(fn.Sign(ste_clip=float(clip) if clip else np.inf)),)
    if kind == "hard_tanh":  # B_r(x) = clip(x / r, -1, 1)
        r = float(getattr(quantizer, "r", 1.0))
        return (Affine(1.0 / r), Pointwise(fn.Clip(-1.0, 1.0)))
    if name in ("do_re_fa", "dorefa", "dorefa_quantizer") and config.get("mode") != "weights":
        return (Pointwise(fn.DoReFa(k_bit=int(config.get("k_bit", 2)))),)
    if name == "ste_heaviside":
        return (Pointwise(fn.Heaviside(ste_clip=float(config.get("clip_value", 1.0)))),)
    if name == "ste_tern" and not config.get("ternary_weight_networks", False):
        return (Pointwise(fn.Ternary(threshold=float(config.get("threshold_value", 0.05)))),)
    return Unmapped(f"no map for input quantizer {name!r}")


_ACTIVATIONS = {
    "linear": None,
    "relu": fn.ReLU(),
    "tanh": fn.Tanh(),
    "sigmoid": fn.Sigmoid(),
    "hard_tanh": fn.Clip(-1.0, 1.0),
}


def _activation(layer):
    """(map or None, None) for the layer's activation, or (None, Unmapped)."""
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or quantizer_name(activation)
    if name not in _ACTIVATIONS:
        return None, Unmapped(f"no map for activation {name!r}")
    function = _ACTIVATIONS[name]
    return (None if function is None else Pointwise(function)), None


# ---------------------------------------------------------------- weight layers
def _numpy(tensor):
    return np.asarray(tensor, dtype=np.float64)


def _inside_along(size, kernel, stride, dilation, padding):
    """(outputs x taps) booleans: which taps of each output position fall inside the input."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        outputs, before = (size - span) // stride + 1, 0
    else:
        outputs = -(-size // stride)
        total = max((outputs - 1) * stride + span - size, 0)
        before = total if padding == "causal" else total // 2
    index = (np.arange(outputs) * stride - before)[:, None] + np.arange(kernel)[None, :] * dilation
    return (index >= 0) & (index < size)


def _inside(spatial, window, strides, dilations, padding):
    """(output positions x taps) indicator of a convolution or pooling window on an input of
    ``spatial`` size."""
    inside = np.ones((1, 1), dtype=bool)
    for n, k, s, d in zip(spatial, window, strides, dilations, strict=True):
        inside = np.kron(inside, _inside_along(n, k, s, d, padding))
    return inside.astype(np.float64)


def _static_spatial(node):
    spatial = node.input_shapes[0][1:-1]
    if any(n is None for n in spatial):
        raise ValueError("the input's spatial size is not static")
    return spatial


def _dense_kernel(w, depthwise, groups):
    """The kernel as (taps, in channels, out channels), depthwise and grouped ones block-diagonal."""
    taps = int(np.prod(w.shape[:-2])) if w.ndim > 2 else 1
    if depthwise:  # (..., channels, multiplier): output c * multiplier + k reads input c
        channels, multiplier = w.shape[-2:]
        blocks = w.reshape(taps, channels, multiplier)
        full = np.zeros((taps, channels, channels * multiplier))
        for c in range(channels):
            full[:, c, c * multiplier : (c + 1) * multiplier] = blocks[:, c]
        return full
    w = w.reshape(taps, w.shape[-2], w.shape[-1])
    if groups == 1:
        return w
    per_group_in, outputs = w.shape[1], w.shape[2]
    per_group_out = outputs // groups
    full = np.zeros((taps, per_group_in * groups, outputs))
    for g in range(groups):
        rows = slice(g * per_group_in, (g + 1) * per_group_in)
        cols = slice(g * per_group_out, (g + 1) * per_group_out)
        full[:, rows, cols] = w[:, :, cols]
    return full


def _weight_layer(layer, node):
    depthwise = hasattr(layer, "depthwise_kernel")
    kernel = layer.depthwise_kernel if depthwise else getattr(layer, "kernel", None)
    if kernel is None or len([w for w in layer.weights if len(w.shape) >= 2]) != 1:
        return Unmapped("needs exactly one weight kernel")
    quantizer = getattr(layer, "depthwise_quantizer" if depthwise else "kernel_quantizer", None)
    latent = _numpy(getattr(kernel, "latent_variable", kernel))
    w = _numpy(quantizer(latent.astype(np.float32)) if quantizer is not None else latent)
    square, mean = float(np.mean(w**2)), float(np.mean(w))
    if mean**2 > 0.5 * square:
        return Unmapped(
            "its kernel is not of mean zero (a fixed averaging filter such as blur pooling): the "
            "output depends on spatial correlations the moments do not carry"
        )
    pre = pointwise_for_quantizer(getattr(layer, "input_quantizer", None))
    if isinstance(pre, Unmapped):
        return pre
    activation, unmapped = _activation(layer)
    if unmapped is not None:
        return unmapped
    full = _dense_kernel(w, depthwise, getattr(layer, "groups", 1))
    inside, positions_ratio = None, 1.0
    padding = getattr(layer, "padding", "valid")
    if w.ndim > 2:
        spatial = _static_spatial(node)
        inside = _inside(spatial, w.shape[:-2], layer.strides, layer.dilation_rate, padding)
        positions_ratio = inside.shape[0] / float(np.prod(spatial))
    bias = _numpy(layer.bias) if getattr(layer, "use_bias", False) else None
    linear = Linear(
        kernel=full,
        bias=bias,
        inside=inside,
        pad_value=float(getattr(layer, "pad_values", 0.0)) if padding == "same" else 0.0,
        positions_ratio=positions_ratio,
    )
    return NodeMap(Chain((*pre, linear)), activation, weight_layer=True)


register_layer(
    "Dense",
    "QuantDense",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "QuantConv1D",
    "QuantConv2D",
    "QuantConv3D",
    "DepthwiseConv2D",
    "QuantDepthwiseConv2D",
)(_weight_layer)


# ---------------------------------------------------------------- normalisation and scaling
@register_layer("BatchNormalization")
def _batch_norm(layer, node):
    rank = len(node.input_shapes[0])
    axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
    if axis not in (-1, rank - 1, (rank - 1,)):
        return Unmapped(f"normalises axis {axis}; the moments are per channel (last axis)")
    gamma = _numpy(layer.gamma) if layer.scale else 1.0
    beta = _numpy(layer.beta) if layer.center else 0.0
    return NodeMap(BatchNormTraining(gamma, beta, float(layer.epsilon)))


def batch_norm_inference(layer):
    """BatchNorm with its moving statistics (inference mode): the per-channel affine map
    gamma (x - moving mean) / sqrt(moving variance + eps) + beta."""
    gamma = _numpy(layer.gamma) if layer.scale else 1.0
    beta = _numpy(layer.beta) if layer.center else 0.0
    scale = gamma / np.sqrt(_numpy(layer.moving_variance) + float(layer.epsilon))
    return NodeMap(Affine(scale, beta - scale * _numpy(layer.moving_mean)))


@register_layer("CenteredScale")
def _centered_scale(layer, node):
    inverse = 1.0 / np.sqrt(float(layer.variance))
    beta = _numpy(layer.beta) if layer.center else 0.0
    return NodeMap(Affine(inverse, beta - _numpy(layer.moving_mean) * inverse))


@register_layer("Rescaling")
def _rescaling(layer, node):
    return NodeMap(Affine(float(layer.scale), float(layer.offset)))


# ---------------------------------------------------------------- elementwise layers
@register_layer("Activation")
def _activation_layer(layer, node):
    activation, unmapped = _activation(layer)
    return unmapped or NodeMap(activation or Chain(()))


@register_layer("ReLU")
def _relu(layer, node):
    slope, threshold = float(layer.negative_slope), float(layer.threshold)
    if threshold != 0.0:
        return Unmapped(f"threshold {threshold} != 0")
    if layer.max_value is not None:
        if slope != 0.0:
            return Unmapped("a negative slope and a maximum together")
        return NodeMap(Pointwise(fn.Clip(0.0, float(layer.max_value))))
    return NodeMap(Pointwise(fn.PReLU(slope) if slope else fn.ReLU()))


@register_layer("PReLU")
def _prelu(layer, node):
    """PReLU with one alpha per channel: the moments use the mean alpha (exact at initialisation,
    where every alpha has the initializer's value)."""
    return NodeMap(Pointwise(fn.PReLU(float(np.mean(_numpy(layer.alpha))))))


@register_layer("LeakyReLU")
def _leaky_relu(layer, node):
    return NodeMap(Pointwise(fn.PReLU(float(layer.alpha))))


@register_layer("QuantIdentity", "QuantizerLayer")
def _quantizer_layer(layer, node):
    maps = pointwise_for_quantizer(getattr(layer, "input_quantizer", None))
    return maps if isinstance(maps, Unmapped) else NodeMap(Chain(maps))


@register_layer("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def _dropout(layer, node):
    return NodeMap(Dropout(float(layer.rate)))


@register_layer("Flatten", "Reshape")
def _flatten(layer, node):
    before, after = node.input_shapes[0], node.output_shapes[0]
    if before[-1] == after[-1]:  # a reshape keeps the size: the positions are rearranged
        return NodeMap(Chain(()))  # (e.g. squeeze-excite's (C,) -> (1, 1, C))
    if len(after) == 2 and after[-1] == int(np.prod(before[1:])):
        return NodeMap(Tile(int(np.prod(before[1:-1]))))
    return Unmapped(f"a reshape from {before[1:]} to {after[1:]} mixes channels")


@register_layer("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def _zero_padding(layer, node):
    inner = np.prod(node.input_shapes[0][1:-1])
    outer = np.prod(node.output_shapes[0][1:-1])
    return NodeMap(Pad(coverage=float(inner / outer)))


# ---------------------------------------------------------------- pooling
def _channels_last(layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError("channels_first data: the moments are per channel (last axis)")


@register_layer(*(f"{kind}Pooling{rank}D" for kind in ("Average", "Max") for rank in (1, 2, 3)))
def _pooling(layer, node):
    _channels_last(layer)
    spatial = _static_spatial(node)
    inside = _inside(spatial, layer.pool_size, layer.strides, (1,) * len(spatial), layer.padding)
    pool = AveragePool if type(layer).__name__.startswith("Average") else MaxPool
    sizes = tuple(int(k) for k in inside.sum(axis=1))
    return NodeMap(pool(sizes, positions_ratio=inside.shape[0] / float(np.prod(spatial))))


@register_layer(
    *(f"Global{kind}Pooling{rank}D" for kind in ("Average", "Max") for rank in (1, 2, 3))
)
def _global_pooling(layer, node):
    _channels_last(layer)
    positions = int(np.prod(_static_spatial(node)))
    pool = AveragePool if type(layer).__name__.startswith("GlobalAverage") else MaxPool
    return NodeMap(pool((positions,), positions_ratio=1.0 / positions))


# ---------------------------------------------------------------- merges
_TF_ADD = {"__operators__.add", "math.add"}
_TF_MULTIPLY = {"math.multiply", "__operators__.mul"}


@register_layer("Add")
def _add(layer, node):
    return NodeMap(Add()) if len(node.inputs) >= 2 else Unmapped("a sum with a constant")


@register_layer("Concatenate")
def _concatenate(layer, node):
    rank = len(node.input_shapes[0])
    if layer.axis not in (-1, rank - 1):
        return Unmapped(f"concatenates along axis {layer.axis}; the moments are per channel")
    return NodeMap(Concatenate())


def _product(node):
    if len(node.inputs) != 2:
        return Unmapped("a product with a constant or of more than two tensors")
    sizes = [np.prod([d for d in s[1:] if d]) for s in node.input_shapes]
    if sizes[0] == sizes[1]:
        return Unmapped("an elementwise product of two full tensors (not a broadcast scaling)")
    return NodeMap(Product())


@register_layer("Multiply")
def _multiply(layer, node):
    return _product(node)


@register_layer("TFOpLambda")
def _tf_op(layer, node):
    symbol = layer.symbol
    if symbol in _TF_ADD:
        return NodeMap(Add()) if len(node.inputs) >= 2 else Unmapped(f"{symbol} with a constant")
    if symbol in _TF_MULTIPLY:
        return _product(node)
    return Unmapped(f"no map for the TensorFlow op {symbol!r}")
