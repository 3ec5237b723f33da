"""Which layers the LCE exporter accepts, and what each one becomes.

The accepted-layer check is one table, ``LAYER_TABLE``: a layer's class name maps to a function
``layer -> Verdict``. A new layer type plugs in with :func:`register_layer`. Roles:

* ``"binary"``  - sign(input) x sign(kernel): becomes an ``LceBconv2d`` (dense layers are first
  rewritten as a 1x1 convolution, see :mod:`bnn_init.export.rewrite`). A layer with sign-like
  input quantizer, no kernel quantizer and a kernel in {-1, 0, +1} (e.g. the masked converging
  layer of an MFB network) is binary too, with ``ternary_kernel=True``: it becomes the mean of
  two bitpacked layers, W = (A + B) / 2 with A, B in {-1, +1};
* ``"float"``   - a float compute layer (float TFLite op, int8 with ``int8=True``);
* ``"pass"``    - shape/pooling/identity layers that carry no weights;
* ``"qat"``     - a tensorflow-model-optimization quantize wrapper (already holds fake-quant ops).

A quantizer is "sign-like" when its forward pass is sign(x) with sign(0) = +1 (Larq's ``ste_sign``,
``approx_sign``, ``swish_sign``); those export exactly. Any other quantizer on a binary layer - a
hard-tanh B_r (Wang (000), eq. 1), Larq's ``MagnitudeAwareSign``, ``DoReFa`` ... - is replaced by
sign at export, and the verdict says what that changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SIGN_QUANTIZERS = frozenset({"ste_sign", "approx_sign", "swish_sign"})
FLOAT_ACTIVATIONS = frozenset(
    {"linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "hard_sigmoid", "elu", "swish"}
)


@dataclass
class Verdict:
    """What the exporter does with one layer.

    ``problems`` non-empty means the layer is refused; each entry says why.
    ``changes`` lists what export alters in the layer's function (shown to the user as warnings).
    ``notes`` lists performance remarks that do not change the function.
    """

    role: str
    binary_input: bool = False
    binary_kernel: bool = False
    ternary_kernel: bool = False
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def quantizer_name(quantizer) -> str | None:
    """Snake-case name of a Larq quantizer given as None, a string, a config dict or an object."""
    if quantizer is None:
        return None
    if isinstance(quantizer, str):
        raw = quantizer
    elif isinstance(quantizer, dict):
        raw = quantizer.get("class_name", "unknown")
    else:
        raw = getattr(quantizer, "__name__", None) or type(quantizer).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", raw).lower()


def _describe_quantizer(quantizer) -> str:
    name = quantizer_name(quantizer)
    r = getattr(quantizer, "r", None)
    return f"{name} (r={r})" if r is not None else str(name)


def _activation_problem(layer) -> list[str]:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", str(act))
    if name not in FLOAT_ACTIVATIONS:
        return [f"activation {name!r} is not one of {sorted(FLOAT_ACTIVATIONS)}"]
    return []


def kernel_levels(layer) -> frozenset | None:
    """The distinct kernel values of ``layer`` when they lie in {-1, 0, +1}, else None."""
    weights = layer.get_weights()
    if not weights:
        return None
    levels = frozenset(np.unique(weights[0]).tolist())
    return levels if levels <= {-1.0, 0.0, 1.0} else None


def _quant_layer(layer, *, conv: bool) -> Verdict:
    iq, kq = layer.input_quantizer, layer.kernel_quantizer
    iq_name, kq_name = quantizer_name(iq), quantizer_name(kq)
    problems = _activation_problem(layer)
    changes: list[str] = []
    notes: list[str] = []
    if conv and getattr(layer, "data_format", "channels_last") != "channels_last":
        problems.append(f"data_format={layer.data_format!r}; LCE needs 'channels_last'")
    levels = kernel_levels(layer) if kq_name is None and iq_name is not None else None
    if kq_name is None and levels is None:
        # Float kernel: no bitpacking possible, exported as a float layer with its quantizer ops.
        return Verdict("float", problems=problems)
    ternary = levels is not None and 0.0 in levels
    if ternary:
        notes.append(
            "kernel in {-1, 0, +1} without kernel quantizer: exported exactly as the mean of two "
            "bitpacked binary layers, W = (A + B) / 2"
        )
    if kq_name is not None and kq_name not in SIGN_QUANTIZERS:
        changes.append(
            f"kernel quantizer {_describe_quantizer(kq)} replaced by sign(w) "
            "(any scale or intermediate level it produced is dropped)"
        )
    if iq_name is None:
        notes.append("float input with binary kernel: float op with +-1 weights (kernel folded)")
        return Verdict("float", binary_kernel=True, problems=problems, changes=changes, notes=notes)
    if iq_name not in SIGN_QUANTIZERS:
        changes.append(
            f"input quantizer {_describe_quantizer(iq)} replaced by sign(x): activations become "
            "+-1, inputs inside the linear region of a hard-tanh lose their magnitude"
        )
    if conv:
        if getattr(layer, "groups", 1) != 1:
            problems.append(f"groups={layer.groups}; grouped binary convolutions are not supported")
        if layer.padding == "same":
            pad = float(getattr(layer, "pad_values", 0.0))
            if pad not in (0.0, 1.0):
                problems.append(f"pad_values={pad}; LCE binary convolutions pad with 0 or 1")
            elif pad == 0.0:
                notes.append(
                    "padding='same' with pad_values=0: LCE needs a float output and a zero-padding "
                    "correction; pad_values=1 keeps the output bitpacked"
                )
        elif layer.padding != "valid":
            problems.append(f"padding={layer.padding!r}; use 'same' or 'valid'")
    return Verdict("binary", True, not ternary, ternary, problems, changes, notes)


def _float_layer(layer) -> Verdict:
    if hasattr(layer, "activation"):
        return Verdict("float", problems=_activation_problem(layer))
    return Verdict("float")


def _pass_layer(layer) -> Verdict:
    return Verdict("pass")


def _qat_layer(layer) -> Verdict:
    return Verdict("qat")


def _refuse(reason: str) -> Callable:
    def verdict(layer) -> Verdict:
        return Verdict("refused", problems=[reason])

    return verdict


LAYER_TABLE: dict[str, Callable] = {
    "QuantDense": lambda layer: _quant_layer(layer, conv=False),
    "QuantConv2D": lambda layer: _quant_layer(layer, conv=True),
    "Dense": _float_layer,
    "Conv2D": _float_layer,
    "DepthwiseConv2D": _float_layer,
    "BatchNormalization": _float_layer,
    "Activation": _float_layer,
    "ReLU": _float_layer,
    "Softmax": _float_layer,
    "Rescaling": _float_layer,
    "CenteredScale": _float_layer,
    "Add": _float_layer,
    "Concatenate": _float_layer,
    "InputLayer": _pass_layer,
    "Flatten": _pass_layer,
    "Reshape": _pass_layer,
    "Dropout": _pass_layer,
    "ZeroPadding2D": _pass_layer,
    "MaxPooling2D": _pass_layer,
    "AveragePooling2D": _pass_layer,
    "GlobalAveragePooling2D": _pass_layer,
    "GlobalMaxPooling2D": _pass_layer,
    "QuantizeLayer": _qat_layer,
    "QuantizeWrapper": _qat_layer,
    "QuantizeWrapperV2": _qat_layer,
    "Lambda": _refuse("Lambda layers run arbitrary Python the exporter cannot check"),
}


def register_layer(class_name: str, verdict: Callable) -> None:
    """Accept layers of class ``class_name``; ``verdict(layer)`` returns a :class:`Verdict`."""
    if not callable(verdict):
        raise TypeError(f"verdict must be callable, got {type(verdict).__name__}")
    LAYER_TABLE[class_name] = verdict


def judge(layer) -> Verdict:
    """Look ``layer`` up in :data:`LAYER_TABLE`; unknown classes are refused with the reason."""
    name = type(layer).__name__
    if isinstance(layer, _keras_model_type()):
        return Verdict("refused", problems=["nested model; flatten it into the outer model"])
    if name not in LAYER_TABLE:
        return Verdict(
            "refused",
            problems=[f"layer class {name} has no LCE export rule (see support.LAYER_TABLE)"],
        )
    return LAYER_TABLE[name](layer)


def _keras_model_type():
    import tensorflow as tf

    return tf.keras.Model
