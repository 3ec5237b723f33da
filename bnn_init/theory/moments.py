"""The statistics the graph theory propagates, and their Gaussian expectations through
elementwise functions.

A tensor is described over a probe batch of paired inputs (x_a, x_b) by four uncentred moments,
each averaged over units (channels x positions):

- ``mean``  E[x],
- ``q``     E[x^2]                        (Schoenholz et al. 2017, eq. 2),
- ``pair``  E[x_a x_b] of the paired inputs at the same unit (q_ab, 2017 eq. 5),
- ``batch`` E_channel[(mean of the channel over batch and positions)^2], what BatchNorm in
  training mode subtracts (Ioffe & Szegedy 2015, Algorithm 1).

The correlation is c = pair / q. Mean-field ansatz (Poole et al. 2016; Schoenholz et al. 2017): over
units, the values of a unit on the inputs of the batch are jointly Gaussian with common mean
``mean``, variance q - mean^2, covariance pair - mean^2 between paired inputs and batch - mean^2
between two typical inputs (or positions) of the batch. Random weight layers make this exact in the
wide limit; elementwise functions then act unit by unit (:func:`pointwise`).

Expectations are integrated piecewise between the function's breaks with Gauss-Legendre rules
against the Gaussian density (exact up to quadrature error for step functions such as sign and
DoReFa, which Gauss-Hermite rules resolve only to O(1/n)).

Example:
    >>> from bnn_init.theory.pointwise import Sign
    >>> out = pointwise(Moments(mean=0.0, q=1.0, pair=0.5, batch=0.0), Sign())
    >>> round(out.q, 6), round(out.pair, 6), round(2 / np.pi * np.arcsin(0.5), 6)
    (1.0, 0.333333, 0.333333)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Moments", "derivative_moment", "pointwise"]

_RANGE = 8.5  # Gaussian integrals are taken over |z| <= 8.5 (mass outside: 2e-17)
_LEGENDRE = np.polynomial.legendre.leggauss(24)
_FIXED_BREAKS = (-4.5, -2.0, 0.0, 2.0, 4.5)  # split |z| <= 8.5 where the density bends


@dataclass(frozen=True)
class Moments:
    """Uncentred moments of a tensor over units and a batch of paired inputs (module docstring)."""

    mean: float
    q: float
    pair: float
    batch: float

    def __post_init__(self):
        for name in ("mean", "q", "pair", "batch"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise ValueError(f"Moments.{name} must be finite, got {value!r}")
        if self.q < 0.0:
            raise ValueError(f"Moments.q must be >= 0 (a second moment), got {self.q!r}")

    @property
    def c(self) -> float:
        """The pair correlation pair / q (1 for a zero tensor)."""
        return float(self.pair / self.q) if self.q > 0.0 else 1.0

    @property
    def variance(self) -> float:
        return max(self.q - self.mean**2, 0.0)

    def correlation(self, cross) -> float:
        """Centred correlation (cross - mean^2) / (q - mean^2) of two inputs with uncentred cross
        moment ``cross``, clipped to [-1, 1] (measured moments may exceed it by round-off)."""
        variance = self.variance
        if variance <= 0.0:
            return 1.0
        return float(np.clip((cross - self.mean**2) / variance, -1.0, 1.0))


def _rule(breaks):
    """Nodes and weights for E[g(z)], z ~ N(0, 1), piecewise between ``breaks`` (..., k) per row.

    Returns arrays of shape (..., pieces * 24); the pieces also split at fixed points of z.
    """
    breaks = np.clip(np.asarray(breaks, dtype=float), -_RANGE, _RANGE)
    fixed = np.broadcast_to((-_RANGE, *_FIXED_BREAKS, _RANGE), breaks.shape[:-1] + (7,))
    edges = np.sort(np.concatenate([fixed, breaks], axis=-1), axis=-1)
    low, high = edges[..., :-1, None], edges[..., 1:, None]
    x, w = _LEGENDRE
    z = low + (high - low) * (x + 1.0) / 2.0
    weights = (high - low) / 2.0 * w * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    shape = breaks.shape[:-1] + (-1,)
    return z.reshape(shape), weights.reshape(shape)


def _standard_breaks(points, mean, std):
    return (np.asarray(points, dtype=float) - mean) / std


def _expect(g, breaks, mean, std):
    """E[g(mean + std z)] with g integrated piecewise between ``breaks`` (in u)."""
    if std <= 0.0:
        return float(g(np.asarray(mean, dtype=float)))
    z, w = _rule(_standard_breaks(breaks, mean, std)[None, :] if breaks else np.empty((1, 0)))
    return float(np.sum(g(mean + std * z) * w))


def _cross(f, mean, std, rho):
    """E[f(u_a) f(u_b)] for (u_a, u_b) Gaussian with means ``mean``, std ``std``, correlation rho."""
    if std <= 0.0:
        return float(f.value(np.asarray(mean, dtype=float)) ** 2)
    breaks = tuple(f.breaks)
    spread = np.sqrt(max(1.0 - rho**2, 0.0))
    # E[f(u_b) | z1] jumps over a width spread / |rho| around z1 = z_break / rho: split there
    standard = _standard_breaks(breaks, mean, std)
    slope = max(abs(rho), 0.1)
    steep = standard / np.copysign(slope, rho) if breaks else standard
    width = spread / slope
    outer = np.concatenate([standard] + [steep + k * width for k in (-6.0, -2.0, 0.0, 2.0, 6.0)])
    z1, w1 = _rule(outer[None, :])
    z1, w1 = z1[0], w1[0]
    centre = mean + std * rho * z1  # conditional mean of u_b given z1
    inner_std = max(std * spread, 1e-300)
    if breaks:
        inner = (np.asarray(breaks)[None, :] - centre[:, None]) / inner_std
    else:
        inner = np.empty((z1.size, 0))
    z2, w2 = _rule(inner)
    conditional = np.sum(f.value(centre[:, None] + inner_std * z2) * w2, axis=1)
    return float(np.sum(f.value(mean + std * z1) * conditional * w1))


def pointwise(moments: Moments, f) -> Moments:
    """Moments of f(x) for x with ``moments`` under the Gaussian ansatz (module docstring):
    E[f(u)], E[f(u)^2], E[f(u_a) f(u_b)] at the pair and at the batch correlation.

    ``f`` is one of `bnn_init.theory.pointwise`'s functions (``value``, ``breaks``).
    """
    mean, std = moments.mean, np.sqrt(moments.variance)
    breaks = tuple(f.breaks)
    return Moments(
        mean=_expect(f.value, breaks, mean, std),
        q=_expect(lambda u: f.value(u) ** 2, breaks, mean, std),
        pair=_cross(f, mean, std, moments.correlation(moments.pair)),
        batch=_cross(f, mean, std, moments.correlation(moments.batch)),
    )


def derivative_moment(moments: Moments, f) -> float:
    """E[f'(u)^2] under the Gaussian ansatz: the factor by which an elementwise function scales the
    variance of the back-propagated error (Schoenholz et al. 2017, eq. 15), with f' the derivative
    training uses (e.g. the straight-through estimator of sign)."""
    breaks = tuple(getattr(f, "derivative_breaks", f.breaks))
    mean, std = moments.mean, np.sqrt(moments.variance)
    return _expect(lambda u: f.derivative(u) ** 2, breaks, mean, std)
