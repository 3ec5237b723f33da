"""Elementwise functions of the graph theory: activations and input quantizers.

Each function f offers ``value(u)`` (forward pass), ``derivative(u)`` (the derivative training
back-propagates: the straight-through estimator for sign, Courbariaux et al. 2016) and ``breaks``,
the points where f or its derivative jumps, so that Gaussian expectations of f can be integrated
piecewise (see ``moments.pointwise``) to quadrature accuracy even for step functions.

Example:
    >>> Sign().value(np.array([-0.5, 0.0, 2.0]))
    array([-1.,  1.,  1.])
    >>> DoReFa(k_bit=2).breaks
    (0.0, 0.16666666666666666, 0.5, 0.8333333333333334, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import check_integer, check_range

__all__ = [
    "Clip",
    "DoReFa",
    "Heaviside",
    "Identity",
    "PReLU",
    "ReLU",
    "Sigmoid",
    "Sign",
    "Tanh",
    "Ternary",
]


@dataclass(frozen=True)
class Identity:
    """f(u) = u."""

    breaks = ()

    def value(self, u):
        return np.asarray(u, dtype=float)

    def derivative(self, u):
        return np.ones_like(np.asarray(u, dtype=float))


@dataclass(frozen=True)
class Sign:
    """sign(u) with sign(0) = +1; derivative 1{|u| <= ste_clip} (straight-through estimator,
    Larq's ``ste_sign``; ``approx_sign``'s 2 - 2|u| and ``swish_sign``'s differ only in the
    backward pass, which ``derivative`` approximates by the same indicator)."""

    ste_clip: float = 1.0
    breaks = (0.0,)

    def __post_init__(self):
        check_range("ste_clip", self.ste_clip, low=0.0, low_open=True)

    def value(self, u):
        return np.where(np.asarray(u) >= 0.0, 1.0, -1.0)

    def derivative(self, u):
        return (np.abs(np.asarray(u)) <= self.ste_clip).astype(float)

    @property
    def derivative_breaks(self):
        return (-float(self.ste_clip), float(self.ste_clip))


@dataclass(frozen=True)
class Clip:
    """clip(u, low, high) (hard tanh: Clip(-1, 1); B_r of Wang (2018) is Clip(-r, r) / r, which
    the graph writes as Clip then an affine scale; ReLU6 is Clip(0, 6))."""

    low: float = -1.0
    high: float = 1.0

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"Clip needs low < high, got low={self.low!r}, high={self.high!r}")

    @property
    def breaks(self):
        return (float(self.low), float(self.high))

    def value(self, u):
        return np.clip(np.asarray(u, dtype=float), self.low, self.high)

    def derivative(self, u):
        u = np.asarray(u, dtype=float)
        return ((u >= self.low) & (u <= self.high)).astype(float)


@dataclass(frozen=True)
class ReLU:
    """max(u, 0)."""

    breaks = (0.0,)

    def value(self, u):
        return np.maximum(np.asarray(u, dtype=float), 0.0)

    def derivative(self, u):
        return (np.asarray(u) > 0.0).astype(float)


@dataclass(frozen=True)
class PReLU:
    """u for u > 0, alpha u otherwise (He et al. 2015); one alpha (the graph averages moments over
    channels with different alphas)."""

    alpha: float = 0.25
    breaks = (0.0,)

    def value(self, u):
        u = np.asarray(u, dtype=float)
        return np.where(u > 0.0, u, self.alpha * u)

    def derivative(self, u):
        return np.where(np.asarray(u) > 0.0, 1.0, self.alpha)


@dataclass(frozen=True)
class Tanh:
    """tanh(u) (breaks only split the integration range where tanh bends)."""

    breaks = (-3.0, -1.0, 0.0, 1.0, 3.0)

    def value(self, u):
        return np.tanh(np.asarray(u, dtype=float))

    def derivative(self, u):
        return 1.0 - np.tanh(np.asarray(u, dtype=float)) ** 2


@dataclass(frozen=True)
class DoReFa:
    """k-bit activation quantizer of DoReFa-Net (Zhou et al. 2016, eq. 5 on clip(u, 0, 1)):
    round((2^k - 1) clip(u, 0, 1)) / (2^k - 1); derivative 1{0 <= u <= 1} (straight through)."""

    k_bit: int = 2

    def __post_init__(self):
        check_integer("k_bit", self.k_bit, low=1)

    @property
    def levels(self):
        return 2**self.k_bit - 1

    @property
    def breaks(self):
        steps = (np.arange(self.levels) + 0.5) / self.levels
        return (0.0, *(float(s) for s in steps), 1.0)

    def value(self, u):
        n = self.levels
        return np.round(np.clip(np.asarray(u, dtype=float), 0.0, 1.0) * n) / n

    def derivative(self, u):
        u = np.asarray(u, dtype=float)
        return ((u >= 0.0) & (u <= 1.0)).astype(float)


@dataclass(frozen=True)
class Sigmoid:
    """1 / (1 + exp(-u)) (squeeze-excite gates; breaks only split the integration range)."""

    breaks = (-4.0, 0.0, 4.0)

    def value(self, u):
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(u, dtype=float)))

    def derivative(self, u):
        s = self.value(u)
        return s * (1.0 - s)


@dataclass(frozen=True)
class Heaviside:
    """1{u > 0} (Larq's ``ste_heaviside``); derivative 1{|u| <= clip} (straight through)."""

    ste_clip: float = 1.0
    breaks = (0.0,)

    def value(self, u):
        return (np.asarray(u) > 0.0).astype(float)

    def derivative(self, u):
        return (np.abs(np.asarray(u)) <= self.ste_clip).astype(float)

    @property
    def derivative_breaks(self):
        return (-float(self.ste_clip), float(self.ste_clip))


@dataclass(frozen=True)
class Ternary:
    """sign(u) 1{|u| > threshold} (Larq's ``ste_tern`` with a fixed threshold, Li et al. 2016);
    derivative 1{|u| <= clip} (straight through)."""

    threshold: float = 0.05
    ste_clip: float = 1.0

    @property
    def breaks(self):
        return (-float(self.threshold), float(self.threshold))

    def value(self, u):
        u = np.asarray(u, dtype=float)
        return np.where(np.abs(u) > self.threshold, np.sign(u), 0.0)

    def derivative(self, u):
        return (np.abs(np.asarray(u)) <= self.ste_clip).astype(float)

    @property
    def derivative_breaks(self):
        return (-float(self.ste_clip), float(self.ste_clip))
