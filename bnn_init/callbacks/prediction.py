"""What a mean-field theory model predicts for the monitored layers, anchored on measurements.

Forward: q^l, c^l for l = 1..L by iterating the model's maps from the measured first layer
(q^1, c^1) (Schoenholz et al. (2017), eqs. 3-4). Backward: E[delta_l^2] from the measured last
layer by eq. 15, E[delta_l^2] = E[delta_{l+1}^2] (N_{l+1} / N_l) chi(q^l), where chi(q^l) is the
model's backward factor at the layer's predicted variance (chi_1 once q^l has reached q*).
Saturation: under the Gaussian ansatz z ~ N(0, q^l), P(|z| >= r) = 2 Phi(-r / sqrt(q^l)).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from bnn_init.theory import NoCriticalPoint

__all__ = ["Prediction", "critical_fix", "predict", "verdict"]


@dataclass(frozen=True)
class Prediction:
    """Per-layer predictions (arrays of length L; ``grad_var``/``saturation`` None when not
    predicted) and the model's depth scales xi_c, xi_grad (Schoenholz et al. 2017, eqs. 9, 16)."""

    q: np.ndarray
    c: np.ndarray
    grad_var: np.ndarray | None
    saturation: np.ndarray | None
    xi_c: float
    xi_grad: float


def predict(theory, q1, c1, widths, grad_var_last=None, linear_range=np.inf) -> Prediction:
    """The theory's per-layer q, c, gradient variance and saturation (see module docstring).

    Args:
        theory: a `bnn_init.theory` model.
        q1, c1: measured second moment and pair correlation of the first monitored layer.
        widths: N_l of the monitored layers (units or filters), l = 1..L.
        grad_var_last: measured E[delta_L^2] at the last layer, or None.
        linear_range: half-width r of the quantizer's linear range (inf: no saturation).
    """
    widths = np.asarray(widths, dtype=np.float64)
    # |c| <= 1 by Cauchy-Schwarz; the measurement can exceed it by float32 round-off
    trajectory = theory.trajectory(q1, float(np.clip(c1, -1.0, 1.0)), widths.size)
    q = np.asarray(trajectory.q, dtype=np.float64)
    grad_var = None
    if grad_var_last is not None and widths.size >= 1:
        factors = theory.backward_factor(q[:-1]) * widths[1:] / widths[:-1]
        tail = np.cumprod(factors[::-1])[::-1]  # prod_{k=l}^{L-1} factor_k for l = 1..L-1
        grad_var = float(grad_var_last) * np.append(tail, 1.0)
    saturation = None
    if math.isfinite(linear_range):
        with np.errstate(divide="ignore"):
            saturation = 2.0 * ndtr(-linear_range / np.sqrt(q))
    return Prediction(
        q=q,
        c=np.asarray(trajectory.c, dtype=np.float64),
        grad_var=grad_var,
        saturation=saturation,
        xi_c=float(theory.xi_c),
        xi_grad=float(theory.xi_grad),
    )


_INITIALIZERS = {
    "HardTanhBNN": "kernel_initializer=bnn_init.initializers.CriticalHardTanhNormal("
    "r={r:g}, sigma_b2={sigma_b2:g})",
    "ContinuousNet": "kernel_initializer=RandomNormal(stddev=sqrt({sigma_w2:.6g} / fan_in))",
    "DeterministicSurrogate": "kernel_initializer=bnn_init.initializers.BinaryMeans("
    "sigma_m2={sigma_m2:.6g})",
    "LRTSurrogate": "kernel_initializer=bnn_init.initializers.BinaryMeans(sigma_m2={sigma_m2:.6g})",
}


def critical_fix(theory) -> str:
    """The critical initialisation of the theory's family at the model's other parameters
    (``cls.critical``), as a Keras initializer to use, or why none exists."""
    cls = type(theory)
    names = inspect.signature(cls.critical).parameters
    fixed = {name: getattr(theory, name) for name in names if hasattr(theory, name)}
    try:
        critical = cls.critical(**fixed)
    except NoCriticalPoint as error:
        return "no critical initialisation exists: " + " ".join(str(error).split())
    scale = cls.scale_parameter
    parameters = {**fixed, scale: getattr(critical, scale)}
    template = _INITIALIZERS.get(cls.__name__, f"{scale}={{{scale}:.6g}}")
    return f"{scale} = {parameters[scale]:.6g} (chi_1 = 1): " + template.format(**parameters)


def verdict(theory, depth, k=6.0) -> str:
    """One line: chi_1, xi_c, and whether ``depth`` exceeds k xi_c (Schoenholz et al. 2017, sec. 5: trainable when
    L < ~6 xi_c), with the critical initialisation that would fix it when it does."""
    chi1, xi_c = float(theory.chi1), float(theory.xi_c)
    line = f"{theory!r}: chi_1 = {chi1:.4g}, xi_c = {xi_c:.4g}; "
    limit = k * xi_c
    if depth <= limit:
        return line + f"depth {depth} <= {k:g} xi_c = {limit:.4g}: signals should propagate"
    return (
        line + f"depth {depth} > {k:g} xi_c = {limit:.4g}: too deep to train from this "
        f"initialisation; fix: {critical_fix(theory)}"
    )
