"""The two Keras layers the exporter inserts into a model; both convert to plain TFLite ops.

* :class:`FakeQuant` marks an int8 range for the converter (:mod:`bnn_init.export.int8`).
* :class:`AddConstant` adds a fixed tensor, e.g. the zero-padding correction of
  :mod:`bnn_init.export.rewrite`.
"""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class FakeQuant(tf.keras.layers.Layer):
    """Identity in float, marking an int8 range for the LCE/TFLite converter.

    Forward: ``tf.quantization.fake_quant_with_min_max_args(x, min, max, num_bits=8)``, i.e. x
    clipped to [min, max] and rounded to one of 256 levels. The range is nudged so that 0 is a
    level: [-2, 2] becomes [-1.992, 2.008] (steps of 4 / 255).

    Example:
        >>> layer = FakeQuant(min=-2.0, max=2.0)
        >>> [round(v, 3) for v in layer(tf.constant([3.0, -5.0, 0.0])).numpy().tolist()]
        [2.008, -1.992, 0.0]
    """

    def __init__(self, min: float = -6.0, max: float = 6.0, **kwargs):
        super().__init__(**kwargs)
        if not float(min) < float(max):
            raise ValueError(f"min, max = {min}, {max}: need min < max")
        self.min, self.max = float(min), float(max)

    def call(self, inputs):
        return tf.quantization.fake_quant_with_min_max_args(inputs, self.min, self.max, num_bits=8)

    def get_config(self):
        return {**super().get_config(), "min": self.min, "max": self.max}


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class AddConstant(tf.keras.layers.Layer):
    """y = x + C for a fixed tensor C of the per-example shape ``shape`` (a non-trainable weight).

    Computed as ``add_n([x, broadcast_to(C)])``, which converts to one ADD_N op: LCE 0.16 fuses a
    plain ADD of a constant that follows a binary convolution into the convolution's
    per-channel bias without checking the constant's shape ("TODO: Check shapes before fusing"
    in its optimize_patterns_common.td), and the interpreter then rejects the file.

    Example:
        >>> import numpy as np
        >>> layer = AddConstant(shape=(2,))
        >>> layer.build((None, 2)); layer.set_weights([np.array([1.0, -1.0])])
        >>> layer(tf.zeros((1, 2))).numpy().tolist()
        [[1.0, -1.0]]
    """

    def __init__(self, shape=(), **kwargs):
        super().__init__(**kwargs)
        self.shape = tuple(int(d) for d in shape)

    def build(self, input_shape):
        self.constant = self.add_weight(
            name="constant", shape=self.shape, initializer="zeros", trainable=False
        )
        super().build(input_shape)

    def call(self, inputs):
        return tf.math.add_n([inputs, tf.broadcast_to(self.constant, tf.shape(inputs))])

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}


def custom_objects() -> dict:
    """Classes a rebuilt export model may contain beyond Keras' own."""
    import larq as lq

    return {
        "QuantDense": lq.layers.QuantDense,
        "QuantConv2D": lq.layers.QuantConv2D,
        "QuantDepthwiseConv2D": lq.layers.QuantDepthwiseConv2D,
        "FakeQuant": FakeQuant,
        "AddConstant": AddConstant,
    }


__all__ = ["AddConstant", "FakeQuant", "custom_objects"]
