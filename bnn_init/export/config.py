"""Edit a functional Keras model as its config: insert layers, rename references, rebuild.

A rewrite (:mod:`bnn_init.export.rewrite`) and the int8 calibration (:mod:`bnn_init.export.int8`)
both work on ``model.get_config()``: layers keep their names, inserted layers get
``<name>_bnnx_<what>``, and weights are copied back by layer name after :func:`rebuild`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import sys

import tensorflow as tf
from tf_keras.src.saving.serialization_lib import SafeModeScope


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


def entry(config: dict, name: str) -> dict:
    """The config entry of layer ``name``."""
    return next(e for e in config["layers"] if e["name"] == name)


def rename_references(config: dict, old: str, new: str, skip: set[str]) -> None:
    """Make every consumer of layer ``old`` (and the model outputs) read layer ``new`` instead."""
    for layer in config["layers"]:
        if layer["name"] in skip:
            continue
        for node in layer["inbound_nodes"]:
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
    rename_references(config, name, new_entry["name"], skip={new_entry["name"]})
    config["layers"].insert(index + 1, new_entry)


def insert_chain_after(config: dict, name: str, chain: list[tuple[str, str, dict]]) -> list[str]:
    """Insert layers ``(class_name, suffix, config)`` one after the other behind ``name``."""
    previous, added = name, []
    for class_name, suffix, extra in chain:
        new = f"{name}_bnnx_{suffix}"
        insert_after(
            config,
            previous,
            {"class_name": class_name, "name": new, "config": {"name": new, **extra}},
        )
        previous = new
        added.append(new)
    return added


def fresh_lambdas(model: tf.keras.Model) -> dict:
    """New ``Lambda`` layers calling the same Python functions as ``model``'s Lambda layers.

    A Lambda's function does not always survive its config (larq-zoo's MeliusNet splits with a
    function that deserialises to a dict), and the original layer cannot be reused without
    adding nodes to the user's model; a fresh layer around the same function is exact.
    """
    return {
        layer.name: tf.keras.layers.Lambda(
            layer.function,
            output_shape=layer._output_shape,  # noqa: SLF001 (no public accessor)
            mask=layer.mask,
            arguments=layer.arguments,
            name=layer.name,
        )
        for layer in model.layers
        if type(layer) is tf.keras.layers.Lambda
    }


def rebuild(config: dict, weights: dict[str, list], lambdas: dict | None = None) -> tf.keras.Model:
    """The functional model of ``config``, with Larq, bnn-init and (when loaded) tfmot objects.

    ``weights`` maps layer name -> values for ``set_weights``; ``lambdas`` maps layer name ->
    Lambda layer to use instead of deserialising one (see :func:`fresh_lambdas`).
    """
    from tf_keras.src.engine.functional import reconstruct_from_config

    from bnn_init.export.layers import custom_objects

    scope = contextlib.nullcontext()
    if "tensorflow_model_optimization" in sys.modules:  # a QAT model implies tfmot is loaded
        from tensorflow_model_optimization.quantization.keras import quantize_scope

        scope = quantize_scope()
    config = dict(config, layers=[dict(e) for e in config["layers"]])
    for layer in config["layers"]:
        # Layers build when called in the graph; a prebuild from build_config builds tfmot's
        # QuantizeLayer a second time (it never sets ``built``), doubling its variables.
        layer.pop("build_config", None)
    # Export drops weight constraints on purpose; silence Larq's "starved weights" advice.
    larq_log = logging.getLogger("larq.layers_base")
    level = larq_log.level
    larq_log.setLevel(logging.ERROR)
    try:
        # The model's own Lambda layers, already running in this process, are rebuilt from
        # their code: tf-keras' safe mode guards against lambdas in files from elsewhere.
        with scope, SafeModeScope(safe_mode=False):
            inputs, outputs, _ = reconstruct_from_config(
                config, custom_objects(), created_layers=dict(lambdas or {})
            )
            rebuilt = tf.keras.Model(inputs, outputs, name=config.get("name"))
    finally:
        larq_log.setLevel(level)
    for name, values in weights.items():
        rebuilt.get_layer(name).set_weights(values)
    return rebuilt
