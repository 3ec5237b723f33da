"""Elementwise functions of the graph theory: activations and input quantizers.

Most are piecewise linear and say so by ``pieces``: (low, high, slope, intercept) rows, f(u) =
slope u + intercept on [low, high). Their Gaussian moments then have closed forms
(`moments.pointwise`), exact for step functions such as sign and DoReFa. ``derivative_pieces``
give the derivative training back-propagates (the straight-through estimator for sign,
Courbariaux et al. 2016). Smooth functions (tanh, sigmoid, erf) have ``pieces = None`` and are
integrated by quadrature.

Example:
    >>> Sign().value(np.array([-0.5, 0.0, 2.0]))
    array([-1.,  1.,  1.])
    >>> DoReFa(k_bit=2).value(np.array([0.1, 0.2, 0.9]))
    array([0.        , 0.33333333, 1.        ])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from ..primitives.checks import check_integer, check_range

__all__ = [
    "Clip",
    "DoReFa",
    "Erf",
    "Heaviside",
    "Identity",
    "PReLU",
    "ReLU",
    "Sigmoid",
    "Sign",
    "Tanh",
    "Ternary",
]

_INF = np.inf


def _evaluate(pieces, u):
    """sum over pieces of (slope u + intercept) 1{low <= u < high}."""
    u = np.asarray(u, dtype=float)
    out = np.zeros_like(u)
    for low, high, slope, intercept in pieces:
        out = np.where((u >= low) & (u < high), slope * u + intercept, out)
    return out


def _straight_through(clip):
    """Derivative 1{|u| <= clip} as pieces."""
    return ((-_INF, -clip, 0.0, 0.0), (-clip, clip, 0.0, 1.0), (clip, _INF, 0.0, 0.0))


class _PiecewiseLinear:
    """value and derivative from ``pieces`` and ``derivative_pieces`` (default: the slopes)."""

    @property
    def derivative_pieces(self):
        return tuple((low, high, 0.0, slope) for low, high, slope, _ in self.pieces)

    def value(self, u):
        return _evaluate(self.pieces, u)

    def derivative(self, u):
        return _evaluate(self.derivative_pieces, u)

    @property
    def nondecreasing(self) -> bool:
        """No piece falls and no jump goes down (then max pooling commutes with f)."""
        ends = [slope * high + intercept for _, high, slope, intercept in self.pieces[:-1]]
        starts = [slope * low + intercept for low, _, slope, intercept in self.pieces[1:]]
        return all(p[2] >= 0.0 for p in self.pieces) and all(
            end <= start + 1e-12 for end, start in zip(ends, starts, strict=True)
        )


@dataclass(frozen=True)
class Identity(_PiecewiseLinear):
    """f(u) = u."""

    pieces = ((-_INF, _INF, 1.0, 0.0),)


@dataclass(frozen=True)
class Sign(_PiecewiseLinear):
    """sign(u) with sign(0) = +1; derivative 1{|u| <= ste_clip} (straight-through estimator,
    Larq's ``ste_sign``; ``approx_sign``'s 2 - 2|u| and ``swish_sign``'s differ only in the
    backward pass, which the same indicator approximates)."""

    ste_clip: float = 1.0
    pieces = ((-_INF, 0.0, 0.0, -1.0), (0.0, _INF, 0.0, 1.0))

    def __post_init__(self):
        check_range("ste_clip", self.ste_clip, low=0.0, low_open=True, high=np.inf)  # inf: no clip

    @property
    def derivative_pieces(self):
        return _straight_through(float(self.ste_clip))


@dataclass(frozen=True)
class Clip(_PiecewiseLinear):
    """clip(u, low, high): hard tanh is Clip(-1, 1), ReLU6 is Clip(0, 6)."""

    low: float = -1.0
    high: float = 1.0

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"Clip needs low < high, got low={self.low!r}, high={self.high!r}")

    @property
    def pieces(self):
        low, high = float(self.low), float(self.high)
        return ((-_INF, low, 0.0, low), (low, high, 1.0, 0.0), (high, _INF, 0.0, high))


@dataclass(frozen=True)
class ReLU(_PiecewiseLinear):
    """max(u, 0)."""

    pieces = ((-_INF, 0.0, 0.0, 0.0), (0.0, _INF, 1.0, 0.0))


@dataclass(frozen=True)
class PReLU(_PiecewiseLinear):
    """u for u > 0, alpha u otherwise (He et al. 2015)."""

    alpha: float = 0.25

    @property
    def pieces(self):
        return ((-_INF, 0.0, float(self.alpha), 0.0), (0.0, _INF, 1.0, 0.0))


@dataclass(frozen=True)
class DoReFa(_PiecewiseLinear):
    """k-bit activation quantizer of DoReFa-Net (Zhou et al. 2016, eq. 5 on clip(u, 0, 1)):
    round((2^k - 1) clip(u, 0, 1)) / (2^k - 1); derivative 1{0 <= u <= 1} (straight through)."""

    k_bit: int = 2

    def __post_init__(self):
        check_integer("k_bit", self.k_bit, low=1)

    @property
    def pieces(self):
        n = 2**self.k_bit - 1
        edges = [-_INF, *((i + 0.5) / n for i in range(n)), _INF]
        return tuple((edges[i], edges[i + 1], 0.0, i / n) for i in range(n + 1))

    @property
    def derivative_pieces(self):
        return ((-_INF, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 1.0), (1.0, _INF, 0.0, 0.0))


@dataclass(frozen=True)
class Heaviside(_PiecewiseLinear):
    """1{u > 0} (Larq's ``ste_heaviside``); derivative 1{|u| <= clip} (straight through)."""

    ste_clip: float = 1.0
    pieces = ((-_INF, 0.0, 0.0, 0.0), (0.0, _INF, 0.0, 1.0))

    @property
    def derivative_pieces(self):
        return _straight_through(float(self.ste_clip))


@dataclass(frozen=True)
class Ternary(_PiecewiseLinear):
    """sign(u) 1{|u| > threshold} (Larq's ``ste_tern`` with a fixed threshold, Li et al. 2016);
    derivative 1{|u| <= clip} (straight through)."""

    threshold: float = 0.05
    ste_clip: float = 1.0

    @property
    def pieces(self):
        t = float(self.threshold)
        return ((-_INF, -t, 0.0, -1.0), (-t, t, 0.0, 0.0), (t, _INF, 0.0, 1.0))

    @property
    def derivative_pieces(self):
        return _straight_through(float(self.ste_clip))


@dataclass(frozen=True)
class Tanh:
    """tanh(u) (integrated by quadrature, split at its ``bends``)."""

    pieces = None
    nondecreasing = True
    bends = (-2.0, 0.0, 2.0)

    def value(self, u):
        return np.tanh(np.asarray(u, dtype=float))

    def derivative(self, u):
        return 1.0 - np.tanh(np.asarray(u, dtype=float)) ** 2


@dataclass(frozen=True)
class Erf:
    """erf(kappa u): the mean of sign(u + noise) for unit Gaussian noise at kappa = 1/sqrt(2)
    (the deterministic surrogate's neuron, Stamatescu et al. 2019, eq. 12; by quadrature)."""

    kappa: float = 1.0 / np.sqrt(2.0)
    pieces = None
    nondecreasing = True

    @property
    def bends(self):
        return (-2.0 / self.kappa, 0.0, 2.0 / self.kappa)

    def value(self, u):
        return erf(self.kappa * np.asarray(u, dtype=float))

    def derivative(self, u):
        return 2.0 * self.kappa / np.sqrt(np.pi) * np.exp(-((self.kappa * np.asarray(u)) ** 2))


@dataclass(frozen=True)
class Sigmoid:
    """1 / (1 + exp(-u)) (squeeze-excite gates; integrated by quadrature, split at its
    ``bends``)."""

    pieces = None
    nondecreasing = True
    bends = (-4.0, 0.0, 4.0)

    def value(self, u):
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(u, dtype=float)))

    def derivative(self, u):
        s = self.value(u)
        return s * (1.0 - s)
