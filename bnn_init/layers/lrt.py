"""Local-reparameterisation (LRT) surrogate of a stochastic binary network.

Stamatescu et al. (2019), eq. 8 (and eq. 18): the Gaussian field of the stochastic network is
sampled instead of integrated. For unit i with inputs x_j (j = 1..N) and weight means M_ij,

    h_i = (1/sqrt(N)) sum_j M_ij x_j + b_i + sqrt(V_i / N) eps_i,    eps_i ~ N(0, 1),
    x_i' = phi(h_i) = tanh(h_i),

with eps drawn independently per example and unit in training (at inference eps = 0: the field
is its mean; call the layer with ``training=True`` to sample). The variance sum V_i is

* ``neurons="binary"`` (stochastic binary neurons whose mean is tanh(h)): inputs are neuron means,
  V_i = sum_j (1 - M_ij^2 x_j^2) (Stamatescu et al. 2019, eq. 18), so that q' = 1 + sigma_b2 (eq. 19);
* ``neurons="continuous"`` (tanh neurons, only the weights are binary): inputs are real values,
  V_i = sum_j (1 - M_ij^2) x_j^2 (erratum 8; Stamatescu et al. 2019, footnote 2), so that q' = E[phi^2] + sigma_b2
  (eq. 21).

The first layer of a binary-neuron stack sees real inputs: give it ``input_kind="real"``.
At initialisation the layers follow `bnn_init.theory.LRTSurrogate(sigma_m2, sigma_b2, neurons)`.
"""

from __future__ import annotations

import math

import tensorflow as tf

from bnn_init.initializers._base import check_seed
from bnn_init.primitives.checks import check_choice

from .geometry import Conv2DGeometry, DenseGeometry
from .means import SurrogateLayer

__all__ = ["NEURONS", "LRTSurrogateConv2D", "LRTSurrogateDense"]

NEURONS = ("binary", "continuous")


class _LRTSurrogate(SurrogateLayer):
    """h = A / sqrt(N) + b + sqrt(V / N + epsilon) eps (Stamatescu et al. 2019, eq. 8), phi = tanh."""

    def __init__(self, neurons="binary", seed=None, **kwargs):
        self.neurons = check_choice("neurons", neurons, NEURONS)
        super().__init__(**kwargs)
        if self.neurons == "continuous" and self.input_kind == "means":
            raise ValueError(
                "input_kind='means' with neurons='continuous': the inputs of a continuous-neuron "
                "layer are real values, whose variance term is (1 - M^2) x^2 (erratum 8); use "
                "input_kind='real' or None"
            )
        self.seed = check_seed(seed)

    def _default_input_kind(self):
        return "means" if self.neurons == "binary" else "real"

    def field(self, inputs, training=None):
        mean, variance = self.moment_sums(inputs)
        n = float(self.fan_in)
        h = mean / math.sqrt(n) + self._bias(mean.dtype)
        if training is None:
            training = tf.keras.backend.learning_phase()
        if not training:
            return h
        noise = tf.random.normal(tf.shape(h), dtype=h.dtype, seed=self.seed)
        return h + tf.sqrt(variance / n + self.epsilon) * noise

    def neuron(self, h):
        return tf.math.tanh(h)

    def get_config(self):
        return {**super().get_config(), "neurons": self.neurons, "seed": self.seed}


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class LRTSurrogateDense(DenseGeometry, _LRTSurrogate):
    """Fully connected LRT surrogate layer (Stamatescu et al. (2019), eqs. 8, 18, 21).

    Output tanh(h_i), h_i = (1/sqrt(N)) sum_j M_ij x_j + b_i + sqrt(V_i / N) eps_i (see
    `bnn_init.layers.lrt`); the kernel holds the means M (in [-1, 1]).

    Example:
        >>> model = tf.keras.Sequential([
        ...     tf.keras.Input((64,)),
        ...     LRTSurrogateDense(256, neurons="continuous"),    # inputs are real by default
        ...     LRTSurrogateDense(256, neurons="continuous"),
        ...     LRTSurrogateDense(10, neurons="continuous", return_field=True)])
        >>> model.layers[0].input_kind
        'real'

    Args:
        units: output width.
        neurons: "binary" (stochastic binary neurons with mean tanh) or "continuous" (tanh).
        seed: None or an integer >= 0, the op seed of the noise eps.
        **kwargs: ``kernel_initializer`` (default ``BinaryMeans(0.99)``), ``bias_initializer``,
            ``use_bias``, ``input_kind`` (default "means" for binary and "real" for continuous
            neurons; give the first layer of a binary-neuron stack "real"), ``return_field``,
            ``epsilon`` (see `bnn_init.layers.means.SurrogateLayer`).
    """

    def __init__(self, units, neurons="binary", seed=None, **kwargs):
        super().__init__(neurons=neurons, seed=seed, **kwargs)
        self._init_geometry(units)

    def get_config(self):
        return {**super().get_config(), **self._geometry_config()}


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class LRTSurrogateConv2D(Conv2DGeometry, _LRTSurrogate):
    """2-D convolutional LRT surrogate layer (Stamatescu et al. 2019, eq. 8, N = kh kw c_in).

    Example:
        >>> layer = LRTSurrogateConv2D(16, 3, neurons="binary", input_kind="real")
        >>> layer(tf.zeros((2, 8, 8, 1)), training=True).shape
        TensorShape([2, 6, 6, 16])

    Args:
        filters: output channels.
        kernel_size: an integer or a pair.
        strides: an integer or a pair (default 1).
        padding: "valid" or "same"; padded inputs are real zeros.
        neurons: "binary" or "continuous".
        seed: None or an integer >= 0.
        **kwargs: as for `LRTSurrogateDense`.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        neurons="binary",
        seed=None,
        **kwargs,
    ):
        super().__init__(neurons=neurons, seed=seed, **kwargs)
        self._init_geometry(filters, kernel_size, strides, padding)

    def get_config(self):
        return {**super().get_config(), **self._geometry_config()}
