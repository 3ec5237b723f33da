"""Constant-variance initialisation for BNNs with BatchNorm (Sari et al. (2019))."""

import math

import tensorflow as tf

from bnn_init.primitives.checks import check_choice, check_number

from ._base import SeededInitializer


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class ConstantVariance(SeededInitializer):
    """The same weight variance in every layer, whatever its fan-in (Sari et al. (2019), sec. 4).

    Sign activations discard the scale of their input, and BatchNorm restores unit variance after
    every binary dot product (Sari et al. (2019), eq. 2 and Theorem 1), so the latent weights' scale
    has no effect on the forward pass; what matters is that they are centred and symmetric.
    ``"uniform"`` draws U(-sqrt(3 v), sqrt(3 v)), ``"normal"`` draws N(0, v). Sari et al. found
    v around 1e-3 best on CIFAR-10 (Table 1). The forward pass of such a ``ste_sign`` + BatchNorm
    network is described by `bnn_init.theory.SignNet`.

    Example:
        >>> import larq as lq
        >>> layer = lq.layers.QuantDense(256, input_quantizer="ste_sign",
        ...     kernel_quantizer="ste_sign", kernel_initializer=ConstantVariance(1e-3, seed=0),
        ...     use_bias=False)

    Args:
        variance: the weight variance v, a finite number > 0.
        distribution: ``"uniform"`` or ``"normal"``.
        seed: None or an integer >= 0; a seeded instance returns the same tensor on every call.
    """

    def __init__(self, variance=1e-3, distribution="uniform", seed=None):
        super().__init__(seed)
        self.variance = check_number("variance", variance, low=0.0, low_open=True)
        self.distribution = check_choice("distribution", distribution, ("uniform", "normal"))

    def sample(self, shape, dtype):
        if self.distribution == "normal":
            return math.sqrt(self.variance) * self.normal(shape, dtype)
        return math.sqrt(3.0 * self.variance) * self.uniform(shape, dtype)

    def get_config(self):
        return {"variance": self.variance, "distribution": self.distribution, "seed": self.seed}
