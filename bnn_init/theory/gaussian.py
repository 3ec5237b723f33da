"""Gaussian expectations by Gauss-Hermite quadrature, vectorised over parameter grids.

Notation follows Schoenholz et al. (2017), eqs. 3-5: ``E_q[f] = \\int Dz f(sqrt(q) z)`` with the
standard Gaussian measure Dz, and for a pair of inputs with variance q and correlation c,
``u1 = sqrt(q) z1``, ``u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2)``.

Two-point expectations use Mehler's formula: with normalised Hermite polynomials
``h_k = He_k / sqrt(k!)`` and coefficients ``a_k = E[f(sqrt(q) z) h_k(z)]``,

    E[f(u1) f(u2)] = sum_k a_k^2 c^k,

so for a fixed q the correlation map is a power series in c whose coefficients cost one 1-D
quadrature. The truncation remainder ``E_q[f^2] - sum_k a_k^2`` is added as a ``c^K`` term, which
makes the series exact at c = 0 and c = 1.
"""

from __future__ import annotations

from functools import cache

import numpy as np

NODES = 128  # quadrature points; half of them used for even integrands
SERIES_TERMS = 64  # Hermite terms in the two-point series
COARSE_NODES = 24  # for starting points of solvers only
MAX_HERMITE_NODES = 360  # numpy's Gauss-Hermite weights overflow beyond ~400 points


@cache
def _hermite_rule(n: int):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / np.sqrt(2.0 * np.pi)


@cache
def _hermite_basis(n: int, terms: int):
    """Normalised probabilists' Hermite polynomials h_k(z_i) times weights w_i, shape (n, terms)."""
    z, w = _hermite_rule(n)
    basis = np.empty((n, terms))
    basis[:, 0] = 1.0
    if terms > 1:
        basis[:, 1] = z
    for k in range(1, terms - 1):
        basis[:, k + 1] = (z * basis[:, k] - np.sqrt(k) * basis[:, k - 1]) / np.sqrt(k + 1)
    return basis * w[:, None]


@cache
def _half_rule(n: int):
    """Nodes z > 0 and weights for E[f(z)] of an even f, with n points over the whole line.

    Up to MAX_HERMITE_NODES points Gauss-Hermite; beyond, Gauss-Legendre on [0, 12] against the
    Gaussian density (its nodes cluster at z = 0, where a wide-variance integrand varies fastest).
    """
    if n <= MAX_HERMITE_NODES:
        z, w = _hermite_rule(n)
        positive = z > 0
        return z[positive], 2.0 * w[positive]
    x, w = np.polynomial.legendre.leggauss(n // 2)
    z = 6.0 * (x + 1.0)
    return z, 12.0 * w * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)


def nodes_for(q, n: int = NODES) -> int:
    """Quadrature points for variances up to max(q): ``n``, or more for wide Gaussians.

    An integrand analytic in a strip |Im u| < d (tanh: d = pi/2) seen at variance q has poles at
    distance d / sqrt(q) from the real z axis, so the points needed grow like q. Measured for
    tanh: 128 points are accurate to ~1e-6 up to q = 5; beyond, 56 q points keep ~1e-10.
    """
    q_max = float(np.max(q)) if np.size(q) else 0.0
    if n <= COARSE_NODES or not np.isfinite(q_max) or q_max <= 5.0:
        return n
    return int(min(max(n, 2 * int(28 * q_max)), 8192))


def expect_even(f, q, n: int = NODES):
    """``E_q[f]`` for an even integrand f (half the nodes). ``f`` may return a tuple of arrays,
    in which case a tuple of expectations is returned (one pass over the nodes for all)."""
    z, w = _half_rule(nodes_for(q, n))
    values = f(np.sqrt(np.asarray(q, dtype=float))[..., None] * z)
    if isinstance(values, tuple):
        return tuple(v @ w for v in values)
    return values @ w


class HermiteSeries:
    """Two-point expectation ``E[f(u1) f(u2)]`` at fixed q as a power series in the correlation c.

    ``value(c)`` and ``slope(c)`` (d/dc) are cheap polynomial evaluations, so fixed-point
    iterations in c never repeat the quadrature.
    """

    def __init__(self, f, q, n: int = NODES, terms: int = SERIES_TERMS):
        z, w = _hermite_rule(n)
        q = np.asarray(q, dtype=float)
        values = f(np.sqrt(q)[..., None] * z)
        coeffs = values @ _hermite_basis(n, terms)
        powers = coeffs**2
        remainder = values**2 @ w - powers.sum(axis=-1)
        powers[..., -1] += np.maximum(remainder, 0.0)
        self.powers = np.ascontiguousarray(np.moveaxis(powers, -1, 0))  # (terms, *shape)
        k = np.arange(1, terms).reshape((-1,) + (1,) * (self.powers.ndim - 1))
        self.slope_powers = self.powers[1:] * k

    def value(self, c):
        return _horner(self.powers, c)

    def slope(self, c):
        return _horner(self.slope_powers, c)


def _horner(coefficients, c):
    """sum_k coefficients[k] c^k, elementwise over the trailing axes."""
    c = np.asarray(c, dtype=float)
    total = coefficients[-1] * np.ones_like(c)
    for coefficient in coefficients[-2::-1]:
        total = total * c + coefficient
    return total
