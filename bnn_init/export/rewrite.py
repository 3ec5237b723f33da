"""Stage 2 of the export: exact rewrites into the forms LCE bitpacks or computes correctly.

A model that needs none of them is converted as it is, the user's own object. Otherwise the
edits work on the functional config (:mod:`bnn_init.export.config`): layers keep their names,
new layers are called ``<name>_bnnx_<what>`` and get role ``"binary_part"``. Each rewrite is
exact (the tests compare the rewritten Keras model with the original):

* ``sign_kernel``: a kernel in {-1, +1} without kernel quantizer gets ``ste_sign``, which leaves
  it unchanged and lets LCE see a binary kernel.
* ``dense_as_conv``: LCE 0.16 converts a binary ``QuantDense`` to a float FULLY_CONNECTED op
  (larq/compute-engine issues #53, #806). y = W^T sign(x) over features F is the 1x1 convolution
  of the same kernel over a 1 x P image of F channels (P = product of the non-feature axes):
  ``Reshape((1, P, F))`` -> ``QuantConv2D(units, 1)`` -> ``Reshape(original)``, one
  ``LceBconv2d``. The kernel quantizer is kept (``magnitude_aware_sign`` takes its mean over
  the same input axis in both forms).
* ``ternary_split``: a sign-input layer with kernel W in {-1, 0, +1} (the masked converging layer
  of an MFB network, Soudry & Meir 2013, eq. 1) is W = (A + B) / 2 with A = B = W where W != 0
  and A = +1, B = -1 where W = 0: one binary layer with kernel [A | B] (bias [b | b]),
  ``Reshape((S, 2, units))`` and a (1, 2) ``AveragePooling2D`` for the mean of the two halves.
* ``padding_correction``: LCE 0.16 computes a binary convolution with ``padding="same"`` and
  ``pad_values=0`` wrongly when an input side is shorter than the kernel (e.g. a 3x3 kernel on
  the 2x2 last stage of Bi-Real Net at 64x64 inputs; ``tests/export/test_export_lce_bugs.py`` holds the
  reproducer). With x_pad the input padded with 0 and x_one padded with +1,
  conv(sign x_pad) = conv(sign x_one) - C with C = conv(P, w_q), P the indicator of the padded
  positions and w_q the quantized kernel: the layer becomes ``pad_values=1`` (which LCE computes
  correctly) followed by :class:`~bnn_init.export.layers.AddConstant` of -C, then the original
  activation.
* thresholds (:mod:`bnn_init.export.thresholds`): a binary layer whose output feeds only
  sign quantizers gets its bias moved mid-gap between possible dot products, so LCE's float32
  threshold computation cannot lose a small bias (same sign at every dot product).
* with ``binarize=True`` only: bnn-init's ``HardTanh`` quantizers become ``ste_sign`` (this
  changes the function; verification then reports parity with both models).

Initializers, regularizers and constraints are dropped (they do not act at inference).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from bnn_init.export.config import (
    entry,
    fresh_lambdas,
    functional_config,
    insert_chain_after,
    rebuild,
)
from bnn_init.export.thresholds import margin_edits

SIGN = "ste_sign"


def prepare(
    model: tf.keras.Model, verdicts: dict, margins: dict | None = None
) -> tuple[tf.keras.Model, dict]:
    """Return (export-ready model, {layer name: role}) for an already-judged ``model``.

    ``verdicts`` maps layer name -> :class:`~bnn_init.export.judge.Verdict`; ``margins`` maps
    layer name -> new bias (:func:`bnn_init.export.thresholds.margin_edits`). The returned model
    is ``model`` itself when no layer needs a rewrite.
    """
    roles = {name: v.role for name, v in verdicts.items()}
    margins = margins or {}
    edited = [
        layer
        for layer in model.layers
        if verdicts[layer.name].rewrites
        or verdicts[layer.name].replace_quantizers
        or layer.name in margins
    ]
    if not edited:
        return model, roles
    config = functional_config(model)
    _check_unshared(config, [layer.name for layer in edited])
    weights = {}
    for layer in model.layers:
        layer_entry = entry(config, layer.name)
        _strip_training_only(layer_entry["config"])
        weights[layer.name] = layer.get_weights()
    for name, bias in margins.items():
        weights[name][1] = bias
    for layer in edited:
        verdict = verdicts[layer.name]
        layer_entry = entry(config, layer.name)
        cfg = layer_entry["config"]
        if verdict.replace_quantizers:
            for key in ("input_quantizer", "kernel_quantizer"):
                if cfg.get(key) is not None:
                    cfg[key] = SIGN
        if "sign_kernel" in verdict.rewrites or "ternary_split" in verdict.rewrites:
            cfg["kernel_quantizer"] = SIGN
        if "padding_correction" in verdict.rewrites:
            added = _padding_correction(config, layer, weights)
            roles.update(dict.fromkeys(added, "binary_part"))
        if "dense_as_conv" in verdict.rewrites:
            added = _dense_as_conv(config, layer_entry, layer)
            weights[layer.name][0] = weights[layer.name][0].reshape(1, 1, *layer.kernel.shape)
            roles.update(dict.fromkeys(added, "binary_part"))
        if "ternary_split" in verdict.rewrites:
            added = _ternary_tail(config, entry(config, layer.name), layer)
            weights[layer.name] = _ternary_values(weights[layer.name])
            roles.update(dict.fromkeys(added, "binary_part"))
    return rebuild(config, weights, fresh_lambdas(model)), roles


def _check_unshared(config: dict, names: list[str]) -> None:
    shared = [n for n in names if len(entry(config, n)["inbound_nodes"]) > 1]
    if shared:
        raise ValueError(
            f"model: layers {shared} are used more than once and need an export rewrite; "
            "unshare them (one layer object per call)"
        )


def _strip_training_only(layer_config: dict) -> None:
    for key in list(layer_config):
        if key.endswith("_initializer"):
            layer_config[key] = "zeros"
        elif key.endswith(("_regularizer", "_constraint")):
            layer_config[key] = None


def _dense_as_conv(config: dict, dense: dict, layer: tf.keras.layers.Layer) -> list[str]:
    """Replace the QuantDense config ``dense`` by reshape -> 1x1 QuantConv2D -> reshape."""
    in_shape = layer.input_shape
    middle, features = tuple(in_shape[1:-1]), in_shape[-1]
    if any(d is None for d in middle) or features is None:
        raise ValueError(
            f"layer {layer.name!r}: input shape {in_shape} has unknown dimensions; "
            "export needs static shapes"
        )
    pixels = math.prod(middle) if middle else 1
    cfg, name = dense["config"], dense["name"]
    conv = {
        "module": "larq.layers",
        "class_name": "QuantConv2D",
        "registered_name": None,
        "name": name,
        "config": {
            "name": name,
            "dtype": cfg.get("dtype", "float32"),
            "filters": cfg["units"],
            "kernel_size": [1, 1],
            "padding": "valid",
            "activation": cfg.get("activation", "linear"),
            "use_bias": cfg.get("use_bias", True),
            "input_quantizer": cfg["input_quantizer"],
            "kernel_quantizer": cfg["kernel_quantizer"],
            "pad_values": 1.0,
        },
    }
    reshape_in = {
        "class_name": "Reshape",
        "name": f"{name}_bnnx_in",
        "config": {"name": f"{name}_bnnx_in", "target_shape": [1, pixels, features]},
        "inbound_nodes": dense["inbound_nodes"],
    }
    conv["inbound_nodes"] = [[[reshape_in["name"], 0, 0, {}]]]
    index = config["layers"].index(dense)
    config["layers"][index : index + 1] = [reshape_in, conv]
    added = insert_chain_after(
        config, name, [("Reshape", "out", {"target_shape": [*middle, cfg["units"]]})]
    )
    return [reshape_in["name"], *added]


def _ternary_tail(config: dict, conv: dict, layer) -> list[str]:
    """Double ``conv``'s filters and append the exact (A + B) / 2 mean of its two halves."""
    cfg = conv["config"]
    units = int(layer.kernel.shape[-1])
    activation = cfg.get("activation", "linear")
    cfg.update(filters=2 * units, activation="linear")
    spatial = tuple(layer.output_shape[1:-1])
    tail = [
        ("Reshape", "pairs", {"target_shape": [math.prod(spatial), 2, units]}),
        ("AveragePooling2D", "mean", {"pool_size": [1, 2], "strides": [1, 2]}),
        ("Reshape", "unpairs", {"target_shape": [*spatial, units]}),
    ]
    if activation != "linear":
        tail.append(("Activation", "act", {"activation": activation}))
    return insert_chain_after(config, conv["name"], tail)


def _ternary_values(values: list[np.ndarray]) -> list[np.ndarray]:
    """Kernel [A | B] along the output axis and bias [b | b] for W = (A + B) / 2."""
    w = values[0]
    a, b = np.where(w == 0, 1.0, w), np.where(w == 0, -1.0, w)
    return [np.concatenate([a, b], axis=-1).astype(np.float32)] + [
        np.concatenate([v, v]) for v in values[1:]
    ]


def same_padding(size: int, extent: int, stride: int) -> tuple[int, int]:
    """TensorFlow's (before, after) padding of one side for ``padding="same"``."""
    total = max((math.ceil(size / stride) - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def padding_constant(layer) -> np.ndarray:
    """C = conv(P, w_q): what the zero padding removes from a +1-padded binary convolution."""
    _, height, width, channels = layer.input_shape
    kernel = tf.convert_to_tensor(layer.kernel)
    if layer.kernel_quantizer is not None:
        kernel = layer.kernel_quantizer(kernel)
    extents = [(k - 1) * d + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate, strict=True)]
    pads = [
        same_padding(size, extent, stride)
        for size, extent, stride in zip((height, width), extents, layer.strides, strict=True)
    ]
    indicator = tf.pad(
        tf.zeros((1, height, width, channels)), [(0, 0), *pads, (0, 0)], constant_values=1.0
    )
    corner = tf.nn.conv2d(
        indicator, kernel, strides=layer.strides, padding="VALID", dilations=layer.dilation_rate
    )
    return corner.numpy()[0]


def _padding_correction(config: dict, layer, weights: dict) -> list[str]:
    """pad_values=1 conv, then + (-C), then the original activation."""
    cfg = entry(config, layer.name)["config"]
    activation = cfg.get("activation", "linear")
    cfg.update(pad_values=1.0, activation="linear")
    tail = [("AddConstant", "unpad", {"shape": list(layer.output_shape[1:])})]
    if activation != "linear":
        tail.append(("Activation", "act", {"activation": activation}))
    added = insert_chain_after(config, layer.name, tail)
    weights[added[0]] = [-padding_constant(layer)]
    return added


def run(job) -> None:
    """Stage 2: ``job.ready`` (the model LCE converts, before int8) and ``job.roles``."""
    margins = {} if job.int8 else margin_edits(job.model, job.verdicts)
    job.notes += [
        f"{name}: bias moved to mid-gap between possible dot products, so LCE's integer output "
        "thresholds keep every sign (same function)"
        for name in margins
    ]
    job.ready, job.roles = prepare(job.model, job.verdicts, margins)
