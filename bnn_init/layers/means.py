"""Means of stochastic binary weights: the [-1, 1] constraint and what all surrogate layers share.

A surrogate layer (Stamatescu et al. (2019), sec. 2.3) holds the means M_ij = E[S_ij] of stochastic
binary weights S_ij in {-1, +1}, so M must stay in [-1, 1]. bnn-init keeps M as the layer's
``kernel`` and projects it back onto [-1, 1] after every optimizer step (`MeansConstraint`,
projected gradient descent) rather than parameterising M = f(theta) with a bounded f such as tanh:

* the paper recommends means near +-1 at initialisation (sigma_m2 -> 1, Stamatescu et al. 2019, sec. 3 and Fig. 2);
  with M = tanh(theta) the gradient reaching theta is scaled by dM/dtheta = 1 - M^2, i.e. 100 times
  smaller at M = +-0.995 (sigma_m2 = 0.99) than at M = 0, exactly where training should start,
  and M = +-1 (sigma_m2 = 1) would need an infinite theta;
* the kernel *is* M, so the initializer's law (``BinaryMeans(sigma_m2)``) is the law of the means
  that the theory (`bnn_init.theory.describe`) reads, and ``sign(kernel)`` is the most likely
  binary weight.

The forward pass reads M through `SurrogateLayer.means` = clip(kernel, -1, 1): the identity on
every kernel the constraint produces (and its gradient passes at +-1, so a mean can leave the
bound again); it only guards the variance terms 1 - M^2 against weights set by hand.
"""

from __future__ import annotations

import math
import numbers

import tensorflow as tf

from bnn_init.initializers import BinaryMeans
from bnn_init.primitives import fan_in

__all__ = ["INPUT_KINDS", "MeansConstraint", "SurrogateLayer"]

#: What a surrogate layer's inputs are: "means" of stochastic binary neurons (the outputs of a
#: previous surrogate layer with binary neurons, variance term 1 - M^2 x^2, Stamatescu et al. 2019, Assumption 1) or
#: "real" deterministic values (network inputs, continuous neurons: (1 - M^2) x^2, Stamatescu et al. 2019, footnote 2,
#: erratum 8).
INPUT_KINDS = ("means", "real")


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class MeansConstraint(tf.keras.constraints.Constraint):
    """Projects weight means onto [-1, 1] after each optimizer step: M <- clip(M, -1, 1).

    Means of +-1 weights, M = E[S] with S in {-1, +1} (Stamatescu et al. (2019), sec. 2.2). Every
    surrogate layer uses it for its kernel (see the module docstring for why a constraint).

    Example:
        >>> MeansConstraint()(tf.constant([-1.5, 0.3, 2.0])).numpy().tolist()
        [-1.0, 0.30000001192092896, 1.0]
    """

    def __call__(self, w):
        return tf.clip_by_value(w, -1.0, 1.0)

    def get_config(self):
        return {}


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check_epsilon(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"epsilon must be a number in (0, 1], got {value!r}")
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise ValueError(f"epsilon must be a number in (0, 1], got {value!r}")
    return float(value)


class SurrogateLayer(tf.keras.layers.Layer):
    """Base of the four surrogate layers: means M (the kernel), bias b, and the moment sums.

    For the inputs x of one output unit i (the receptive field j = 1..N, N the fan-in) it computes
    the mean sum A_i = sum_j M_ij x_j and the variance sum V_i of the Gaussian field of the
    stochastic binary network (Stamatescu et al. 2019, Assumption 1 and footnote 2):

    * ``input_kind="means"``: x_j are means of stochastic binary neurons,
      V_i = sum_j (1 - M_ij^2 x_j^2);
    * ``input_kind="real"``: x_j are deterministic real values (network inputs, continuous
      neurons), V_i = sum_j (1 - M_ij^2) x_j^2.

    Subclasses define the field h from (A, V, b) (`field`) and the neuron mean phi(h); a geometry
    mixin (Dense or Conv2D) defines the contraction sum_j. Inputs of a "same"-padded convolution
    that fall outside the image count as real zeros (no mean, no variance).

    Args (shared by all surrogate layers):
        kernel_initializer: initializer of the means M (default ``BinaryMeans(0.99)``); a Keras
            initializer object, name or config.
        bias_initializer: initializer of b (default zeros; ``CriticalBias(sigma_b2)`` draws
            N(0, sigma_b2), the biases of the theory).
        use_bias: whether the layer has a bias.
        input_kind: "means", "real" or None (the layer's default, see the subclass).
        return_field: output the field h itself instead of the neuron mean phi(h) (for the last
            layer: the logits of a classifier).
        epsilon: variance floor per input, added as N * epsilon to V (keeps the field finite when
            every mean and input has reached +-1), in (0, 1].
    """

    #: "dense" or "conv2d", set by the geometry mixin.
    geometry = None

    def __init__(
        self,
        kernel_initializer=None,
        bias_initializer="zeros",
        use_bias=True,
        input_kind=None,
        return_field=False,
        epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kernel_initializer is None:
            kernel_initializer = BinaryMeans(0.99)
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
        self.bias_initializer = tf.keras.initializers.get(bias_initializer)
        self.use_bias = _check_bool("use_bias", use_bias)
        if input_kind is not None and input_kind not in INPUT_KINDS:
            raise ValueError(
                f"input_kind must be None or one of {list(INPUT_KINDS)}, got {input_kind!r}"
            )
        self.input_kind = input_kind if input_kind is not None else self._default_input_kind()
        self.return_field = _check_bool("return_field", return_field)
        self.epsilon = _check_epsilon(epsilon)
        self.fan_in = None

    def _default_input_kind(self):
        return "means"

    # ---- weights ------------------------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        shape = self._kernel_shape(input_shape)
        self.fan_in = self._kernel_fan_in(shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=shape,
            initializer=self.kernel_initializer,
            constraint=MeansConstraint(),
            trainable=True,
        )
        self.bias = (
            self.add_weight(
                name="bias",
                shape=self._bias_shape(shape),
                initializer=self.bias_initializer,
                trainable=True,
            )
            if self.use_bias
            else None
        )
        super().build(input_shape)

    def _kernel_fan_in(self, shape):
        """N, the number of inputs each output unit sums (a geometry may say otherwise)."""
        return fan_in(shape)

    def _bias_shape(self, shape):
        return (shape[-1],)

    @property
    def means(self):
        """The weight means M as a tensor (clip(kernel, -1, 1); see the module docstring)."""
        return tf.clip_by_value(tf.convert_to_tensor(self.kernel), -1.0, 1.0)

    # ---- moments ------------------------------------------------------------------------------
    def moment_sums(self, inputs):
        """(A, V): A_i = sum_j M_ij x_j and V_i (see the class docstring), V >= 0."""
        x = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
        m = tf.cast(self.means, x.dtype)
        x2 = tf.square(x)
        first = self._count(x) if self.input_kind == "means" else self._box_sum(x2)
        variance = first - self._contract(x2, tf.square(m))
        # float32 rounding can take a variance of exactly 0 slightly below it
        return self._contract(x, m), tf.nn.relu(variance)

    def _bias(self, dtype):
        return tf.cast(self.bias, dtype) if self.use_bias else tf.constant(0.0, dtype)

    def field(self, inputs, training=None):
        """The pre-activation field h of the layer (before phi)."""
        raise NotImplementedError

    def neuron(self, h):
        """phi(h): the mean of the layer's neurons given the field."""
        raise NotImplementedError

    def call(self, inputs, training=None):
        h = self.field(inputs, training=training)
        return h if self.return_field else self.neuron(h)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": tf.keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": tf.keras.initializers.serialize(self.bias_initializer),
            "use_bias": self.use_bias,
            "input_kind": self.input_kind,
            "return_field": self.return_field,
            "epsilon": self.epsilon,
        }
