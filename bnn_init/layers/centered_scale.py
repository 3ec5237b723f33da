"""Centring with a fixed scale: BatchNorm without the batch standard deviation (Sari et al. (2019)).

Sari et al. (2019), sec. 4 and Table 2: in a binary network BatchNorm's essential job is to centre
the binary dot products and to divide them by a scale that keeps gradients from exploding; the
batch standard deviation can be replaced by the constant sqrt(K_(l-1)), K_(l-1) the fan-in of the
binary layer (a dot product of K terms +-1 has variance K), "Centred, fixed scale" in Table 2.
"""

from __future__ import annotations

import math
import numbers

import tensorflow as tf

from bnn_init.primitives import fan_in
from bnn_init.primitives.checks import check_number

__all__ = ["CenteredScale"]


def _kernel_fan_in(layer) -> int | None:
    """Fan-in of a layer with a Dense or ConvND kernel, None without one."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None or len(kernel.shape) < 2:
        return None
    return fan_in(kernel.shape)


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class CenteredScale(tf.keras.layers.Layer):
    """y = (x - mu) / sqrt(v) (+ beta): mini-batch centring and a fixed variance v (Sari et al. (2019)).

    In training mode mu is the mini-batch mean of every channel (over all axes but the last, as
    BatchNorm); the moving mean m <- momentum m + (1 - momentum) mu is updated and used at
    inference, so the inference layer is the per-channel affine map y = x / sqrt(v) + (beta -
    m / sqrt(v)), which folds into the preceding layer's bias and output scale for export.
    Sari et al. (2019), sec. 4: BatchNorm divides by the batch standard deviation; they replace its
    variance by the constant K_(l-1), the fan-in of the binary layer before ("Centred, fixed
    scale", Table 2), and close the gap to BatchNorm with 2 K_(l-1) or 3 K_(l-1).

    ``scale="fan_in"`` sets v = fan_in (times ``multiplier``), where fan_in is read from the kernel
    of the layer that produces this layer's input when the model is built with Keras' functional
    or Sequential API (or given as ``fan_in=``); a number sets v directly (``scale=1.0`` is
    centring only). ``center=True`` adds a trainable offset beta per channel, BatchNorm's beta
    (the threshold of a following sign).

    Example:
        >>> import larq as lq
        >>> model = tf.keras.Sequential([
        ...     tf.keras.Input((8, 8, 16)),
        ...     lq.layers.QuantConv2D(32, 3, input_quantizer="ste_sign",
        ...                           kernel_quantizer="ste_sign", use_bias=False),
        ...     CenteredScale("fan_in")])        # divides by sqrt(3 * 3 * 16) = 12
        >>> model.layers[-1].variance
        144.0

    Args:
        scale: "fan_in" or the variance v, a finite number > 0.
        fan_in: the fan-in for ``scale="fan_in"`` (an int >= 1), or None to read it from the
            producing layer's kernel.
        multiplier: factor on fan_in for ``scale="fan_in"``, a finite number > 0 (Sari: 2 or 3).
        momentum: of the moving mean, in [0, 1).
        center: add a trainable per-channel offset beta (initialised to 0).
    """

    def __init__(
        self, scale="fan_in", fan_in=None, multiplier=1.0, momentum=0.99, center=True, **kwargs
    ):
        super().__init__(**kwargs)
        if isinstance(scale, str):
            if scale != "fan_in":
                raise ValueError(f"scale must be 'fan_in' or a number > 0, got {scale!r}")
        else:
            scale = check_number("scale", scale, low=0.0, low_open=True)
        if fan_in is not None:
            if isinstance(fan_in, bool) or not isinstance(fan_in, numbers.Integral) or fan_in < 1:
                raise ValueError(f"fan_in must be None or an int >= 1, got {fan_in!r}")
            fan_in = int(fan_in)
        self.scale = scale
        self.fan_in = fan_in
        self.multiplier = check_number("multiplier", multiplier, low=0.0, low_open=True)
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, numbers.Real)
            or not (0.0 <= momentum < 1.0)
        ):
            raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.center = bool(center)

    def __call__(self, inputs, *args, **kwargs):
        # Functional / Sequential construction: inputs carry the layer that produced them.
        if self.scale == "fan_in" and self.fan_in is None:
            history = getattr(inputs, "_keras_history", None)
            if history is not None:
                self.fan_in = _kernel_fan_in(history.layer)
        return super().__call__(inputs, *args, **kwargs)

    @property
    def variance(self) -> float:
        """The fixed variance v the centred input is divided by (its square root)."""
        if self.scale != "fan_in":
            return float(self.scale)
        if self.fan_in is None:
            raise ValueError(
                f"{self.name}: scale='fan_in' needs the fan-in, and the layer producing the input "
                "has no Dense/Conv kernel to read it from; pass fan_in=K or a number as scale"
            )
        return self.multiplier * self.fan_in

    def build(self, input_shape):
        channels = int(input_shape[-1])
        _ = self.variance  # raises here, at build, when fan_in is unknown
        self.moving_mean = self.add_weight(
            name="moving_mean", shape=(channels,), initializer="zeros", trainable=False
        )
        self.beta = (
            self.add_weight(name="beta", shape=(channels,), initializer="zeros")
            if self.center
            else None
        )
        super().build(input_shape)

    def call(self, inputs, training=None):
        if training is None:
            training = tf.keras.backend.learning_phase()
        inv = 1.0 / math.sqrt(self.variance)
        if training:
            axes = list(range(len(inputs.shape) - 1))
            mean = tf.reduce_mean(inputs, axis=axes)
            self.moving_mean.assign_sub(
                (1.0 - self.momentum) * (self.moving_mean - tf.stop_gradient(mean))
            )
        else:
            mean = self.moving_mean
        outputs = (inputs - mean) * inv
        return outputs + self.beta if self.center else outputs

    def folded(self):
        """(multiplier a, offset b) of the inference map y = a x + b, per channel (numpy)."""
        inv = 1.0 / math.sqrt(self.variance)
        offset = -self.moving_mean.numpy() * inv
        if self.center:
            offset = offset + self.beta.numpy()
        return inv, offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "fan_in": self.fan_in,
            "multiplier": self.multiplier,
            "momentum": self.momentum,
            "center": self.center,
        }
