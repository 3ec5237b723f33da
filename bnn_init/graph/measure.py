"""Measured moments of every tensor of a Keras graph on a probe batch, computed inside the
model's own forward pass (reductions only: nothing large leaves the graph).

For a tensor x of shape (batch, ..., channels) and the probe batch read as pairs (first half,
second half), ``tensor_moments`` returns the per-channel E x, E x^2 and E x_a x_b (the
`bnn_init.theory.moments.Moments` of the tensor) and the two halves' second moments (for the pair
correlation), in one vector.

:func:`recording` runs BatchNorm layers with the probe batch's statistics, as training does, but
computes them itself: no moving statistic or weight changes.

Example:
    >>> recorded = {}
    >>> with recording(graph, theory.maps, recorded):          # doctest: +SKIP
    ...     model(x, training=False)
    >>> moments_from(recorded)[graph.inputs[0]]               # doctest: +SKIP
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from bnn_init.theory.moments import Moments

from .registry import NodeMap
from .theory import pre_activation_key

__all__ = [
    "batch_statistics_call",
    "moments_from",
    "pair_correlation_from",
    "recording",
    "replaced",
    "tensor_moments",
]


def tensor_moments(x):
    """[channel means, channel E x^2, channel E x_a x_b, E x_a^2, E x_b^2] as one float32 vector
    of length 3 C + 2 (C channels: the last axis; a rank-1 tensor has one)."""
    x = tf.cast(x, tf.float32)
    if x.shape.rank == 1:
        x = x[:, tf.newaxis]
    half = tf.shape(x)[0] // 2
    a, b = x[:half], x[half : 2 * half]
    axes = list(range(x.shape.rank - 1))
    return tf.concat(
        [
            tf.reduce_mean(x, axis=axes),
            tf.reduce_mean(tf.square(x), axis=axes),
            tf.reduce_mean(a * b, axis=axes),
            tf.stack([tf.reduce_mean(tf.square(a)), tf.reduce_mean(tf.square(b))]),
        ],
        axis=0,
    )


def _split(values):
    values = np.asarray(values, dtype=np.float64)
    channels = (values.size - 2) // 3
    return values[:channels], values[channels : 2 * channels], values[2 * channels : 3 * channels]


def moments_from(recorded: dict) -> dict:
    """{key: Moments} from recorded vectors (non-finite ones are left out)."""
    out = {}
    for key, values in recorded.items():
        values = np.asarray(values, dtype=np.float64)
        if values.size >= 5 and np.all(np.isfinite(values)):
            out[key] = Moments(*_split(values))
    return out


def pair_correlation_from(values) -> float:
    """E[x_a x_b] / sqrt(E[x_a^2] E[x_b^2]) from a recorded vector."""
    values = np.asarray(values, dtype=np.float64)
    pair = np.mean(_split(values)[2])
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(pair / np.sqrt(values[-2] * values[-1]))


def batch_statistics_call(layer):
    """BatchNorm's normalisation with the batch's mean and variance, without updating anything."""

    def call(inputs, *args, **kwargs):
        x = tf.cast(inputs, layer.compute_dtype)
        axes = [i for i in range(x.shape.rank) if i != x.shape.rank - 1]
        mean, variance = tf.nn.moments(x, axes=axes)
        return tf.nn.batch_normalization(
            x,
            mean,
            variance,
            layer.beta if layer.center else None,
            layer.gamma if layer.scale else None,
            layer.epsilon,
        )

    return call


@contextlib.contextmanager
def replaced(layer, name, value):
    """Set the instance attribute ``name`` of ``layer`` to ``value`` while the context lasts."""
    had = name in layer.__dict__
    previous = layer.__dict__.get(name)
    object.__setattr__(layer, name, value)
    try:
        yield
    finally:
        if had:
            object.__setattr__(layer, name, previous)
        else:
            object.__delattr__(layer, name)


def _recorded_call(call, keys, recorded, tensors):
    def wrapped(*args, **kwargs):
        outputs = call(*args, **kwargs)
        for key, tensor in zip(keys, tf.nest.flatten(outputs), strict=False):
            if key not in recorded:
                recorded[key] = tensor_moments(tensor)
                if tensors is not None:
                    tensors[key] = tensor
        return outputs

    return wrapped


def _recorded_activation(activation, key, recorded, tensors):
    def wrapped(tensor):
        if key not in recorded:
            recorded[key] = tensor_moments(tensor)
            if tensors is not None:
                tensors[key] = tensor
        return activation(tensor)

    return wrapped


@contextlib.contextmanager
def recording(
    graph, maps, recorded: dict, batch_statistics: bool = True, tensors=None, inputs=None
):
    """While the model runs: record the moments of every node's output (and of the pre-activation
    of layers with a mapped activation) into ``recorded[key]``, and the tensors themselves into
    ``tensors[key]`` when a dict is given (for their gradients); BatchNorm with batch statistics
    when ``batch_statistics``. The first call of a shared layer is the one recorded. ``inputs``:
    the model's inputs (a tensor, or one per model input), recorded under the graph's input keys.
    """
    if inputs is not None:
        for key, tensor in zip(graph.inputs, tf.nest.flatten(inputs), strict=True):
            recorded[key] = tensor_moments(tensor)
    with contextlib.ExitStack() as stack:
        for node, node_map in zip(graph.nodes, maps, strict=True):
            layer = node.layer
            call = layer.call
            if batch_statistics and type(layer).__name__ == "BatchNormalization":
                call = batch_statistics_call(layer)
            stack.enter_context(
                replaced(layer, "call", _recorded_call(call, node.outputs, recorded, tensors))
            )
            pre = pre_activation_key(node, node_map)
            if isinstance(node_map, NodeMap) and pre not in node.outputs:
                stack.enter_context(
                    replaced(
                        layer,
                        "activation",
                        _recorded_activation(layer.activation, pre, recorded, tensors),
                    )
                )
        yield
