"""Keep LCE's bitpacked-output thresholds exact: move each sign decision to the middle of a gap.

When a binary layer's output reaches only the sign-like input quantizers of other binary layers,
LCE writes bitpacked output directly, comparing the xor-popcount x with an integer threshold
tau = floor(0.5 (beta / gamma + a)), computed in float32 from the fused multiplier gamma and bias
beta (fan-in a; larq/compute-engine ``optimize.cc``, ComputeWriteBitpackedOutputThresholds).
When |beta / gamma| is below half a float32 ulp of a, the sum rounds to a and the bias is lost:
with an even fan-in, a unit whose dot product d = a - 2x is exactly 0 and whose tiny bias is
negative gets +1 from LCE and -1 from Keras. (This is what made the demo network disagree on
81 of 450 digits at width 256; odd fan-ins never have d = 0.)

The dot products d of a layer with +-1 kernel and fan-in a take the values -a, -a + 2, ..., a,
and sign(y(d)) for the affine chain y (bias, BatchNorm, Rescaling, shape layers) is a threshold
in d. We evaluate Keras' own float32 decision at every d, then choose a new layer bias that puts
the boundary halfway between the last -1 and the first +1: the same decision at every possible
d, with a margin of one unit of d that no float rounding can cross. Only the layer's bias
changes, and only the pre-sign values it feeds, never the network's function (checked: the new
decisions are compared with the old ones at every d).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from bnn_init.quantizer_kinds import is_binary_input, quantizer_kind

AFFINE_LAYERS = ("BatchNormalization", "Rescaling", "Reshape", "Flatten")


def _consumers(model) -> dict[str, list]:
    users: dict[str, list] = {layer.name: [] for layer in model.layers}
    for layer in model.layers:
        for node in layer.inbound_nodes:
            for inbound in tf.nest.flatten(node.inbound_layers):
                users.setdefault(inbound.name, []).append(layer)
    return users


def _affine_chain(layer, users) -> list | None:
    """Layers between ``layer`` and the sign quantizers it alone feeds; None if it feeds others."""
    chain, current = [], layer
    while True:
        following = users.get(current.name, [])
        if not following:
            return None  # the model output: float values are observed
        if all(is_binary_input(getattr(f, "input_quantizer", None)) for f in following):
            return chain
        if len(following) != 1 or type(following[0]).__name__ not in AFFINE_LAYERS:
            return None
        current = following[0]
        if type(current).__name__ in ("Reshape", "Flatten") and (
            current.input_shape[-1] != current.output_shape[-1]
        ):
            return None  # the channel axis changes: no per-channel threshold
        chain.append(current)


def _chain_values(chain, table: np.ndarray) -> np.ndarray:
    """The chain's float32 outputs for a (rows, channels) table of layer outputs."""
    values = tf.constant(table.astype(np.float32))
    for layer in chain:
        if type(layer).__name__ not in ("Reshape", "Flatten"):  # shape changes act on no table
            values = layer(values, training=False)
    return np.asarray(values, dtype=np.float64)


def _decisions(chain, biases: np.ndarray, dots: np.ndarray) -> np.ndarray:
    """Keras' float32 sign(y(d)) >= 0 for every dot product d (rows) and channel (columns)."""
    table = dots[:, None].astype(np.float32) + biases[None, :].astype(np.float32)
    return _chain_values(chain, table) >= 0


def margin_biases(layer, chain) -> np.ndarray | None:
    """New biases with the same decisions at every d and the boundary mid-gap; None if not sound."""
    if quantizer_kind(getattr(layer, "kernel_quantizer", None)) != "sign" or not layer.use_bias:
        return None
    if getattr(getattr(layer, "activation", None), "__name__", "linear") != "linear":
        return None
    if type(layer).__name__ == "QuantConv2D" and layer.padding != "valid":
        if float(getattr(layer, "pad_values", 0.0)) != 1.0:
            return None  # zero padding: border pixels have other fan-ins; LCE keeps floats
    fan_in = int(math.prod(layer.kernel.shape[:-1]))
    dots = np.arange(-fan_in, fan_in + 1, 2, dtype=np.float64)
    bias = layer.get_weights()[1]
    before = _decisions(chain, bias, dots)
    bias64 = bias.astype(np.float64)
    at_zero, at_one = _chain_values(chain, np.stack([bias64, bias64 + 1.0]))
    slope = at_one - at_zero  # dy/dd per channel
    boundary = np.full(len(bias), np.nan)
    for c in range(len(bias)):
        column = before[:, c]
        if column.all() or not column.any() or slope[c] == 0:
            continue  # constant decision: LCE uses +-infinity thresholds, exactly
        if slope[c] > 0:
            if not np.all(np.diff(column.astype(int)) >= 0):
                return None
            boundary[c] = dots[np.argmax(column)] - 1.0  # between the last -1 and the first +1
        else:
            if not np.all(np.diff(column.astype(int)) <= 0):
                return None
            boundary[c] = dots[len(column) - 1 - np.argmax(column[::-1])] + 1.0
    moved = ~np.isnan(boundary)
    y_at_boundary = _chain_values(chain, (np.where(moved, boundary, 0.0) + bias64)[None, :])[0]
    new = np.where(moved, bias64 - y_at_boundary / np.where(moved, slope, 1.0), bias64)
    new = new.astype(np.float32)
    if not np.array_equal(_decisions(chain, new, dots), before):
        return None
    return new


def margin_edits(model, verdicts: dict) -> dict[str, np.ndarray]:
    """{layer name: new bias} for the binary layers whose thresholds LCE computes."""
    users = _consumers(model)
    edits = {}
    for layer in model.layers:
        verdict = verdicts[layer.name]
        if verdict.role != "binary" or verdict.ternary_kernel:
            continue
        chain = _affine_chain(layer, users)
        if chain is None:
            continue
        new = margin_biases(layer, chain)
        if new is not None and not np.array_equal(new, layer.get_weights()[1]):
            edits[layer.name] = new
    return edits
