"""Pointwise non-linearities phi and their Gaussian moments.

Every activation offers, vectorised over q (and c):

- ``second_moment(q)``          E_q[phi^2]
- ``second_moment_slope(q)``    d/dq E_q[phi^2] = E_q[phi'^2 + phi phi'']
- ``slope_moment(q)``           E_q[phi'^2]
- ``pair_series(q)``            an object with ``value(c) = E[phi(u1) phi(u2)]`` and
                                ``slope_value(c) = E[phi'(u1) phi'(u2)]``

The defaults use Gauss-Hermite quadrature (see ``gaussian``); ``Erf`` and ``HardTanh`` override
them with closed forms. Notation as in Schoenholz et al. (2017), eqs. 3-9.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, ndtr

from bnn_init.primitives.signs import sign

from ..primitives.checks import check_choice, check_range
from .base import scalar_or_array
from .gaussian import COARSE_NODES, NODES, HermiteSeries, expect_even

_SQRT_PI = np.sqrt(np.pi)
SIGN_NEURON_KAPPA = 1.0 / np.sqrt(2.0)  # erf(h / sqrt(2)): mean of sign(h + unit Gaussian noise)
# erf(kappa h) with the slope of tanh at 0 (Stamatescu et al. 2019, eq. 34)
TANH_KAPPA = float(np.sqrt(np.pi) / 2)


class _PairSeries:
    """E[phi(u1) phi(u2)] at fixed q as a power series in c; E[phi'(u1) phi'(u2)] is its
    derivative divided by q (Price's theorem: d/dc E[phi(u1) phi(u2)] = q E[phi'(u1) phi'(u2)])."""

    def __init__(self, activation, q, nodes):
        self.q = np.asarray(q, dtype=float)
        self.series = HermiteSeries(activation.phi, q, n=nodes)

    def value(self, c):
        return self.series.value(c)

    def slope_value(self, c):
        return self.series.slope(c) / self.q


class Activation:
    """Base class: moments by quadrature from ``phi``, ``dphi`` and ``d2phi``."""

    nodes = NODES  # Gauss-Hermite points of the quadratures

    closed_form = False  # True where the one-point moments need no quadrature

    def coarse(self):
        """A cheap copy (fewer quadrature points) that solvers use to find a starting point."""
        if self.closed_form or self.nodes == COARSE_NODES:
            return self
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, nodes=COARSE_NODES)
        return copy

    def phi(self, h):
        raise NotImplementedError

    def dphi(self, h):
        raise NotImplementedError

    def d2phi(self, h):
        raise NotImplementedError

    def second_moment(self, q):
        return expect_even(lambda u: self.phi(u) ** 2, q, self.nodes)

    def second_moment_slope(self, q):
        return expect_even(lambda u: self.dphi(u) ** 2 + self.phi(u) * self.d2phi(u), q, self.nodes)

    def second_moment_and_slope(self, q):
        """(E_q[phi^2], d/dq E_q[phi^2]); subclasses may compute both in one pass."""
        return self.second_moment(q), self.second_moment_slope(q)

    def slope_moment(self, q):
        return expect_even(lambda u: self.dphi(u) ** 2, q, self.nodes)

    def pair_series(self, q):
        return _PairSeries(self, q, self.nodes)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Tanh(Activation):
    """phi(h) = tanh(h)."""

    def phi(self, h):
        return np.tanh(h)

    def dphi(self, h):
        return 1.0 - np.tanh(h) ** 2

    def d2phi(self, h):
        t = np.tanh(h)
        return -2.0 * t * (1.0 - t**2)

    def second_moment_and_slope(self, q):
        def integrands(u):
            t2 = np.tanh(u) ** 2
            return t2, (1.0 - t2) * (1.0 - 3.0 * t2)

        return expect_even(integrands, q, self.nodes)


class Erf(Activation):
    """phi(h) = erf(kappa h), with closed-form Gaussian moments (Williams 1997):

    E[phi(u1) phi(u2)] = (2/pi) arcsin(2 k^2 q c / (1 + 2 k^2 q)),
    E[phi'(u1) phi'(u2)] = (4 k^2 / pi) / sqrt((1 + 2 k^2 q)^2 - (2 k^2 q c)^2).

    kappa = 1/sqrt(2) is the mean of a sign neuron with unit Gaussian noise (Stamatescu et al. (2019) eq. 6).
    """

    closed_form = True

    def __init__(self, kappa=SIGN_NEURON_KAPPA):
        self.kappa = scalar_or_array(check_range("kappa", kappa, low=0.0, low_open=True))

    def phi(self, h):
        return erf(self.kappa * h)

    def dphi(self, h):
        return 2.0 * self.kappa / _SQRT_PI * np.exp(-((self.kappa * h) ** 2))

    def second_moment(self, q):
        a = 2.0 * self.kappa**2 * np.asarray(q, dtype=float)
        return 2.0 / np.pi * np.arcsin(a / (1.0 + a))

    def second_moment_slope(self, q):
        a = 2.0 * self.kappa**2 * np.asarray(q, dtype=float)
        return 4.0 * self.kappa**2 / (np.pi * (1.0 + a) * np.sqrt(1.0 + 2.0 * a))

    def slope_moment(self, q):
        a = 2.0 * self.kappa**2 * np.asarray(q, dtype=float)
        return 4.0 * self.kappa**2 / (np.pi * np.sqrt(1.0 + 2.0 * a))

    def pair_series(self, q):
        return _ErfPair(self.kappa, q)

    def __repr__(self):
        return f"Erf(kappa={self.kappa!r})"


class _ErfPair:
    def __init__(self, kappa, q):
        self.kappa2 = kappa**2
        self.a = 2.0 * kappa**2 * np.asarray(q, dtype=float)

    def value(self, c):
        return 2.0 / np.pi * np.arcsin(self.a * c / (1.0 + self.a))

    def slope_value(self, c):
        disc = (1.0 + self.a) ** 2 - (self.a * c) ** 2
        return 4.0 * self.kappa2 / (np.pi * np.sqrt(disc))


class HardTanh(Activation):
    """Wang's binarisation B_r(h) = clip(h / r, -1, 1), B_r'(h) = 1/r on (-r, r) (Wang (2018), sec. 2).

    With a = r / sqrt(q), P = 2 Phi(a) - 1 and the standard normal density pdf:

    E_q[B_r^2]   = (q / r^2)(P - 2 a pdf(a)) + 1 - P,
    d/dq E_q[B_r^2] = (P - 2 a pdf(a)) / r^2,
    E_q[B_r'^2]  = P / r^2.
    """

    closed_form = True

    def __init__(self, r=1.0):
        self.r = scalar_or_array(check_range("r", r, low=0.0, low_open=True))

    def phi(self, h):
        return np.clip(h / self.r, -1.0, 1.0)

    def dphi(self, h):
        return np.where(np.abs(h) < self.r, 1.0 / self.r, 0.0)

    def _inner(self, q):
        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = self.r / np.sqrt(q)
            pdf_term = np.where(
                np.isinf(a), 0.0, 2.0 * a * np.exp(-0.5 * np.minimum(a, 1e150) ** 2)
            )
        inside = 2.0 * ndtr(a) - 1.0
        return q, inside, inside - pdf_term / np.sqrt(2.0 * np.pi)

    def second_moment(self, q):
        q, inside, truncated = self._inner(q)
        return q / self.r**2 * truncated + (1.0 - inside)

    def second_moment_slope(self, q):
        _, _, truncated = self._inner(q)
        return truncated / self.r**2

    def slope_moment(self, q):
        _, inside, _ = self._inner(q)
        return inside / self.r**2

    def pair_series(self, q):
        return _HardTanhPair(self.r, q)

    def __repr__(self):
        return f"HardTanh(r={self.r!r})"


class _HardTanhPair:
    """Two-point moments of B_r, integrating z2 in closed form and z1 by Gauss-Legendre on the
    pieces [0, a] and [a, L] where the integrand is smooth (a = r / sqrt(q), L = 12; the
    integrands are even in z1).

    With X = c z1 + s z2 (s = sqrt(1 - c^2)), b = (a - c z1)/s and l = (-a - c z1)/s:
    E_z2[clip(X / a)] = (c z1 (Phi(b) - Phi(l)) - s (pdf(b) - pdf(l))) / a + Phi(-b) - Phi(l),
    P(|X| < a | z1) = Phi(b) - Phi(l).
    """

    _LIMIT = 12.0

    def __init__(self, r, q):
        self.r = r
        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore"):
            self.a = r / np.sqrt(q)
        self.kink = np.minimum(self.a, self._LIMIT)

    def _conditional(self, c, z1):
        c = np.asarray(c, dtype=float)[..., None]
        a = self.a[..., None]
        s = np.sqrt(np.maximum(1.0 - c**2, 0.0))
        mean = c * z1
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(s > 0, (a - mean) / s, np.sign(a - mean) * np.inf)
            low = np.where(s > 0, (-a - mean) / s, np.sign(-a - mean) * np.inf)
        inside = ndtr(b) - ndtr(low)
        pdf_diff = np.exp(-0.5 * np.minimum(b**2, 1e300)) - np.exp(-0.5 * np.minimum(low**2, 1e300))
        clipped = (mean * inside - s * pdf_diff / np.sqrt(2.0 * np.pi)) / a + ndtr(-b) - ndtr(low)
        return clipped, inside

    def value(self, c):
        total = 0.0
        for start, stop in ((0.0, self.kink), (self.kink, self._LIMIT)):
            z1, w = _legendre_nodes(start, stop)
            clipped, _ = self._conditional(c, z1)
            outer = np.clip(z1 / self.a[..., None], -1.0, 1.0)
            total = total + np.sum(w * outer * clipped * _pdf(z1), axis=-1)
        return 2.0 * total

    def slope_value(self, c):
        z1, w = _legendre_nodes(0.0, self.kink)
        _, inside = self._conditional(c, z1)
        return 2.0 * np.sum(w * inside * _pdf(z1), axis=-1) / self.r**2


_LEGENDRE = np.polynomial.legendre.leggauss(96)


def _legendre_nodes(start, stop):
    """Gauss-Legendre nodes and weights on [start, stop] (arrays broadcast), shape (..., n)."""
    x, w = _LEGENDRE
    start = np.asarray(start, dtype=float)[..., None]
    stop = np.asarray(stop, dtype=float)[..., None]
    half = 0.5 * (stop - start)
    return start + half * (x + 1.0), half * w


def _pdf(z):
    return np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)


class Sign(Activation):
    """phi(h) = sign(h) with sign(0) = +1 (erratum 4); E[phi(u1) phi(u2)] = (2/pi) arcsin(c).

    Its derivative is zero almost everywhere; the pair slope returned is the one that makes
    q E[phi'(u1) phi'(u2)] = d/dc (2/pi) arcsin(c), i.e. (2/pi) / (q sqrt(1 - c^2)).
    """

    closed_form = True

    def phi(self, h):
        return sign(h)

    def second_moment(self, q):
        return np.ones(np.shape(q))

    def second_moment_slope(self, q):
        return np.zeros(np.shape(q))

    def slope_moment(self, q):
        return np.full(np.shape(q), np.inf)

    def pair_series(self, q):
        return _SignPair(q)


class _SignPair:
    def __init__(self, q):
        self.q = np.asarray(q, dtype=float)

    def value(self, c):
        return 2.0 / np.pi * np.arcsin(np.clip(c, -1.0, 1.0))

    def slope_value(self, c):
        with np.errstate(divide="ignore"):
            return 2.0 / (np.pi * self.q * np.sqrt(1.0 - np.clip(c, -1.0, 1.0) ** 2))


ACTIVATIONS = {"tanh": Tanh, "hard_tanh": HardTanh, "erf": Erf}


def get_activation(phi, **kwargs) -> Activation:
    """An ``Activation`` from its name ('tanh', 'hard_tanh', 'erf') or an instance."""
    if isinstance(phi, Activation):
        return phi
    check_choice("phi", phi, ACTIVATIONS)
    return ACTIVATIONS[phi](**kwargs)
