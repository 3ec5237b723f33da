"""Maps of stochastic binary networks (Stamatescu et al. 2019, "Critical initialisation in
continuous approximations of binary neural networks"): neurons and weights that are +-1 at
random with given means, seen through the moments of their fields.

``StochasticBinary(f)``: a neuron x = +-1 with E[x | h] = f(h), sampled independently for every
input: E[x^2] = 1, while the two inputs of a pair share only the means, E[x_a x_b] = E[f(h_a)
f(h_b)] (eq. 18). ``NoiseNormalisedLinear``: the deterministic surrogate's layer (eq. 13), whose
field is the weight-mean sum divided by the standard deviation of its sampling noise.

Example: one layer of the deterministic surrogate at sigma_m2 = 0.99 (its q_map(1.0) = 0.4925):
    >>> from bnn_init.theory.maps import Chain, Pointwise
    >>> from bnn_init.theory.moments import Moments
    >>> from bnn_init.theory.pointwise import Erf
    >>> layer = Chain((Pointwise(Erf()), NoiseNormalisedLinear(mean_square=0.99)))
    >>> round(layer.forward(Moments.uniform(0.0, 1.0, 0.5)).q, 4)
    0.4925
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .moments import Moments, channel_derivative_moment, pointwise

__all__ = ["NoiseNormalisedLinear", "StochasticBinary"]


@dataclass(frozen=True)
class StochasticBinary:
    """x = +-1 with mean f(h), independent noise for each input (module docstring):
    mean' = E[f], q' = 1, pair' = E[f(h_a) f(h_b)]. Backward: E[f'^2] (the gradient of the
    mean, as the surrogates train)."""

    mean_function: object

    def forward(self, x: Moments) -> Moments:
        means = pointwise(x, self.mean_function)
        return Moments(means.channel_mean, 1.0, means.channel_pair)

    def backward(self, delta, x: Moments):
        return (channel_derivative_moment(x, self.mean_function) * delta,)


@dataclass(frozen=True)
class NoiseNormalisedLinear:
    """The field of +-1 weights with means of second moment s_m on +-1 neurons with means x,
    over the standard deviation of its sampling noise (Stamatescu et al. 2019, eq. 13): the noise
    variance is E[W^2 x^2] - E[M^2] E[x]^2 = 1 - s_m q_x, so

        q' = (s_m q + s_b) / (1 - s_m q),   pair' = (s_m pair + s_b) / (1 - s_m q),   mean' = 0,
    with q, pair the input's (the neuron means'). Backward: s_m / (1 - s_m q) (the normalisation
    held fixed, as in eq. 15)."""

    mean_square: float
    bias_square: float = 0.0

    def _noise(self, x: Moments) -> float:
        noise = 1.0 - self.mean_square * x.q
        if noise <= 0.0:
            raise ValueError(
                f"NoiseNormalisedLinear needs mean_square * q < 1 (neuron means in [-1, 1] and "
                f"mean_square <= 1), got {self.mean_square} * {x.q}"
            )
        return noise

    def forward(self, x: Moments) -> Moments:
        noise, s_m, s_b = self._noise(x), self.mean_square, self.bias_square
        return Moments.uniform(0.0, (s_m * x.q + s_b) / noise, (s_m * x.pair + s_b) / noise)

    def backward(self, delta, x: Moments):
        factor = self.mean_square / self._noise(x)
        return (np.full(x.channels, factor * float(np.mean(delta))),)
