"""Dense and Conv2D geometry of the surrogate layers: which inputs j feed output unit i.

A geometry mixin gives `SurrogateLayer` its kernel shape and three contractions over the
receptive field of each output unit: ``_contract(x, K)`` = sum_j K_ij x_j (a matmul or a
convolution), ``_box_sum(z)`` = sum_j z_j and ``_count(x)`` = the number of inputs j that exist
(N, the fan-in, except at the border of a "same"-padded convolution).
"""

from __future__ import annotations

import numbers

import tensorflow as tf

__all__ = ["Conv2DGeometry", "DenseGeometry"]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _pair(name, value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"{name} must be an integer >= 1 or a pair of them, got {value!r}")
    return tuple(_positive_int(name, v) for v in value)


class DenseGeometry:
    """Fully connected: kernel (N, units), inputs of shape (batch, N)."""

    geometry = "dense"

    def _init_geometry(self, units):
        self.units = _positive_int("units", units)

    def _kernel_shape(self, input_shape):
        if input_shape.rank != 2 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs inputs of shape (batch, features), got {input_shape}; "
                "put a Flatten layer before it"
            )
        return (int(input_shape[-1]), self.units)

    def _contract(self, x, kernel):
        return tf.matmul(x, kernel)

    def _box_sum(self, z):
        return tf.reduce_sum(z, axis=-1, keepdims=True)

    def _count(self, x):
        return tf.constant(float(self.fan_in), x.dtype)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1].concatenate([self.units])

    def _geometry_config(self):
        return {"units": self.units}


class Conv2DGeometry:
    """2-D convolution (channels last): kernel (kh, kw, c_in, filters), N = kh kw c_in."""

    geometry = "conv2d"

    def _init_geometry(self, filters, kernel_size, strides, padding):
        self.filters = _positive_int("filters", filters)
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.strides = _pair("strides", strides)
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding

    def _kernel_shape(self, input_shape):
        if input_shape.rank != 4 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs inputs of shape (batch, height, width, channels), "
                f"got {input_shape}"
            )
        return (*self.kernel_size, int(input_shape[-1]), self.filters)

    def _contract(self, x, kernel):
        return tf.nn.conv2d(x, kernel, strides=self.strides, padding=self.padding.upper())

    def _box_sum(self, z):
        ones = tf.ones((*self.kernel_size, 1, 1), z.dtype)
        return self._contract(tf.reduce_sum(z, axis=-1, keepdims=True), ones)

    def _count(self, x):
        if self.padding == "valid":
            return tf.constant(float(self.fan_in), x.dtype)
        return self._box_sum(tf.ones_like(x[:1]))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = tf.TensorShape(input_shape).as_list()

        def size(n, k, s):
            if n is None:
                return None
            return -(-n // s) if self.padding == "same" else -(-(n - k + 1) // s)

        return tf.TensorShape(
            [
                batch,
                size(height, self.kernel_size[0], self.strides[0]),
                size(width, self.kernel_size[1], self.strides[1]),
                self.filters,
            ]
        )

    def _geometry_config(self):
        return {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
        }
