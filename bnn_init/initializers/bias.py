"""Gaussian biases of the variance a mean-field model assumes."""

import math

import tensorflow as tf

from bnn_init.primitives.checks import check_number

from ._base import SeededInitializer


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class CriticalBias(SeededInitializer):
    """b ~ N(0, sigma_b2), the bias distribution of every theory in `bnn_init.theory`.

    Wang (2018), sec. 3, and Stamatescu et al. (2019), sec. 3.2, draw biases from N(0, sigma_b2);
    pass the same sigma_b2 to the kernel initializer (e.g. ``CriticalHardTanhNormal``) so that the
    solved weight variance is the critical one for these biases. ``sigma_b2=0`` gives zeros.

    Example:
        >>> layer = tf.keras.layers.Dense(64, bias_initializer=CriticalBias(0.05, seed=2))

    Args:
        sigma_b2: bias variance, a finite number >= 0.
        seed: None or an integer >= 0; a seeded instance returns the same tensor on every call.
    """

    def __init__(self, sigma_b2=0.0, seed=None):
        super().__init__(seed)
        self.sigma_b2 = check_number("sigma_b2", sigma_b2, low=0.0, low_open=False)

    def sample(self, shape, dtype):
        return math.sqrt(self.sigma_b2) * self.normal(shape, dtype)

    def get_config(self):
        return {"sigma_b2": self.sigma_b2, "seed": self.seed}
