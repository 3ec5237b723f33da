"""Stacked networks (bnn_init.experiments.stacked) behave as independent networks."""

import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.experiments.loop import train
from bnn_init.experiments.stacked import (
    StackedDense,
    stacked_mlp,
    stacked_surrogate_mlp,
    unstacked_network,
)
from bnn_init.quantizers import HardTanh


def _data(n=96, n_in=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in)).astype("float32")
    return x, (x[:, :3].sum(axis=1) > 0).astype("int64") + 2 * (x[:, 3] > 0)


def test_forward_pass_is_one_dense_network_per_stack_member():
    """Network k of a stack computes tanh(x W_k + b_k) layer by layer, with its own kernels."""
    x, _ = _data()
    model = stacked_mlp(2, 16, 12, 4, [0.5, 1.0, 2.0], bias_variance=0.1, activation="tanh")
    out = model(x).numpy()
    layers = [layer for layer in model.layers if isinstance(layer, StackedDense)]
    for k in range(3):
        h = x
        for i, layer in enumerate(layers):
            z = h @ layer.kernel.numpy()[k] + layer.bias.numpy()[k]
            h = z if i == len(layers) - 1 else np.tanh(z)
        np.testing.assert_allclose(out[:, k], h, rtol=1e-4, atol=1e-5)


def test_kernel_variances_follow_each_network():
    """W_k ~ N(0, sigma_w2[k] / fan_in): the empirical variance of a 512 x 512 kernel."""
    layer = StackedDense(512, [0.25, 1.0, 4.0], seed=3)
    layer.build((None, 512))
    fan_in_var = layer.kernel.numpy().reshape(3, -1).var(axis=1) * 512
    np.testing.assert_allclose(fan_in_var, [0.25, 1.0, 4.0], rtol=0.01)
    np.testing.assert_array_equal(layer.bias.numpy(), 0.0)


def _member(weight, k):
    """Network k's slice of a stacked weight: StackedDense weights are (K, ...), BatchNorm's
    (1, K, units)."""
    axis = 1 if weight.shape.rank == 3 and weight.shape[0] == 1 else 0
    return np.take(weight.numpy(), [k], axis=axis)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_training_a_stack_equals_training_each_network_alone(batchnorm):
    """Summing the losses gives every network the gradient of its own loss, so with Adam the
    network sigma_w2 = 1 of a stack [0.3, 1] ends where it ends when trained alone."""
    data = _data()
    quantizer = HardTanh(1.0)
    stack = stacked_mlp(3, 16, 12, 4, [0.3, 1.0], quantizer=quantizer, batchnorm=batchnorm, seed=1)
    alone = stacked_mlp(3, 16, 12, 4, [1.0], quantizer=quantizer, batchnorm=batchnorm, seed=2)
    for source, target in zip(stack.weights, alone.weights, strict=True):
        target.assign(_member(source, 1))
    runs = [
        train(m, data, steps=30, batch_size=16, optimizer=tf.keras.optimizers.Adam(1e-2), seed=0)
        for m in (stack, alone)
    ]
    assert runs[0][-1]["train_accuracy"].shape == (2,)
    assert runs[0][-1]["train_accuracy"][1] == pytest.approx(runs[1][-1]["train_accuracy"][0])
    assert runs[0][-1]["loss"][1] == pytest.approx(runs[1][-1]["loss"][0], rel=1e-4)
    for source, target in zip(stack.trainable_weights, alone.trainable_weights, strict=True):
        # Adam turns float round-off in near-zero gradients into up to ~5 % of a 1e-2 step
        np.testing.assert_allclose(_member(source, 1), target.numpy(), atol=2e-3)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="weight_variances must lie in"):
        StackedDense(4, [1.0, 0.0])
    with pytest.raises(ValueError, match="bias_variance must lie in"):
        StackedDense(4, [1.0], bias_variance=-1)
    with pytest.raises(ValueError, match="dropout_layers must be one of"):
        stacked_mlp(2, 4, 3, 2, [1.0], dropout_layers="odd")
    with pytest.raises(ValueError, match="dropout_rate must lie in"):
        stacked_mlp(2, 4, 3, 2, [1.0], dropout_rate=1.0)


@pytest.mark.parametrize("kind", ["deterministic", "lrt"])
def test_stacked_surrogates_compute_each_network_as_the_surrogate_layers(kind):
    """Network k of `stacked_surrogate_mlp` is `surrogate_mlp` with kernel[k] and bias[k]
    (means of three different sigma_m2, non-zero biases; inference mode: the field's mean)."""
    from bnn_init.initializers import BinaryMeans
    from bnn_init.nets import surrogate_mlp

    x, _ = _data(n=7, n_in=20)
    stacked = stacked_surrogate_mlp(kind, 4, 16, 20, 10, 3, **_kappa(kind))
    layers = [layer for layer in stacked.layers if hasattr(layer, "networks")]
    for i, layer in enumerate(layers):
        kernels = [
            BinaryMeans(v, seed=10 * i + k)(layer.kernel.shape[1:])
            for k, v in enumerate([0.1, 0.5, 0.99])
        ]
        layer.kernel.assign(tf.stack(kernels))
        layer.bias.assign(tf.random.stateless_normal(layer.bias.shape, (i, 0)) * 0.1)
    out = stacked(x, training=False).numpy()
    single = surrogate_mlp(kind, 4, 16, 20, 10, **_kappa(kind)).model
    for k in range(3):
        expected = unstacked_network(stacked, k, single)(x, training=False).numpy()
        np.testing.assert_allclose(out[:, k], expected, rtol=1e-4, atol=1e-5)


def _kappa(kind):
    return {"kappa": 0.886} if kind == "deterministic" else {}


def test_readout_batchnorm_normalises_the_logits_of_each_network():
    """BinaryNet's last layer: with ``readout_batchnorm`` the +-1 readout's logits have zero
    mean and unit variance per network and class over the batch (training mode)."""
    x, _ = _data(n=256, n_in=12)
    model = stacked_mlp(
        2, 64, 12, 4, [1.0, 2.0], quantizer="ste_sign", batchnorm=True, readout_batchnorm=True
    )
    logits = model(x, training=True).numpy()
    np.testing.assert_allclose(logits.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(logits.std(axis=0), 1.0, atol=1e-2)
