"""Per-operation maps of the graph theory: how each operation of a network changes the moments of
its input (`moments.Moments`) in the forward pass, and the variance of the error signal in the
backward pass.

Each map is a small immutable object with ``forward(*inputs) -> Moments`` and
``backward(*inputs) -> tuple`` (one factor per input: E[delta_in^2] = factor E[delta_out^2] per
unit, under the gradient-independence assumption of Schoenholz et al. 2017, sec. 4). Maps compose
with :class:`Chain`; a graph of them describes a whole network (``bnn_init.graph``).

Example: one Bi-Real block, x + BN(conv(sign(x))), at initialisation (kernel +-1, fan-in 576):
    >>> from bnn_init.theory.moments import Moments
    >>> from bnn_init.theory.pointwise import Sign
    >>> x = Moments(mean=0.0, q=1.0, pair=0.6, batch=0.1)
    >>> branch = Chain((Pointwise(Sign()), Linear(weight_square=576.0), BatchNormTraining()))
    >>> out = Add().forward(x, branch.forward(x))
    >>> round(out.q, 4), round(out.c, 4)
    (2.0, 0.4847)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .moments import Moments, derivative_moment, pointwise

__all__ = [
    "Add",
    "Affine",
    "BatchNormTraining",
    "Chain",
    "Concatenate",
    "Dropout",
    "Linear",
    "Pad",
    "Pointwise",
    "Product",
]


def _mix(moments, weights):
    """sum_i weights_i moments_i, moment by moment."""
    return Moments(
        *(
            float(sum(w * getattr(m, name) for w, m in zip(weights, moments, strict=True)))
            for name in ("mean", "q", "pair", "batch")
        )
    )


@dataclass(frozen=True)
class Linear:
    """A dense, convolutional, depthwise or grouped layer with (quantized) kernel W and bias b,
    the kernel's entries independent of the input and of mean zero over output units:

        q'     = s_w (f q + (1 - f) p^2) + s_b,         s_w = fan_in E[W^2], s_b = E[b^2]
        pair'  = s_w (f pair + (1 - f) p^2) + s_b,
        batch' = s_w (f2 batch + 2 (f - f2) p mean + (1 - 2 f + f2) p^2) + s_b,
        mean'  = E[b],

    (Schoenholz et al. 2017, eqs. 3-5, with padding) where f is the share of kernel taps that fall
    inside the input (``coverage``, averaged over output positions and taps; 1 for dense layers
    and 'valid' convolutions), f2 the mean over taps of the squared share, and p the padding value
    (0, or 1 for Larq's ``pad_values=1``). Backward: E[delta_in^2] = ``back_square`` E[delta_out^2]
    with ``back_square`` = fan_out E[W^2] (outputs each input feeds, times E[W^2]; 2017 eq. 15).
    """

    weight_square: float
    bias_square: float = 0.0
    bias_mean: float = 0.0
    coverage: float = 1.0
    coverage_square: float | None = None
    pad_value: float = 0.0
    back_square: float | None = None

    def forward(self, x: Moments) -> Moments:
        f = self.coverage
        f2 = f * f if self.coverage_square is None else self.coverage_square
        p2 = self.pad_value**2
        s_w, s_b = self.weight_square, self.bias_square
        return Moments(
            mean=self.bias_mean,
            q=s_w * (f * x.q + (1.0 - f) * p2) + s_b,
            pair=s_w * (f * x.pair + (1.0 - f) * p2) + s_b,
            batch=s_w * (f2 * x.batch + 2.0 * (f - f2) * self.pad_value * x.mean)
            + s_w * (1.0 - 2.0 * f + f2) * p2
            + s_b,
        )

    def backward(self, x: Moments):
        return (self.weight_square if self.back_square is None else self.back_square,)


@dataclass(frozen=True)
class Pointwise:
    """An elementwise function f (activation or input quantizer, `theory.pointwise`): moments of
    f(x) under the Gaussian ansatz (`moments.pointwise`); backward factor E[f'(u)^2]."""

    function: object

    def forward(self, x: Moments) -> Moments:
        return pointwise(x, self.function)

    def backward(self, x: Moments):
        return (derivative_moment(x, self.function),)


@dataclass(frozen=True)
class Affine:
    """y = a x + b per channel (inference-mode BatchNorm, ``Rescaling``, ``CenteredScale``), with
    a, b independent of the channel's statistics; given by E[a], E[a^2], E[a b], E[b], E[b^2]:

        mean' = E[a] mean + E[b],   q' = E[a^2] q + 2 E[ab] mean + E[b^2]   (pair, batch alike).
    Backward: E[a^2].
    """

    scale_mean: float = 1.0
    scale_square: float = 1.0
    scale_shift: float = 0.0
    shift_mean: float = 0.0
    shift_square: float = 0.0

    @classmethod
    def per_channel(cls, scale, shift):
        """From the per-channel arrays (or scalars) a and b."""
        a = np.atleast_1d(np.asarray(scale, dtype=float))
        b = np.broadcast_to(np.asarray(shift, dtype=float), a.shape)
        return cls(
            float(a.mean()),
            float(np.mean(a**2)),
            float(np.mean(a * b)),
            float(b.mean()),
            float(np.mean(b**2)),
        )

    def forward(self, x: Moments) -> Moments:
        def second(moment):
            return self.scale_square * moment + 2.0 * self.scale_shift * x.mean + self.shift_square

        return Moments(
            mean=self.scale_mean * x.mean + self.shift_mean,
            q=second(x.q),
            pair=second(x.pair),
            batch=second(x.batch),
        )

    def backward(self, x: Moments):
        return (self.scale_square,)


@dataclass(frozen=True)
class BatchNormTraining:
    """BatchNorm with the batch's statistics (training mode; Ioffe & Szegedy 2015, Algorithm 1):
    each channel loses its batch mean (whose square, averaged over channels, is ``batch``) and is
    divided by its batch standard deviation, then scaled by gamma and shifted by beta:

        v = q - batch,   q' = g2 v / (v + eps) + b2,   pair' = g2 (pair - batch) / (v + eps) + b2,
        batch' = b2 + (gamma, beta cross terms),   mean' = E[beta]

    with g2 = E[gamma^2], b2 = E[beta^2] (`Affine` of the normalised moments). Backward: g2 /
    (v + eps) (the projection terms are O(1 / batch size) and left out).
    """

    affine: Affine = Affine()
    epsilon: float = 1e-3

    def normalised(self, x: Moments) -> Moments:
        variance = max(x.q - x.batch, 0.0) + self.epsilon
        return Moments(
            mean=0.0,
            q=(x.q - x.batch) / variance,
            pair=(x.pair - x.batch) / variance,
            batch=0.0,
        )

    def forward(self, x: Moments) -> Moments:
        return self.affine.forward(self.normalised(x))

    def backward(self, x: Moments):
        return (self.affine.scale_square / (max(x.q - x.batch, 0.0) + self.epsilon),)


@dataclass(frozen=True)
class Add:
    """Sum of branches that are independent over units (e.g. a shortcut and a branch through a
    random weight layer; Yang & Schoenholz 2017, eq. 2): moments add, plus the products of the
    branches' means, E[x y] = mean_x mean_y. Backward: every input receives the output's error."""

    def forward(self, *inputs: Moments) -> Moments:
        means = np.array([m.mean for m in inputs])
        cross = float(means.sum() ** 2 - np.sum(means**2))  # 2 sum_{i<j} mean_i mean_j
        return Moments(
            mean=float(means.sum()),
            q=sum(m.q for m in inputs) + cross,
            pair=sum(m.pair for m in inputs) + cross,
            batch=sum(m.batch for m in inputs) + cross,
        )

    def backward(self, *inputs: Moments):
        return (1.0,) * len(inputs)


@dataclass(frozen=True)
class Concatenate:
    """Channel concatenation of inputs with ``widths`` channels: width-weighted moments."""

    widths: tuple

    def forward(self, *inputs: Moments) -> Moments:
        widths = np.asarray(self.widths, dtype=float)
        if widths.size != len(inputs):
            raise ValueError(f"Concatenate has {widths.size} widths but {len(inputs)} inputs")
        return _mix(inputs, widths / widths.sum())

    def backward(self, *inputs: Moments):
        return (1.0,) * len(inputs)


@dataclass(frozen=True)
class Product:
    """x * s with s broadcast over x (squeeze-excite scaling, Hu et al. 2018), s independent of x
    over units: every moment multiplies (in either order). Backward: E[s^2] for x and E[x^2]
    for s."""

    def forward(self, *inputs: Moments) -> Moments:
        x, s = inputs
        return Moments(
            mean=x.mean * s.mean, q=x.q * s.q, pair=x.pair * s.pair, batch=x.batch * s.batch
        )

    def backward(self, *inputs: Moments):
        x, s = inputs
        return (s.q, x.q)


@dataclass(frozen=True)
class Dropout:
    """Inverted dropout with ``rate`` (Keras' dropout_rate = 1 - keep probability rho): in training
    mode q' = q / (1 - rate), other moments unchanged (Schoenholz et al. 2017, sec. 6); in
    inference mode (how the monitor probes) the identity."""

    rate: float
    training: bool = False

    def forward(self, x: Moments) -> Moments:
        if not self.training:
            return x
        return Moments(mean=x.mean, q=x.q / (1.0 - self.rate), pair=x.pair, batch=x.batch)

    def backward(self, x: Moments):
        return (1.0 / (1.0 - self.rate) if self.training else 1.0,)


@dataclass(frozen=True)
class Pad:
    """Spatial padding with ``value``: a share ``coverage`` of the output positions holds the input.

    mean' = f mean + (1 - f) p,   q' = f q + (1 - f) p^2,   pair' = f pair + (1 - f) p^2,
    batch' = f^2 batch + 2 f (1 - f) p mean + (1 - f)^2 p^2.
    """

    coverage: float
    value: float = 0.0

    def forward(self, x: Moments) -> Moments:
        f, p = self.coverage, self.value
        return Moments(
            mean=f * x.mean + (1.0 - f) * p,
            q=f * x.q + (1.0 - f) * p * p,
            pair=f * x.pair + (1.0 - f) * p * p,
            batch=f * f * x.batch + 2.0 * f * (1.0 - f) * p * x.mean + (1.0 - f) ** 2 * p * p,
        )

    def backward(self, x: Moments):
        return (1.0,)


@dataclass(frozen=True)
class Chain:
    """Maps applied one after another (each with one input): a layer such as Larq's
    ``QuantConv2D`` is ``Chain((Pointwise(input quantizer), Linear(...), Pointwise(activation)))``."""

    maps: tuple

    def forward(self, x: Moments) -> Moments:
        for step in self.maps:
            x = step.forward(x)
        return x

    def backward(self, x: Moments):
        factor = 1.0
        for step in self.maps:
            factor *= step.backward(x)[0]
            x = step.forward(x)
        return (factor,)
