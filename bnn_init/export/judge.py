"""Stage 1 of the export: what becomes of each layer, and which layers need a rewrite.

The default is to export a layer as it is: whatever Larq Compute Engine's converter converts is
accepted, and verification (:mod:`bnn_init.export.verify`) proves the file computes the model.
Layers with quantizers get a :class:`Verdict` saying whether they are bitpacked and why not.

Roles:

* ``"binary"``: sign(input) x binary kernel (``ste_sign``-like or ``magnitude_aware_sign``, see
  :mod:`bnn_init.quantizer_kinds`): an ``LceBconv2d``. A layer with a sign-like input quantizer,
  no kernel quantizer and a kernel in {-1, 0, +1} (e.g. the masked converging layer of an MFB
  network) is binary too, with ``ternary_kernel=True``: it becomes two bitpacked layers,
  W = (A + B) / 2;
* ``"float"``: a float op (int8 with ``int8=True``), e.g. a layer whose quantizer is not
  sign-like (DoReFa's 2-bit activations) or a binary depthwise convolution (LCE has no kernel);
* ``"pass"``: layers without weights (shapes, pooling, residual adds, TF op layers);
* ``"qat"``: a tensorflow-model-optimization quantize wrapper (already holds fake-quant ops).

Rewrites (exact, :mod:`bnn_init.export.rewrite`): ``"sign_kernel"`` (a +-1 kernel without
quantizer gets ``ste_sign``, so LCE sees a binary kernel), ``"dense_as_conv"`` (LCE leaves a binary
dense layer float; as a 1x1 binary convolution it is bitpacked), ``"ternary_split"`` and
``"padding_correction"`` (LCE 0.16 computes zero-padded binary convolutions wrongly when the
input is smaller than the kernel; see the rewrite module). Replacing bnn-init's hard-tanh B_r
quantizers by sign changes the function and happens only with ``binarize=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bnn_init.quantizer_kinds import (
    is_binary_input,
    is_binary_kernel,
    quantizer_kind,
    quantizer_name,
)

QUANT_LAYERS = ("QuantDense", "QuantConv2D", "QuantDepthwiseConv2D")
QAT_LAYERS = ("QuantizeLayer", "QuantizeWrapper", "QuantizeWrapperV2")


@dataclass
class Verdict:
    """What the exporter does with one layer.

    ``problems`` non-empty means the layer is refused; each entry says why. ``changes`` lists
    what export alters in the layer's function (only on request, shown as warnings);
    ``notes`` says what stays float and why, and other remarks that do not change the function.
    """

    role: str
    binary_input: bool = False
    binary_kernel: bool = False
    ternary_kernel: bool = False
    rewrites: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    replace_quantizers: bool = False


def describe_quantizer(quantizer) -> str:
    """``name`` or ``name (r=...)`` for a quantizer with a linear range."""
    name = quantizer_name(quantizer)
    r = getattr(quantizer, "r", None)
    return f"{name} (r={r})" if r is not None else str(name)


def kernel_levels(layer) -> frozenset | None:
    """The distinct kernel values of ``layer`` when they lie in {-1, 0, +1}, else None."""
    weights = layer.get_weights()
    if not weights:
        return None
    levels = frozenset(np.unique(weights[0]).tolist())
    return levels if levels <= {-1.0, 0.0, 1.0} else None


def input_smaller_than_kernel(layer) -> bool:
    """True when a spatial input side is shorter than the (dilated) kernel's."""
    sides = layer.input_shape[1:3]
    extents = [(k - 1) * d + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate, strict=True)]
    return any(s is not None and s < e for s, e in zip(sides, extents, strict=True))


def _quant_layer(layer, binarize: bool) -> Verdict:
    iq = layer.input_quantizer
    kq = getattr(layer, "kernel_quantizer", None) or getattr(layer, "depthwise_quantizer", None)
    verdict = Verdict("float")
    if binarize:
        for which, quantizer in (("input", iq), ("kernel", kq)):
            if quantizer_kind(quantizer) == "hard_tanh":
                verdict.changes.append(
                    f"{which} quantizer {describe_quantizer(quantizer)} replaced by sign (asked "
                    "for with binarize=True): values inside the linear range lose their magnitude"
                )
        verdict.replace_quantizers = bool(verdict.changes)
    binary_in = is_binary_input(iq) or (verdict.replace_quantizers and iq is not None)
    binary_kernel = is_binary_kernel(kq) or (verdict.replace_quantizers and kq is not None)
    levels = kernel_levels(layer) if kq is None and binary_in else None
    kind = type(layer).__name__
    if not binary_in or not (binary_kernel or levels is not None):
        verdict.binary_kernel = binary_kernel
        for which, quantizer in (("input", iq), ("kernel", kq)):
            qkind = quantizer_kind(quantizer)
            if qkind in ("hard_tanh", "multi_level"):
                verdict.notes.append(
                    f"stays float: {which} quantizer {describe_quantizer(quantizer)} is not "
                    f"sign-like ({qkind}); the converter computes it with float ops"
                )
            elif qkind == "other":
                verdict.notes.append(
                    f"{which} quantizer {describe_quantizer(quantizer)} is unknown to bnn-init: "
                    "converted as it is (the op counts show whether LCE bitpacked it)"
                )
        if binary_kernel and not binary_in:
            verdict.notes.append("stays float: float input with a binary kernel")
        return verdict
    if kind == "QuantDepthwiseConv2D":
        verdict.notes.append(
            "stays float: LCE has no binary depthwise convolution; float op with the binary kernel"
        )
        return verdict
    verdict.role, verdict.binary_input = "binary", True
    verdict.ternary_kernel = levels is not None and 0.0 in levels
    verdict.binary_kernel = not verdict.ternary_kernel
    if levels is not None and not verdict.ternary_kernel:
        verdict.rewrites.append("sign_kernel")  # a +-1 kernel without quantizer: mark it binary
    if verdict.ternary_kernel:
        verdict.rewrites.append("ternary_split")
        verdict.notes.append(
            "kernel in {-1, 0, +1} without kernel quantizer: exported exactly as the mean of two "
            "bitpacked binary layers, W = (A + B) / 2"
        )
    if kind == "QuantDense":
        verdict.rewrites.append("dense_as_conv")
    elif (
        layer.padding == "same"
        and float(getattr(layer, "pad_values", 0.0)) == 0.0
        and input_smaller_than_kernel(layer)
    ):
        verdict.rewrites.append("padding_correction")
        verdict.notes.append(
            f"input {tuple(layer.input_shape[1:3])} smaller than the {tuple(layer.kernel_size)} "
            "kernel with zero padding: exported as pad_values=1 plus an exact constant correction "
            "(LCE 0.16 computes this case wrongly)"
        )
    elif layer.padding == "same" and float(getattr(layer, "pad_values", 0.0)) == 0.0:
        verdict.notes.append(
            "padding='same' with pad_values=0: LCE needs a float output and a zero-padding "
            "correction; pad_values=1 keeps the output bitpacked"
        )
    return verdict


def _plain_layer(layer, binarize: bool) -> Verdict:
    if type(layer).__name__ in QAT_LAYERS:
        return Verdict("qat")
    if _is_model(layer):
        return Verdict("float", notes=["nested model: converted as it is (no rewrites inside)"])
    return Verdict("float" if layer.weights else "pass")


LAYER_TABLE: dict[str, Callable] = dict.fromkeys(QUANT_LAYERS, _quant_layer)


def register_layer(class_name: str, verdict: Callable) -> None:
    """Judge layers of class ``class_name`` with ``verdict(layer, binarize) -> Verdict``.

    Unregistered layers are exported as they are (role ``"float"`` or ``"pass"``).
    """
    if not callable(verdict):
        raise TypeError(f"verdict must be callable, got {type(verdict).__name__}")
    LAYER_TABLE[class_name] = verdict


def judge(layer, binarize: bool = False) -> Verdict:
    """The :class:`Verdict` for one layer."""
    rule = LAYER_TABLE.get(type(layer).__name__, _plain_layer)
    return rule(layer, binarize)


def judge_model(model, binarize: bool = False) -> dict[str, Verdict]:
    """Judge every top-level layer; raise ValueError naming each refused layer and why."""
    verdicts = {layer.name: judge(layer, binarize) for layer in model.layers}
    refused = [
        f"  - {name} ({type(model.get_layer(name)).__name__}): {'; '.join(v.problems)}"
        for name, v in verdicts.items()
        if v.problems
    ]
    if refused:
        raise ValueError("model: cannot export to LCE:\n" + "\n".join(refused))
    return verdicts


def _is_model(layer) -> bool:
    import tensorflow as tf

    return isinstance(layer, tf.keras.Model)


def run(job) -> None:
    """Stage 1: ``job.verdicts``, and the changes and notes they carry (named by layer)."""
    job.verdicts = judge_model(job.model, job.binarize)
    job.changes = [f"{n}: {c}" for n, v in job.verdicts.items() for c in v.changes]
    job.notes = [f"{n}: {c}" for n, v in job.verdicts.items() for c in v.notes]
