"""Per-operation maps of the graph theory: how each operation of a network changes the moments of
its input (`moments.Moments`) in the forward pass, and the variance of the error signal in the
backward pass.

Each map is a small immutable object with ``forward(*inputs) -> Moments`` and
``backward(delta, *inputs) -> tuple``: from the per-channel E[delta^2] of the output error signal,
that of each input (gradient-independence assumption of Schoenholz et al. 2017, sec. 4). Maps compose
with :class:`Chain`; a graph of them describes a whole network (``bnn_init.graph``).

Example: one Bi-Real block, x + BN(conv(sign(x))), at initialisation (kernel +-1, fan-in 576):
    >>> from bnn_init.theory.moments import Moments
    >>> from bnn_init.theory.pointwise import Sign
    >>> x = Moments.uniform(mean=0.0, q=1.0, pair=0.6)
    >>> branch = Chain((Pointwise(Sign()), RandomLinear(weight_square=576.0), BatchNormTraining()))
    >>> out = Add().forward(x, branch.forward(x))
    >>> round(out.q, 4), round(out.c, 4)
    (2.0, 0.5048)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .moments import Moments, channel_derivative_moment, pointwise

_FIELDS = ("channel_mean", "channel_q", "channel_pair")

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
    "RandomLinear",
    "Tile",
]


def _broadcast(*inputs):
    """The inputs' per-channel arrays broadcast to one channel count."""
    arrays = np.broadcast_arrays(
        *(a for m in inputs for a in (m.channel_mean, m.channel_q, m.channel_pair))
    )
    return [arrays[3 * i : 3 * i + 3] for i in range(len(inputs))]


@dataclass(frozen=True, eq=False)
class RandomLinear:
    """A layer with i.i.d. zero-mean weights of second moment s_w / fan_in and biases of second
    moment s_b (the mean-field layer of Schoenholz et al. 2017, eqs. 3-5): every output channel
    has q' = s_w q + s_b, pair' = s_p pair + s_b and mean 0, with q, pair averaged over the input's
    channels. ``pair_square`` s_p is the weights' second moment that the two inputs of a pair
    share: s_w for fixed weights; the second moment of the weight means, sigma_m2, for weights
    sampled anew for every input (the local reparameterisation of Stamatescu et al. 2019,
    eqs. 19-21). Backward: E[delta_in^2] = ``back_square`` E[delta_out^2] (2017 eq. 15; default s_w).
    """

    weight_square: float
    bias_square: float = 0.0
    back_square: float | None = None
    pair_square: float | None = None

    def forward(self, x: Moments) -> Moments:
        s_w, s_b = self.weight_square, self.bias_square
        s_p = s_w if self.pair_square is None else self.pair_square
        return Moments.uniform(0.0, s_w * x.q + s_b, s_p * x.pair + s_b)

    def backward(self, delta, x: Moments):
        factor = self.weight_square if self.back_square is None else self.back_square
        return (np.full(x.channels, factor * float(np.mean(delta))),)


@dataclass(frozen=True, eq=False)
class Linear:
    """A dense, convolutional, depthwise or grouped layer with a given (quantized) kernel W of
    shape (taps, in channels, out channels) and bias b; ``inside`` (output positions x taps) says
    which taps of each output position fall inside the input (padding value ``pad_value``
    elsewhere: 0, or 1 for Larq's ``pad_values=1``).

    The output's channel means are exact for this kernel: at output position p,
    m_o(p) = sum_t [inside(p, t) sum_i W_tio m_i + (1 - inside(p, t)) pad sum_i W_tio] + b_o, and
    m_o is their average over positions. Around them, mean-field fluctuations (independent
    over input units; Schoenholz et al. 2017, eq. 3): with f_t the share of positions where tap t
    is inside,
        Var_o = sum_{t,i} f_t W_tio^2 (q_i - m_i^2) + Var_p[m_o(p)],
        Cov_o = sum_{t,i} f_t W_tio^2 (pair_i - m_i^2) + Var_p[m_o(p)],
        q_o = m_o^2 + Var_o,   pair_o = m_o^2 + Cov_o.
    Backward (Schoenholz et al. 2017, eq. 15, per input channel): E[delta_i^2] = r sum_{t,o} f_t
    W_tio^2 E[delta_o^2], r = ``positions_ratio`` (output over input positions: each input unit
    feeds the taps of about r output positions).
    """

    kernel: np.ndarray
    bias: np.ndarray | None = None
    inside: np.ndarray | None = None
    pad_value: float = 0.0
    positions_ratio: float = 1.0
    backward_reads_input = False  # (`Chain` skips computing its input for the backward pass)

    def forward(self, x: Moments) -> Moments:
        w = np.asarray(self.kernel, dtype=np.float64)
        taps = w.shape[0]
        inside = np.ones((1, taps)) if self.inside is None else np.asarray(self.inside, float)
        mean, variance = x.channel_mean, x.variance()
        covariance = x.channel_pair - x.channel_mean**2
        if mean.size == 1 and w.shape[1] > 1:  # a uniform description of the input
            mean, variance, covariance = (
                np.full(w.shape[1], v[0]) for v in (mean, variance, covariance)
            )
        per_tap = np.einsum("tio,i->to", w, mean)
        padded = self.pad_value * w.sum(axis=1)
        bias = 0.0 if self.bias is None else np.asarray(self.bias, dtype=np.float64)
        position_means = inside @ per_tap + (1.0 - inside) @ padded + bias
        channel_mean = position_means.mean(axis=0)
        spread = position_means.var(axis=0)
        weights = np.einsum("t,tio->io", inside.mean(axis=0), w**2)
        return Moments(
            channel_mean,
            channel_mean**2 + variance @ weights + spread,
            channel_mean**2 + covariance @ weights + spread,
        )

    def backward(self, delta, x: Moments):
        w = np.asarray(self.kernel, dtype=np.float64)
        coverage = np.ones(w.shape[0]) if self.inside is None else np.mean(self.inside, axis=0)
        weights = np.einsum("t,tio->io", coverage, w**2)
        delta_in = weights @ np.broadcast_to(np.asarray(delta, dtype=float), w.shape[2])
        return (delta_in * self.positions_ratio,)


@dataclass(frozen=True)
class Pointwise:
    """An elementwise function f (activation or input quantizer, `theory.pointwise`): moments of
    f(x) under the Gaussian ansatz (`moments.pointwise`); backward factor E[f'(u)^2]."""

    function: object

    def forward(self, x: Moments) -> Moments:
        return pointwise(x, self.function)

    def backward(self, delta, x: Moments):
        return (channel_derivative_moment(x, self.function) * delta,)


@dataclass(frozen=True, eq=False)
class Affine:
    """y = a x + b per channel (inference-mode BatchNorm, ``Rescaling``, ``CenteredScale``), exact:

        mean' = a mean + b,   q' = a^2 q + 2 a b mean + b^2,   pair' = a^2 pair + 2 a b mean + b^2.
    Backward: E[a^2].
    """

    scale: np.ndarray = 1.0
    shift: np.ndarray = 0.0
    backward_reads_input = False

    def forward(self, x: Moments) -> Moments:
        a, b = np.asarray(self.scale, dtype=float), np.asarray(self.shift, dtype=float)
        m = x.channel_mean
        return Moments(
            a * m + b,
            a * a * x.channel_q + 2.0 * a * b * m + b * b,
            a * a * x.channel_pair + 2.0 * a * b * m + b * b,
        )

    def backward(self, delta, x: Moments = None):
        return (np.square(np.asarray(self.scale, dtype=float)) * delta,)


@dataclass(frozen=True, eq=False)
class BatchNormTraining:
    """BatchNorm with the batch's statistics (training mode; Ioffe & Szegedy 2015, Algorithm 1),
    exact per channel: the channel loses its batch mean m and is divided by sqrt(v + eps), v = q -
    m^2, then `Affine` (gamma, beta):

        mean = 0,   q = v / (v + eps),   pair = (pair - m^2) / (v + eps)   before gamma and beta.
    Backward: E[gamma^2 / (v + eps)] (the projection terms are O(1 / batch size), left out).
    """

    gamma: np.ndarray = 1.0
    beta: np.ndarray = 0.0
    epsilon: float = 1e-3

    def forward(self, x: Moments) -> Moments:
        variance = x.variance() + self.epsilon
        normalised = Moments(
            0.0, x.variance() / variance, (x.channel_pair - x.channel_mean**2) / variance
        )
        return Affine(self.gamma, self.beta).forward(normalised)

    def backward(self, delta, x: Moments):
        return (
            np.square(np.asarray(self.gamma, dtype=float)) / (x.variance() + self.epsilon) * delta,
        )


@dataclass(frozen=True)
class Add:
    """Sum of branches that are independent over units (e.g. a shortcut and a branch through a
    random weight layer; Yang & Schoenholz 2017, eq. 2), per channel: moments add, plus the
    products of the branches' channel means, E[x y] = m_x m_y. Backward: every input receives
    the output's error."""

    def forward(self, *inputs: Moments) -> Moments:
        arrays = _broadcast(*inputs)
        means = np.array([a[0] for a in arrays])
        cross = means.sum(axis=0) ** 2 - np.sum(means**2, axis=0)  # 2 sum_{i<j} m_i m_j
        return Moments(
            means.sum(axis=0),
            sum(a[1] for a in arrays) + cross,
            sum(a[2] for a in arrays) + cross,
        )

    def backward(self, delta, *inputs: Moments):
        return tuple(np.broadcast_to(delta, m.channels) for m in inputs)


@dataclass(frozen=True)
class Concatenate:
    """Channel concatenation: the channels' moments side by side."""

    def forward(self, *inputs: Moments) -> Moments:
        return Moments(*(np.concatenate([getattr(m, name) for m in inputs]) for name in _FIELDS))

    def backward(self, delta, *inputs: Moments):
        ends = np.cumsum([m.channels for m in inputs])
        delta = np.broadcast_to(delta, ends[-1])
        return tuple(np.split(delta, ends[:-1]))


@dataclass(frozen=True)
class Product:
    """x * s with s broadcast over x's positions (squeeze-excite scaling, Hu et al. 2018), s
    independent of x over units: per channel every moment multiplies (in either order).
    Backward: E[s^2] for x and E[x^2] for s."""

    def forward(self, *inputs: Moments) -> Moments:
        (mx, qx, px), (ms, qs, ps) = _broadcast(*inputs)
        return Moments(mx * ms, qx * qs, px * ps)

    def backward(self, delta, *inputs: Moments):
        (_, qx, _), (_, qs, _) = _broadcast(*inputs)
        return (qs * delta, qx * delta)


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
        return Moments(x.channel_mean, x.channel_q / (1.0 - self.rate), x.channel_pair)

    def backward(self, delta, x: Moments):
        return ((1.0 / (1.0 - self.rate) if self.training else 1.0) * delta,)


@dataclass(frozen=True)
class Pad:
    """Spatial padding with ``value``: a share ``coverage`` f of the output positions holds the
    input, per channel exactly

        mean' = f mean + (1 - f) p,   q' = f q + (1 - f) p^2,   pair' = f pair + (1 - f) p^2.
    """

    coverage: float
    value: float = 0.0

    def forward(self, x: Moments) -> Moments:
        f, p = self.coverage, self.value
        return Moments(
            f * x.channel_mean + (1.0 - f) * p,
            f * x.channel_q + (1.0 - f) * p * p,
            f * x.channel_pair + (1.0 - f) * p * p,
        )

    def backward(self, delta, x: Moments):
        return (np.broadcast_to(delta, x.channels),)


@dataclass(frozen=True)
class Tile:
    """Flatten or reshape that turns the positions x channels of a tensor into units: each unit
    takes its channel's moments (``repeats`` positions, channels fastest, as Keras flattens)."""

    repeats: int

    def forward(self, x: Moments) -> Moments:
        return Moments(*(np.tile(getattr(x, name), self.repeats) for name in _FIELDS))

    def backward(self, delta, x: Moments):
        return (
            np.broadcast_to(delta, self.repeats * x.channels).reshape(self.repeats, -1).mean(0),
        )


@dataclass(frozen=True)
class Chain:
    """Maps applied one after another (each with one input): a layer such as Larq's
    ``QuantConv2D`` is ``Chain((Pointwise(input quantizer), Linear(...), Pointwise(activation)))``."""

    maps: tuple

    def forward(self, x: Moments) -> Moments:
        for step in self.maps:
            x = step.forward(x)
        return x

    def backward(self, delta, x: Moments):
        if not self.maps:
            return (np.broadcast_to(delta, x.channels),)
        # the inputs of the steps, computed only as far as a step's backward reads them
        reads = [getattr(step, "backward_reads_input", True) for step in self.maps]
        last = max((i for i, read in enumerate(reads) if read), default=0)
        inputs = [x]
        for step in self.maps[:last]:
            inputs.append(step.forward(inputs[-1]))
        inputs += [None] * (len(self.maps) - len(inputs))
        for step, moments in zip(reversed(self.maps), reversed(inputs), strict=True):
            (delta,) = step.backward(delta, moments)
        return (delta,)
