"""Deterministic (moment-propagation) surrogate of a stochastic binary network.

Stamatescu et al. (2019), eq. 7 in the form of eq. 12: the mean of every neuron is propagated
analytically. For unit i with inputs x_j (j = 1..N, N the fan-in) and weight means M_ij,

    h_i = (sum_j M_ij x_j + sqrt(N) b_i) / sqrt(V_i),      x_i' = phi(h_i) = erf(kappa h_i),

V_i = sum_j (1 - M_ij^2 x_j^2) when x_j are means of binary neurons (hidden layers, Stamatescu et al. 2019, eq. 5) and
V_i = sum_j (1 - M_ij^2) x_j^2 for real, non-random inputs (first layer, Stamatescu et al. 2019, footnote 2). kappa =
1/sqrt(2) is a deterministic sign neuron fed by the Gaussian field (Stamatescu et al. 2019, App. A, eq. 27); kappa =
sqrt(pi)/2 matches tanh (Stamatescu et al. 2019, eqs. 29-34). Gradients flow through the variance V as well as the
mean: Stamatescu et al. 2019, sec. 2.3 backpropagates through Sigma^(-1/2), which Soudry et al. (2014) dropped.

At initialisation, M with variance sigma_m2 and b ~ N(0, sigma_b2), the layer follows
`bnn_init.theory.DeterministicSurrogate(sigma_m2, sigma_b2, kappa)`:
q' = (sigma_m2 E[phi^2] + sigma_b2) / (1 - sigma_m2 E[phi^2]) (Stamatescu et al. 2019, eq. 13) and the correlation
map of erratum 6.
"""

from __future__ import annotations

import math

import tensorflow as tf

from bnn_init.primitives.checks import check_number
from bnn_init.theory.activations import SIGN_NEURON_KAPPA

from .geometry import Conv2DGeometry, DenseGeometry
from .means import SurrogateLayer

__all__ = ["DeterministicSurrogateConv2D", "DeterministicSurrogateDense"]


class _DeterministicSurrogate(SurrogateLayer):
    """h = (A + sqrt(N) b) / sqrt(V + N epsilon), phi(h) = erf(kappa h) (Stamatescu et al. 2019, eq. 12)."""

    def __init__(self, kappa=SIGN_NEURON_KAPPA, **kwargs):
        super().__init__(**kwargs)
        self.kappa = check_number("kappa", kappa, low=0.0, low_open=True)

    def field(self, inputs, training=None):
        mean, variance = self.moment_sums(inputs)
        n = float(self.fan_in)
        numerator = mean + math.sqrt(n) * self._bias(mean.dtype)
        return numerator * tf.math.rsqrt(variance + n * self.epsilon)

    def neuron(self, h):
        return tf.math.erf(self.kappa * h)

    def get_config(self):
        return {**super().get_config(), "kappa": self.kappa}


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class DeterministicSurrogateDense(DenseGeometry, _DeterministicSurrogate):
    """Fully connected deterministic surrogate layer (Stamatescu et al. (2019), eqs. 7 and 12).

    Output erf(kappa h_i) with h_i = (sum_j M_ij x_j + sqrt(N) b_i) / sqrt(V_i) (see
    `bnn_init.layers.deterministic`); the kernel holds the means M (in [-1, 1]).

    Example:
        >>> model = tf.keras.Sequential([
        ...     tf.keras.Input((64,)),
        ...     DeterministicSurrogateDense(256, input_kind="real"),    # real inputs (footnote 2)
        ...     DeterministicSurrogateDense(256),                        # means of binary neurons
        ...     DeterministicSurrogateDense(10, return_field=True)])     # logits
        >>> model.layers[1].means.shape
        TensorShape([256, 256])

    Args:
        units: output width.
        kappa: slope of phi(h) = erf(kappa h), > 0 (default 1/sqrt(2): sign neurons).
        **kwargs: ``kernel_initializer`` (default ``BinaryMeans(0.99)``), ``bias_initializer``,
            ``use_bias``, ``input_kind`` ("means" by default; "real" for the first layer),
            ``return_field``, ``epsilon`` (see `bnn_init.layers.means.SurrogateLayer`).
    """

    def __init__(self, units, kappa=SIGN_NEURON_KAPPA, **kwargs):
        super().__init__(kappa=kappa, **kwargs)
        self._init_geometry(units)

    def get_config(self):
        return {**super().get_config(), **self._geometry_config()}


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class DeterministicSurrogateConv2D(Conv2DGeometry, _DeterministicSurrogate):
    """2-D convolutional deterministic surrogate layer (Stamatescu et al. 2019, eqs. 7 and 12, N = kh kw c_in).

    Example:
        >>> layer = DeterministicSurrogateConv2D(16, 3, padding="same", input_kind="real")
        >>> layer(tf.zeros((2, 8, 8, 1))).shape
        TensorShape([2, 8, 8, 16])

    Args:
        filters: output channels.
        kernel_size: an integer or a pair.
        strides: an integer or a pair (default 1).
        padding: "valid" or "same"; padded inputs are real zeros.
        kappa: slope of phi(h) = erf(kappa h), > 0 (default 1/sqrt(2)).
        **kwargs: as for `DeterministicSurrogateDense`.
    """

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", kappa=SIGN_NEURON_KAPPA, **kwargs
    ):
        super().__init__(kappa=kappa, **kwargs)
        self._init_geometry(filters, kernel_size, strides, padding)

    def get_config(self):
        return {**super().get_config(), **self._geometry_config()}
