"""Post-training int8 for the float layers of a BNN: calibrated fake-quant points.

LCE's converter quantizes a graph to int8 only where it finds fake-quant ops (or a global
``experimental_default_int8_range``, meant for latency tests only). For post-training int8 we run
the export-ready model on ``representative_data``, record each float tensor's range
[min(0, lo), max(0, hi)], and insert a :class:`FakeQuant` layer there. The converter then stores
float weights as int8 and runs float layers in int8; binary layers stay bitpacked.

Fake-quant points: every model input and the output of every float compute layer, except where all
consumers are BatchNormalization / activation layers (the converter fuses those into the
producer), and except outputs of binary layers (with their folded BatchNorm) that feed no float
layer: those stay bitpacked between binary layers, or float at the model output.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bnn_init.export.config import fresh_lambdas, functional_config, insert_chain_after, rebuild

FUSED_CONSUMERS = frozenset({"BatchNormalization", "Activation", "ReLU"})


def quant_points(model: tf.keras.Model, roles: dict) -> list[str]:
    """Names of the layers whose output gets a fake-quant point (see module docstring)."""
    config = functional_config(model)
    consumers: dict[str, list[str]] = {e["name"]: [] for e in config["layers"]}
    producer: dict[str, str | None] = {}
    for entry in config["layers"]:
        refs = [ref[0] for node in entry["inbound_nodes"] for ref in node]
        producer[entry["name"]] = refs[0] if len(refs) == 1 else None
        for ref in refs:
            consumers[ref].append(entry["name"])
    kinds = {e["name"]: e["class_name"] for e in config["layers"]}

    def from_binary(name: str | None) -> bool:
        # BatchNorm / activations after a binary layer are folded into its LceBconv2d.
        while name is not None and kinds[name] in FUSED_CONSUMERS:
            name = producer[name]
        return name is not None and roles.get(name, "").startswith("binary")

    def feeds_float(name: str) -> bool:
        return any(roles.get(c) == "float" for c in consumers[name])

    points = []
    for entry in config["layers"]:
        name, role, uses = entry["name"], roles.get(entry["name"]), consumers[entry["name"]]
        if entry["class_name"] == "InputLayer":
            points.append(name)
        elif role != "float" or (uses and all(kinds[c] in FUSED_CONSUMERS for c in uses)):
            continue
        elif from_binary(name) and not feeds_float(name):
            continue
        else:
            points.append(name)
    return points


def calibrate(model: tf.keras.Model, names: list[str], data, batch_size: int = 64) -> dict:
    """{layer name: (lo, hi)} over ``data``, with lo <= 0 <= hi and hi - lo > 0."""
    outputs = [model.get_layer(n).output for n in names]
    probe = tf.keras.Model(model.inputs, outputs)
    values = probe.predict(np.asarray(data, dtype=np.float32), batch_size=batch_size, verbose=0)
    if len(names) == 1:
        values = [values]
    ranges = {}
    for name, v in zip(names, values, strict=True):
        lo, hi = min(0.0, float(np.min(v))), max(0.0, float(np.max(v)))
        if hi - lo < 1e-6:
            lo, hi = lo - 1e-3, hi + 1e-3
        ranges[name] = (lo, hi)
    return ranges


def with_fake_quant(model: tf.keras.Model, roles: dict, data) -> tuple[tf.keras.Model, dict]:
    """Copy of ``model`` with calibrated :class:`FakeQuant` layers; returns (model, ranges)."""
    if data is None:
        raise ValueError(
            "representative_data=None: int8=True needs representative inputs (an array of "
            "model inputs) unless the model is prepared for quantization-aware training"
        )
    names = quant_points(model, roles)
    ranges = calibrate(model, names, data)
    config = functional_config(model)
    for name, (lo, hi) in ranges.items():
        insert_chain_after(config, name, [("FakeQuant", "fq", {"min": lo, "max": hi})])
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    return rebuild(config, weights, fresh_lambdas(model)), ranges


def run(job) -> None:
    """Stage 3: ``job.to_convert``, with fake-quant points when ``job.int8`` asks for them."""
    qat = any(v.role == "qat" for v in job.verdicts.values())
    job.to_convert = job.ready
    if job.int8 and not qat:
        job.to_convert, job.int8_ranges = with_fake_quant(
            job.ready, job.roles, job.representative_data
        )
    elif job.int8:
        job.notes.append("int8 from the model's quantization-aware fake-quant ops")
    elif qat:
        job.notes.append("model holds quantization-aware layers: the converter makes them int8")
        job.int8 = True
