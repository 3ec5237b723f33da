"""Wang's hard-tanh binarisation B_r as a Larq quantizer.

Wang (2018), sec. 2: B_r(x) = -1 for x <= -r, x / r for -r < x < r, +1 for r <= x, with derivative
B_r'(x) = (1 / r) 1_(-r, r)(x). As r -> 0, B_r tends to Sign; at r = 1 it is the clipped identity of
Courbariaux et al.'s BinaryNet. The mean-field theory of networks that use B_r for weights and
activations is `bnn_init.theory.HardTanhBNN`; networks that use Larq's ``ste_sign`` are described by
`bnn_init.theory.SignNet` instead.
"""

import tensorflow as tf
from larq.quantizers import Quantizer

from bnn_init.primitives.checks import check_number

__all__ = ["HardTanh", "hard_tanh_r"]


def hard_tanh_r(x, r=1.0):
    """B_r(x) = clip(x / r, -1, 1) with gradient (1 / r) 1_(-r, r)(x) (Wang (2018), sec. 2).

    The gradient is zero at |x| = r exactly, as the indicator of the open interval says.

    >>> float(hard_tanh_r(tf.constant(0.2), r=0.4))
    0.5
    """

    @tf.custom_gradient
    def _b_r(x):
        def grad(dy):
            inside = tf.math.less(tf.math.abs(x), r)
            return tf.where(inside, dy / r, tf.zeros_like(dy))

        return tf.clip_by_value(x / r, -1.0, 1.0), grad

    return _b_r(tf.convert_to_tensor(x))


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class HardTanh(Quantizer):
    """Wang's binarisation B_r(x) = clip(x / r, -1, 1) (Wang (2018), sec. 2) as a Larq quantizer.

    Forward: B_r(x); backward: (1 / r) on (-r, r), zero outside. Use it as ``kernel_quantizer`` and
    ``input_quantizer`` of `larq.layers.QuantDense` / `QuantConv2D`; with kernels drawn by
    `bnn_init.initializers.CriticalHardTanhNormal` of the same ``r`` the network is the one
    `bnn_init.theory.HardTanhBNN` describes. The alias ``"hard_tanh_r"`` means ``HardTanh(r=1.0)``.

    The outputs lie in [-1, 1] but are not binary for |x| < r, so ``precision`` is None (Larq's
    summary counts them as full precision).

    Example:
        >>> import larq as lq
        >>> from bnn_init.initializers import CriticalHardTanhNormal
        >>> layer = lq.layers.QuantDense(
        ...     64, input_quantizer=HardTanh(r=0.4), kernel_quantizer=HardTanh(r=0.4),
        ...     kernel_initializer=CriticalHardTanhNormal(r=0.4))

    Args:
        r: half-width of the linear region, a finite number > 0.
    """

    precision = None

    def __init__(self, r=1.0, **kwargs):
        self.r = check_number("r", r, low=0.0, low_open=True)
        super().__init__(**kwargs)

    def call(self, inputs):
        return hard_tanh_r(inputs, r=self.r)

    def get_config(self):
        return {**super().get_config(), "r": self.r}


tf.keras.utils.get_custom_objects()["hard_tanh_r"] = HardTanh
