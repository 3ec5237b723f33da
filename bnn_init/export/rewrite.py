"""Rewrite a Keras model into the form LCE bitpacks: binary dense -> reshape, 1x1 conv, reshape.

LCE 0.16 converts a binary ``QuantDense`` to a float FULLY_CONNECTED op (larq/compute-engine
issues #53, #806). A dense layer y = W^T sign(x) over features F is the 1x1 convolution of the
same kernel over a 1 x P image of F channels (P = product of the non-feature axes), so we insert
``Reshape((1, P, F))`` -> ``QuantConv2D(units, 1)`` -> ``Reshape(original)``, which LCE turns into
one ``LceBconv2d``.

A layer with sign-like input quantizer and a kernel W in {-1, 0, +1} (no kernel quantizer; e.g. the
masked converging layer of an MFB network, Soudry & Meir (002), eq. 1) is split exactly as
W = (A + B) / 2 with A = W, B = W where W != 0 and A = +1, B = -1 where W = 0: one binary layer
with kernel [A | B] (2 x units filters, bias [b | b]), ``Reshape((S, 2, units))``, a (1, 2)
``AveragePooling2D`` that takes the mean of the two halves, then the original activation.

Folds done here (each exact): binary kernels are stored as sign(w) in {-1, +1} (sign(0) = +1, as
Larq's ste_sign), so LCE sees constant binary kernels; a binary-kernel layer with float input
becomes a float layer with the +-1 kernel and no kernel quantizer; weight constraints,
regularizers and initializers are dropped (they do not act at inference).

The edits work on the functional config (``model.get_config()``): layers keep their names, new
layers get ``<name>_bnnx_in`` / ``<name>_bnnx_out``, and weights are copied by name.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import sys

import numpy as np
import tensorflow as tf

from bnn_init.export.support import judge

SIGN = "ste_sign"


def binarize(w: np.ndarray) -> np.ndarray:
    """sign(w) with sign(0) = +1, as float32 (Larq's ste_sign forward pass)."""
    return np.where(w >= 0, 1.0, -1.0).astype(np.float32)


def functional_config(model: tf.keras.Model) -> dict:
    """The model's functional config; a Sequential model is turned into the equivalent chain."""
    config = copy.deepcopy(model.get_config())
    if not isinstance(model, tf.keras.Sequential):
        return config
    entries = config["layers"]
    if entries and entries[0]["class_name"] == "InputLayer":
        first, entries = entries[0], entries[1:]
    else:
        first = {
            "class_name": "InputLayer",
            "config": {"batch_input_shape": list(model.input_shape), "name": "input_1"},
        }
    first = dict(first, name=first["config"]["name"], inbound_nodes=[])
    layers, previous = [first], first["name"]
    for entry in entries:
        name = entry["config"]["name"]
        layers.append(dict(entry, name=name, inbound_nodes=[[[previous, 0, 0, {}]]]))
        previous = name
    return {
        "name": config["name"],
        "layers": layers,
        "input_layers": [[first["name"], 0, 0]],
        "output_layers": [[previous, 0, 0]],
    }


def _strip_training_only(layer_config: dict) -> None:
    for key in list(layer_config):
        if key.endswith("_initializer"):
            layer_config[key] = "zeros"
        elif key.endswith(("_regularizer", "_constraint")):
            layer_config[key] = None


def _rename_references(config: dict, old: str, new: str, skip: set[str]) -> None:
    for entry in config["layers"]:
        if entry["name"] in skip:
            continue
        for node in entry["inbound_nodes"]:
            for ref in node:
                if ref[0] == old:
                    ref[0] = new
    for ref in config["output_layers"]:
        if ref[0] == old:
            ref[0] = new


def insert_after(config: dict, name: str, new_entry: dict) -> None:
    """Insert ``new_entry`` (a layer config dict with ``name``) on every output use of ``name``."""
    index = next(i for i, e in enumerate(config["layers"]) if e["name"] == name)
    new_entry = dict(new_entry, inbound_nodes=[[[name, 0, 0, {}]]])
    _rename_references(config, name, new_entry["name"], skip={new_entry["name"]})
    config["layers"].insert(index + 1, new_entry)


def _dense_as_conv(entry: dict, layer: tf.keras.layers.Layer) -> list[dict]:
    in_shape = layer.input_shape
    middle, features = tuple(in_shape[1:-1]), in_shape[-1]
    if any(d is None for d in middle) or features is None:
        raise ValueError(
            f"layer {layer.name!r}: input shape {in_shape} has unknown dimensions; "
            "export needs static shapes"
        )
    pixels = math.prod(middle) if middle else 1
    cfg = entry["config"]
    name = entry["name"]
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
            "input_quantizer": SIGN,
            "kernel_quantizer": SIGN,
            "pad_values": 1.0,
        },
    }
    reshape_in = {
        "class_name": "Reshape",
        "name": f"{name}_bnnx_in",
        "config": {"name": f"{name}_bnnx_in", "target_shape": [1, pixels, features]},
        "inbound_nodes": entry["inbound_nodes"],
    }
    reshape_out = {
        "class_name": "Reshape",
        "name": f"{name}_bnnx_out",
        "config": {"name": f"{name}_bnnx_out", "target_shape": [*middle, cfg["units"]]},
    }
    conv["inbound_nodes"] = [[[reshape_in["name"], 0, 0, {}]]]
    reshape_out["inbound_nodes"] = [[[name, 0, 0, {}]]]
    return [reshape_in, conv, reshape_out]


def _ternary_tail(config: dict, conv: dict, layer, units: int) -> None:
    """Double ``conv``'s filters and append the exact (A + B) / 2 mean of its two halves."""
    name, cfg = conv["name"], conv["config"]
    activation = cfg.get("activation", "linear")
    cfg.update(filters=2 * units, kernel_quantizer=SIGN, activation="linear")
    spatial = tuple(layer.output_shape[1:-1])
    tail = [
        ("Reshape", "pairs", {"target_shape": [math.prod(spatial), 2, units]}),
        ("AveragePooling2D", "mean", {"pool_size": [1, 2], "strides": [1, 2]}),
    ]
    if type(layer).__name__ == "QuantConv2D":  # dense layers are reshaped back by _dense_as_conv
        tail.append(("Reshape", "unpairs", {"target_shape": [*spatial, units]}))
    if activation != "linear":
        tail.append(("Activation", "act", {"activation": activation}))
    previous = name
    for kind, suffix, extra in tail:
        new = f"{name}_bnnx_{suffix}"
        insert_after(
            config, previous, {"class_name": kind, "name": new, "config": {"name": new, **extra}}
        )
        previous = new


def _ternary_values(values: list[np.ndarray]) -> list[np.ndarray]:
    """Kernel [A | B] along the output axis and bias [b | b] for W = (A + B) / 2."""
    w = values[0]
    a, b = np.where(w == 0, 1.0, w), np.where(w == 0, -1.0, w)
    return [np.concatenate([a, b], axis=-1).astype(np.float32)] + [
        np.concatenate([v, v]) for v in values[1:]
    ]


def prepare(model: tf.keras.Model, verdicts: dict) -> tuple[tf.keras.Model, dict]:
    """Return (export-ready model, {layer name: role}) for an already-judged ``model``.

    ``verdicts`` maps layer name -> :class:`~bnn_init.export.support.Verdict`; layers must all
    be accepted. The returned model computes the same function as ``model`` except for the
    quantizer replacements listed in the verdicts' ``changes``.
    """
    config = functional_config(model)
    weights: dict[str, list[np.ndarray]] = {}
    roles: dict[str, str] = {}
    for layer in model.layers:
        verdict = verdicts[layer.name]
        roles[layer.name] = verdict.role
        entry = next(e for e in config["layers"] if e["name"] == layer.name)
        _strip_training_only(entry["config"])
        values = layer.get_weights()
        if verdict.binary_kernel:
            values[0] = binarize(values[0])
            entry["config"]["kernel_quantizer"] = None if not verdict.binary_input else SIGN
        if verdict.role == "binary":
            entry["config"]["input_quantizer"] = SIGN
            if type(layer).__name__ == "QuantDense":
                new = _dense_as_conv(entry, layer)
                index = config["layers"].index(entry)
                config["layers"][index : index + 1] = new
                _rename_references(config, layer.name, new[2]["name"], skip={new[2]["name"]})
                values[0] = values[0].reshape(1, 1, *values[0].shape)
                roles[new[0]["name"]] = roles[new[2]["name"]] = "binary_reshape"
                entry = new[1]
        if verdict.ternary_kernel:
            before = {e["name"] for e in config["layers"]}
            _ternary_tail(config, entry, layer, int(values[0].shape[-1]))
            values = _ternary_values(values)
            added = {e["name"] for e in config["layers"]} - before
            roles.update(dict.fromkeys(added, "binary_reshape"))
        weights[layer.name] = values
    rebuilt = rebuild(config)
    for name, values in weights.items():
        rebuilt.get_layer(name).set_weights(values)
    return rebuilt, roles


def judge_model(model: tf.keras.Model) -> dict:
    """Judge every layer; raise ValueError naming each refused layer and why."""
    verdicts = {layer.name: judge(layer) for layer in model.layers}
    refused = [
        f"  - {name} ({type(model.get_layer(name)).__name__}): {'; '.join(v.problems)}"
        for name, v in verdicts.items()
        if v.problems
    ]
    if refused:
        raise ValueError("model: cannot export to LCE, unsupported layers:\n" + "\n".join(refused))
    shared = [e["name"] for e in functional_config(model)["layers"] if len(e["inbound_nodes"]) > 1]
    if shared:
        raise ValueError(f"model: shared layers {shared} are not supported; unshare them")
    return verdicts


def rebuild(config: dict) -> tf.keras.Model:
    """``tf.keras.Model.from_config`` with Larq, bnn-init and (when loaded) tfmot QAT objects."""
    scope = contextlib.nullcontext()
    if "tensorflow_model_optimization" in sys.modules:  # a QAT model implies tfmot is loaded
        from tensorflow_model_optimization.quantization.keras import quantize_scope

        scope = quantize_scope()
    config = dict(config, layers=[dict(e) for e in config["layers"]])
    for entry in config["layers"]:
        # Layers build when called in the graph; a prebuild from build_config builds tfmot's
        # QuantizeLayer a second time (it never sets ``built``), doubling its variables.
        entry.pop("build_config", None)
    # Export drops weight constraints on purpose; silence Larq's "starved weights" advice.
    larq_log = logging.getLogger("larq.layers_base")
    level = larq_log.level
    larq_log.setLevel(logging.ERROR)
    try:
        with scope:
            return tf.keras.Model.from_config(config, custom_objects=custom_objects())
    finally:
        larq_log.setLevel(level)


def custom_objects() -> dict:
    import larq as lq

    from bnn_init.export.int8 import FakeQuant

    return {
        "QuantDense": lq.layers.QuantDense,
        "QuantConv2D": lq.layers.QuantConv2D,
        "FakeQuant": FakeQuant,
    }
