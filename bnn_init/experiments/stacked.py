"""Independent fully connected networks trained side by side as one Keras model.

A depth x sigma_w2 grid trains one network per cell. The networks of one depth differ only in
their initial weight variance, so K of them can share one graph: `StackedDense` keeps K kernels
of shape ``(K, fan_in, units)`` and maps ``(batch, K, fan_in)`` to ``(batch, K, units)`` with one
batched matrix product. The networks share nothing but the mini-batches they see: the training
loss is the sum of their losses (`bnn_init.experiments.loop.train`), so the gradient of each
network's parameters is the gradient of its own loss, and element-wise optimisers (SGD, RMSProp,
Adam) update every network exactly as if it were trained alone. BatchNorm (over the batch axis
only) and dropout (independent masks) keep them apart as well. On 2 CPU cores a grid row of
eight small networks trains 4.5x faster stacked than one model at a time (building and tracing
included; ``benchmarks/bench_experiments.py``), which keeps the default grids of ``bnn-init
reproduce`` under 30 minutes.

Example:
    >>> model = stacked_mlp(depth=3, width=32, n_in=64, n_out=10, weight_variances=[1.0, 1.76])
    >>> model(np.zeros((5, 64), "float32")).shape
    TensorShape([5, 2, 10])
"""

from __future__ import annotations

import larq as lq
import numpy as np
import tensorflow as tf

from bnn_init.primitives.checks import check_choice, check_range

__all__ = ["StackedDense", "stacked_mlp", "stacked_surrogate_mlp", "unstacked_network"]


class StackedDense(tf.keras.layers.Layer):
    """K independent dense layers: ``z_k = q(x_k) q(W_k) + b_k`` for k = 1..K.

    Kernels ``W_k ~ N(0, weight_variances[k] / fan_in)`` (Schoenholz et al. (2017) sec. 2, with
    sigma_w2 per network), biases ``b_k ~ N(0, bias_variance)``; ``q`` are the optional Larq
    quantizers of the inputs and kernels (as in ``larq.layers.QuantDense``); ``activation`` is
    applied to ``z``. Inputs are ``(batch, fan_in)`` (the same data for every network: the first
    layer) or ``(batch, K, fan_in)``; outputs ``(batch, K, units)``.
    """

    def __init__(
        self,
        units,
        weight_variances,
        bias_variance=0.0,
        *,
        activation=None,
        input_quantizer=None,
        kernel_quantizer=None,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        variances = check_range("weight_variances", weight_variances, low=0.0, low_open=True)
        self.weight_variances = variances.reshape(-1)
        self.bias_variance = float(check_range("bias_variance", bias_variance, low=0.0))
        self.activation = tf.keras.activations.get(activation)
        self.input_quantizer = lq.quantizers.get(input_quantizer)
        self.kernel_quantizer = lq.quantizers.get(kernel_quantizer)
        self.seed = int(seed)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        std = np.sqrt(self.weight_variances / fan_in)[:, None, None]

        def kernel_init(shape, dtype=None):
            return tf.random.stateless_normal(shape, (self.seed, 0), dtype=dtype) * std

        def bias_init(shape, dtype=None):
            noise = tf.random.stateless_normal(shape, (self.seed, 1), dtype=dtype)
            return noise * np.sqrt(self.bias_variance)

        n_nets = len(self.weight_variances)
        self.kernel = self.add_weight(
            name="kernel", shape=(n_nets, fan_in, self.units), initializer=kernel_init
        )
        self.bias = self.add_weight(name="bias", shape=(n_nets, self.units), initializer=bias_init)
        super().build(input_shape)

    def preactivation(self, inputs):
        """``z = q(x) q(W) + b``, the layer's output before ``activation``."""
        x = inputs if self.input_quantizer is None else self.input_quantizer(inputs)
        w = self.kernel if self.kernel_quantizer is None else self.kernel_quantizer(self.kernel)
        pattern = "bi,kio->bko" if inputs.shape.rank == 2 else "bki,kio->bko"
        return tf.einsum(pattern, x, w) + self.bias

    def call(self, inputs):
        return self.activation(self.preactivation(inputs))


def stacked_mlp(
    depth,
    width,
    n_in,
    n_out,
    weight_variances,
    *,
    bias_variance=0.0,
    activation=None,
    quantizer=None,
    batchnorm=False,
    readout_batchnorm=False,
    dropout_rate=0.0,
    dropout_layers="all",
    seed=0,
):
    """K = len(weight_variances) MLPs of ``depth`` hidden layers of ``width`` units and a linear
    readout, one per weight variance, as one Keras model with logits ``(batch, K, n_out)``.

    Every hidden layer is a `StackedDense` with ``activation``, followed by BatchNormalization
    (statistics per network and unit) when ``batchnorm`` and by ``Dropout(dropout_rate)`` after
    every hidden layer (``dropout_layers="all"``) or after the first only (``"first"``);
    ``readout_batchnorm`` normalises the logits as well (BinaryNet's last layer, Courbariaux et
    al. 2016, whose +-1 readouts have logits of standard deviation sqrt(width)).
    ``quantizer`` (a Larq quantizer or its name) binarises every kernel and the input of every
    layer but the first (Wang (2018) eq. 7 with ``bnn_init.quantizers.HardTanh``). All seeds are
    derived from ``seed``.
    """
    check_choice("dropout_layers", dropout_layers, ("all", "first"))
    check_range("dropout_rate", dropout_rate, low=0.0, high=1.0, high_open=True)
    inputs = tf.keras.Input((n_in,))
    h = inputs
    for i in range(depth + 1):
        last = i == depth
        h = StackedDense(
            n_out if last else width,
            weight_variances,
            bias_variance,
            activation=None if last else activation,
            input_quantizer=None if i == 0 else quantizer,
            kernel_quantizer=quantizer,
            seed=seed * 10_007 + i,
        )(h)
        if last:
            if readout_batchnorm:
                h = tf.keras.layers.BatchNormalization(axis=(1, 2))(h)
            break
        if batchnorm:
            h = tf.keras.layers.BatchNormalization(axis=(1, 2))(h)
        if dropout_rate > 0 and (dropout_layers == "all" or i == 0):
            h = tf.keras.layers.Dropout(dropout_rate, seed=seed * 10_007 + 5_003 + i)(h)
    return tf.keras.Model(inputs, h)


class _StackedDenseGeometry:
    """K fully connected surrogate layers side by side: kernel (K, N, units), bias (K, units),
    inputs (batch, N) (the data, shared) or (batch, K, N), outputs (batch, K, units)."""

    geometry = "dense"

    def _init_geometry(self, units, networks):
        self.units, self.networks = int(units), int(networks)

    def _kernel_shape(self, input_shape):
        return (self.networks, int(input_shape[-1]), self.units)

    def _kernel_fan_in(self, shape):
        return shape[1]

    def _bias_shape(self, shape):
        return (shape[0], shape[2])

    def _contract(self, x, kernel):
        return tf.einsum("bi,kio->bko" if x.shape.rank == 2 else "bki,kio->bko", x, kernel)

    def _box_sum(self, z):
        total = tf.reduce_sum(z, axis=-1, keepdims=True)
        return total[:, None, :] if z.shape.rank == 2 else total

    def _count(self, x):
        return tf.constant(float(self.fan_in), x.dtype)


def _stacked_surrogate_class(kind):
    from bnn_init.layers.deterministic import _DeterministicSurrogate
    from bnn_init.layers.lrt import _LRTSurrogate

    base = {"deterministic": _DeterministicSurrogate, "lrt": _LRTSurrogate}[kind]

    class StackedSurrogateDense(_StackedDenseGeometry, base):
        def __init__(self, units, networks, **kwargs):
            super().__init__(**kwargs)
            self._init_geometry(units, networks)

    return StackedSurrogateDense


def stacked_surrogate_mlp(kind, depth, width, n_in, n_out, networks, **layer_kwargs):
    """K = ``networks`` surrogate MLPs of a stochastic binary network (Stamatescu et al. (2019);
    `bnn_init.nets.surrogate_mlp`: ``depth`` layers in all, the last returning its field as
    logits) as one Keras model with logits ``(batch, K, n_out)``; ``kind`` "deterministic"
    (``layer_kwargs``: ``kappa``) or "lrt" (continuous tanh neurons, ``seed``). Each layer
    computes exactly what `bnn_init.layers.DeterministicSurrogateDense` /
    `bnn_init.layers.LRTSurrogateDense` computes, for every network on its own kernel slice
    ``kernel[k]`` and bias ``bias[k]``; `unstacked_network` copies one network out.
    """
    check_choice("kind", kind, ("deterministic", "lrt"))
    layer_class = _stacked_surrogate_class(kind)
    if kind == "lrt":
        layer_kwargs = dict(layer_kwargs, neurons="continuous")
    inputs = tf.keras.Input((n_in,))
    h = inputs
    for i in range(depth):
        last = i == depth - 1
        input_kind = "real" if i == 0 or kind == "lrt" else "means"
        h = layer_class(
            n_out if last else width,
            networks,
            input_kind=input_kind,
            return_field=last,
            **layer_kwargs,
        )(h)
    return tf.keras.Model(inputs, h)


def unstacked_network(stacked, k, single):
    """Copy network ``k`` of a `stacked_surrogate_mlp` into ``single``, a built
    `bnn_init.nets.surrogate_mlp` model of the same depth and widths; return ``single``."""
    layers = [layer for layer in stacked.layers if hasattr(layer, "networks")]
    targets = [layer for layer in single.layers if hasattr(layer, "kernel")]
    if len(layers) != len(targets):
        raise ValueError(f"stacked has {len(layers)} layers, single {len(targets)}")
    for source, target in zip(layers, targets, strict=True):
        target.kernel.assign(source.kernel[k])
        target.bias.assign(source.bias[k])
    return single
