"""Measured signal-propagation statistics of one layer, and depth scales fitted across layers.

Pure numpy. ``h`` is a layer's pre-activations on the probe batch, shape (batch, ...units); the
probe batch is read as pairs (x_a, x_b) = (first half, second half). Notation of Schoenholz et al.
(2017), sec. 2: q^l = E[(z_i^l)^2] (eq. 2), c^l = q_ab^l / sqrt(q_aa^l q_bb^l) (after eq. 5, with
E over units, uncentred as in the mean-field theory), E[(delta^l)^2] with delta^l = dE/dz^l (eq. 14).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "fit_correlation_depth_scale",
    "fit_gradient_depth_scale",
    "gradient_variance",
    "pair_correlation",
    "saturation_fraction",
    "second_moment",
    "sign_flip_ratio",
    "squared_norm",
]


def _flat(h):
    h = np.asarray(h, dtype=np.float64)
    if h.ndim < 2 or h.shape[0] < 1:
        raise ValueError(f"h must have shape (batch, ...units) with batch >= 1, got {h.shape}")
    return h.reshape(h.shape[0], -1)


def second_moment(h):
    """q^l = mean over examples and units of (z^l)^2 (Schoenholz et al. 2017, eq. 2)."""
    return float(np.mean(_flat(h) ** 2))


def pair_correlation(h):
    """c^l = mean over pairs (a, b) of sum_i z_a,i z_b,i / sqrt(sum_i z_a,i^2 sum_i z_b,i^2).

    Pairs are example k of the first half of the batch with example k of the second half (an odd
    last example is left out); for convolutions the sum runs over all positions and channels.
    Pairs with an all-zero pre-activation (e.g. a squeeze-excite layer behind ReLUs that are all
    off for that example) have no correlation and are left out; NaN when every pair has one.
    """
    h = _flat(h)
    half = h.shape[0] // 2
    if half < 1:
        raise ValueError(f"pair correlation needs a batch of at least 2 examples, got {h.shape[0]}")
    a, b = h[:half], h[half : 2 * half]
    norms = np.sqrt(np.sum(a**2, axis=1) * np.sum(b**2, axis=1))
    defined = norms > 0.0
    if not np.any(defined):
        return float("nan")
    return float(np.mean(np.sum(a * b, axis=1)[defined] / norms[defined]))


def gradient_variance(delta):
    """E[(delta^l)^2]: mean over examples and units of (dE/dz^l)^2 (Schoenholz et al. 2017, eq. 15)."""
    return second_moment(delta)


def squared_norm(gradient):
    """||dE/dW^l||_2^2, the squared Frobenius norm of a kernel gradient (Schoenholz et al. 2017, Fig. 4a)."""
    return float(np.sum(np.asarray(gradient, dtype=np.float64) ** 2))


def saturation_fraction(h, linear_range):
    """Share of pre-activations outside the quantizer's linear range: P(|z| >= r).

    ``linear_range`` is the half-width r (for B_r, Wang (2018) sec. 2, whose derivative vanishes
    for |z| >= r; 1 for ``ste_sign``'s straight-through clip).
    """
    if not linear_range > 0:
        raise ValueError(f"linear_range={linear_range!r} is not allowed: it must be > 0")
    return float(np.mean(np.abs(_flat(h)) >= linear_range))


def sign_flip_ratio(previous, current):
    """Share of kernel entries whose sign changed, with sign(0) = +1 (Wang (2018); erratum 4)."""
    previous, current = np.asarray(previous), np.asarray(current)
    if previous.shape != current.shape:
        raise ValueError(
            f"kernel shapes differ between logs: previous {previous.shape}, current {current.shape}"
        )
    return float(np.mean((previous >= 0) != (current >= 0)))


def _log_slope(values):
    """Least-squares slope of log(values) against the layer index, over the finite positive
    values; NaN with fewer than 3 of them."""
    values = np.asarray(values, dtype=np.float64)
    depth = np.arange(1, values.size + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(values)
    keep = np.isfinite(logs)
    if np.count_nonzero(keep) < 3:
        return np.nan
    return float(np.polyfit(depth[keep], logs[keep], 1)[0])


def _inverse(rate):
    if np.isnan(rate):
        return np.nan
    return np.inf if rate == 0 else 1.0 / rate


def fit_correlation_depth_scale(c, c_star=1.0):
    """xi_c fitted to |c^l - c*| ~ exp(-l / xi_c) (Schoenholz et al. 2017, sec. 3, fig. 2) by least squares on the
    log residuals; inf when they do not decay, negative when they grow, NaN with fewer than 3
    usable layers."""
    residuals = np.abs(np.asarray(c, dtype=np.float64) - c_star)
    return _inverse(-_log_slope(residuals))


def fit_gradient_depth_scale(grad_var, widths):
    """xi_grad fitted to E[delta_l^2] N_l ~ exp(l / xi_grad) (Schoenholz et al. 2017, eqs. 15-16: the width factor
    N_{l+1} / N_l of eq. 15 is divided out). Positive when gradients vanish towards the input,
    negative when they explode, NaN with fewer than 3 usable layers."""
    grad_var = np.asarray(grad_var, dtype=np.float64)
    widths = np.asarray(widths, dtype=np.float64)
    if grad_var.shape != widths.shape:
        raise ValueError(
            f"grad_var and widths must have the same length, got {grad_var.size} and {widths.size}"
        )
    return _inverse(_log_slope(grad_var * widths))
