"""``describe(model)``: the mean-field theory that describes a Keras model built from bnn-init and
Larq parts, read from its layers' configuration (duck typing; TensorFlow is never imported here).

Initializers, the monitor's ``theory="auto"`` and the CLI all go through this one function so that
they can never disagree about which theory applies.

Rules, applied to the hidden layers (every monitored layer but the first, which sees real
inputs, and the last, the classifier):

- ``DeterministicSurrogate*`` / ``LRTSurrogate*`` layers -> ``DeterministicSurrogate`` /
  ``LRTSurrogate`` with sigma_m2 from the means' initializer (Stamatescu et al. (2019), sec. 3);
- Larq quantized layers with ``HardTanh(r)`` input quantizers -> ``HardTanhBNN`` with
  sigma_w2 = fan_in E[B_r(W)^2] of the kernel initializer (Wang (2018), eq. 7);
- Larq quantized layers with a sign-like input quantizer (``ste_sign``, ``approx_sign``, ...) ->
  ``SignNet`` (Stamatescu et al. 2019, App. F; with BatchNorm the scale of W does not matter, Sari et al. (2019));
- float layers with a ``tanh`` activation -> ``ContinuousNet(phi="tanh")`` with
  sigma_w2 = fan_in Var(W) (Schoenholz et al. (2017), eq. 3), and the rate of the model's
  ``Dropout`` layers when they share one (sec. 3.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnn_init.primitives.fans import kernel_fans
from bnn_init.quantizer_kinds import quantizer_kind, quantizer_name

from .activations import HardTanh
from .models import ContinuousNet, DeterministicSurrogate, HardTanhBNN, LRTSurrogate, SignNet

# Variance of Keras' TruncatedNormal (cut at 2 standard deviations) relative to stddev^2.
_TRUNCATED_NORMAL_VARIANCE = 0.7737413


@dataclass(frozen=True)
class Description:
    """What ``describe`` found: the theory (or None and why), and the monitored layers."""

    theory: object
    layers: list
    widths: list
    reason: str
    linear_range: float = np.inf


def monitored_layers(model) -> list:
    """Layers with a single weight kernel (rank >= 2), in topological order, nested models flattened."""
    found = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers"):
            found.extend(monitored_layers(layer))
        elif type(layer).__name__ != "Embedding" and len(_kernels(layer)) == 1:
            found.append(layer)
    return found


def _all_layers(model) -> list:
    """Every layer of ``model``, nested models flattened."""
    found = []
    for layer in getattr(model, "layers", []):
        found.extend(_all_layers(layer) if hasattr(layer, "layers") else [layer])
    return found


def _kernels(layer):
    return [w for w in layer.weights if len(w.shape) >= 2]


def _width(layer):
    return int(_kernels(layer)[0].shape[-1])


def weight_law(initializer, fan_in, fan_out):
    """(kind, variance) of the values an initializer draws: kind in normal/uniform/two_point.

    Returns None for initializers whose law is unknown (e.g. Orthogonal, Identity, custom ones).
    """
    if initializer is None:
        return None
    name = type(initializer).__name__
    config = initializer.get_config() if hasattr(initializer, "get_config") else {}
    if name == "Zeros":
        return "normal", 0.0
    if name == "CriticalHardTanhNormal":
        return "normal", initializer.r**2 * initializer.sigma_w2 / fan_in
    if name == "HardTanhUniform":
        return "uniform", initializer.r**2 * initializer.sigma_w2 / fan_in
    if name == "ConstantVariance":
        return config["distribution"], config["variance"]
    if name == "BinaryMeans":
        return ("two_point" if config["distribution"] == "two_point" else "normal"), config[
            "sigma_m2"
        ]
    if name == "CriticalBias":
        return "normal", config["sigma_b2"]
    if name == "RandomNormal":
        return "normal", config["stddev"] ** 2
    if name == "TruncatedNormal":
        return "normal", _TRUNCATED_NORMAL_VARIANCE * config["stddev"] ** 2
    if name == "RandomUniform":
        low, high = config["minval"], config["maxval"]
        return "uniform", (high - low) ** 2 / 12.0
    if name == "Orthogonal":  # unit-norm rows or columns: second moment gain^2 / max(fans)
        return "normal", config.get("gain", 1.0) ** 2 / max(fan_in, fan_out)
    if all(hasattr(initializer, a) for a in ("scale", "mode", "distribution")):
        # VarianceScaling and its subclasses Glorot*, He*, Lecun* (truncated normals are rescaled
        # by Keras so that the variance is exactly scale / n)
        modes = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": 0.5 * (fan_in + fan_out)}
        kind = "uniform" if initializer.distribution == "uniform" else "normal"
        return kind, initializer.scale / modes[initializer.mode]
    return None


def clipped_second_moment(law, r):
    """E[B_r(W)^2] for W drawn from ``law`` = (kind, variance) (Wang (2018), eq. 7, erratum 3)."""
    kind, variance = law
    if kind == "normal":
        return float(HardTanh(r).second_moment(variance))
    if kind == "uniform":
        half_width = np.sqrt(3.0 * variance)
        return variance / r**2 if half_width <= r else 1.0 - 2.0 * r / (3.0 * half_width)
    return min(variance / r**2, 1.0)


def _layer_kind(layer):
    """(family, parameters) for one layer, or (None, reason)."""
    name = type(layer).__name__
    fan_in, fan_out = kernel_fans(_kernels(layer)[0].shape)
    bias_law = weight_law(getattr(layer, "bias_initializer", None), fan_in, fan_out)
    sigma_b2 = bias_law[1] if (bias_law and getattr(layer, "use_bias", True)) else 0.0
    kernel_init = getattr(layer, "kernel_initializer", None)
    law = weight_law(kernel_init, fan_in, fan_out)
    unknown = f"{layer.name}: unknown kernel initializer {type(kernel_init).__name__}"
    if "Surrogate" in name:
        if law is None:
            return None, unknown
        params = dict(sigma_m2=min(law[1], 1.0), sigma_b2=sigma_b2)
        if name.startswith("Deterministic"):
            return "deterministic", {**params, "kappa": float(layer.kappa)}
        return "lrt", {**params, "neurons": layer.neurons}
    quantizer = getattr(layer, "input_quantizer", None)
    kind = quantizer_kind(quantizer)
    if kind == "hard_tanh":
        if law is None:
            return None, unknown
        r = float(getattr(quantizer, "r", 1.0))  # the function form hard_tanh_r has r = 1
        sigma_w2 = fan_in * clipped_second_moment(law, r)
        return "hard_tanh", dict(r=r, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    if kind in ("sign", "scaled_sign"):
        return "sign", dict(sigma_b2=sigma_b2)
    if kind is not None:
        return None, f"{layer.name}: no theory for input quantizer {quantizer_name(quantizer)!r}"
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    if activation == "tanh":
        if law is None:
            return None, unknown
        return "continuous", dict(phi="tanh", sigma_w2=fan_in * law[1], sigma_b2=sigma_b2)
    return None, f"{layer.name}: no theory for a {name} with activation {activation!r}"


_FAMILIES = {
    "hard_tanh": (HardTanhBNN, "sigma_w2"),
    "sign": (SignNet, None),
    "continuous": (ContinuousNet, "sigma_w2"),
    "deterministic": (DeterministicSurrogate, "sigma_m2"),
    "lrt": (LRTSurrogate, "sigma_m2"),
}


def describe(model) -> Description:
    """The theory model and per-layer widths describing a Keras ``model``, or why none applies.

    >>> description = describe(keras_model)           # doctest: +SKIP
    >>> description.theory, description.widths       # doctest: +SKIP
    (HardTanhBNN(r=1.0, sigma_w2=1.0, sigma_b2=0.0), [512, 512, ..., 10])
    """
    layers = monitored_layers(model)
    widths = [_width(layer) for layer in layers]
    if len(layers) < 2:
        return Description(
            None, layers, widths, f"only {len(layers)} layer(s) with a kernel: no depth to describe"
        )
    hidden = layers[1:-1] if len(layers) > 2 else layers[1:]
    kinds = [_layer_kind(layer) for layer in hidden]
    unknown = [reason for family, reason in kinds if family is None]
    if unknown:
        return Description(None, layers, widths, "; ".join(unknown))
    families = {family for family, _ in kinds}
    if len(families) > 1:
        return Description(None, layers, widths, f"hidden layers mix theories {sorted(families)}")
    family = families.pop()
    cls, scale = _FAMILIES[family]
    params = [p for _, p in kinds]
    merged = dict(params[0])
    for key in merged:
        if key != "neurons" and not isinstance(merged[key], str):
            merged[key] = float(np.median([p[key] for p in params]))
    reason = f"{len(hidden)} hidden {family} layer(s) -> {cls.__name__}"
    if scale and np.ptp([p[scale] for p in params]) > 0.01 * merged[scale]:
        reason += f" (per-layer {scale} differs; the median {merged[scale]:.4g} is used)"
    if family == "continuous":
        rates = {
            float(layer.rate) for layer in _all_layers(model) if type(layer).__name__ == "Dropout"
        }
        if len(rates) > 1:
            return Description(
                None, layers, widths, f"Dropout layers differ in rate {sorted(rates)}"
            )
        merged["dropout_rate"] = rates.pop() if rates else 0.0
    try:
        theory = cls(**merged)
    except ValueError as error:
        return Description(
            None, layers, widths, f"{cls.__name__} does not accept {merged}: {error}"
        )
    linear_range = merged.get("r", 1.0 if family == "sign" else np.inf)
    return Description(theory, layers, widths, reason, float(linear_range))
