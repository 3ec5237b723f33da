"""Random Larq networks built with bnn-init initializers follow their mean-field theory.

Width-1024, depth-20 QuantDense nets (and a QuantConv2D net) propagate pairs of inputs with
correlation c^0; per layer we measure q^l = mean of h^2 over units and inputs and c^l = mean over
pairs of the cosine of the two pre-activation vectors, and compare with ``model.trajectory`` seeded
with the measured first-layer values: q within 5 %, c within 0.02.
"""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow loads)
from bnn_init.initializers import (
    ConstantVariance,
    CriticalBias,
    CriticalHardTanhNormal,
    HardTanhUniform,
)
from bnn_init.quantizers import HardTanh
from bnn_init.theory import HardTanhBNN, SignNet

WIDTH, DEPTH = 1024, 20
N_NETS = 8  # independent networks per measurement: the theory describes their average


def input_pairs(n_pairs, shape, c0, seed=0):
    """2 n_pairs inputs: rows i and n_pairs + i have correlation c0, all entries of variance 1."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=(2, n_pairs, *shape))
    return np.concatenate([z1, c0 * z1 + np.sqrt(1.0 - c0**2) * z2]).astype("float32")


def measure(model, x):
    """Per-layer q^l and c^l of a model whose outputs are the pre-activations of every layer."""
    n_pairs = x.shape[0] // 2
    q, c = [], []
    for h in model(x):
        h = h.numpy().reshape(x.shape[0], -1).astype(np.float64)
        a, b = h[:n_pairs], h[n_pairs:]
        q.append(np.mean(h**2))
        cosine = np.sum(a * b, 1) / np.sqrt(np.sum(a**2, 1) * np.sum(b**2, 1))
        c.append(np.mean(cosine))
    return np.array(q), np.array(c)


def reseed(model, offset):
    """Redraw every kernel and bias with its own initializer, its seed shifted by ``offset``."""
    for layer in model.layers:
        for name in ("kernel", "bias"):
            variable = getattr(layer, name, None)
            if variable is None:
                continue
            initializer = getattr(layer, f"{name}_initializer")
            config = {**initializer.get_config(), "seed": initializer.seed + offset}
            variable.assign(type(initializer).from_config(config)(variable.shape))


def measure_ensemble(model, x, n_nets=N_NETS):
    """q^l and c^l averaged over ``n_nets`` independent draws of the weights (the theory's mean)."""
    samples = []
    for net in range(n_nets):
        if net:
            reseed(model, 7919 * net)
        samples.append(measure(model, x))
    q, c = np.mean(samples, axis=0)
    return q, c


def assert_follows(theory, q, c):
    trajectory = theory.trajectory(q[0], c[0], len(q))
    np.testing.assert_allclose(q, trajectory.q, rtol=0.05)
    np.testing.assert_allclose(c, trajectory.c, atol=0.02)
    return trajectory


def hard_tanh_dense(r, sigma_b2, kernel_initializer):
    """QuantDense stack; kernel_initializer(l) gives layer l's initializer."""
    inputs = tf.keras.Input((WIDTH,))
    x, outputs = inputs, []
    for layer in range(DEPTH):
        x = lq.layers.QuantDense(
            WIDTH,
            input_quantizer=None if layer == 0 else HardTanh(r),
            kernel_quantizer=HardTanh(r),
            kernel_initializer=kernel_initializer(layer),
            bias_initializer=CriticalBias(sigma_b2, seed=1000 + layer),
        )(x)
        outputs.append(x)
    return tf.keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "cls, r, sigma_b2",
    [
        (CriticalHardTanhNormal, 1.0, 0.0),
        (CriticalHardTanhNormal, 0.4, 0.01),
        (HardTanhUniform, 1.0, 0.0),
        (HardTanhUniform, 0.7, 0.05),
    ],
)
def test_critical_hard_tanh_dense_follows_theory(cls, r, sigma_b2):
    model = hard_tanh_dense(r, sigma_b2, lambda layer: cls(r=r, sigma_b2=sigma_b2, seed=layer))
    q, c = measure_ensemble(model, input_pairs(16, (WIDTH,), 0.9))
    theory = cls(r=r, sigma_b2=sigma_b2).theory
    assert theory.chi1 == pytest.approx(1.0, abs=1e-6)
    assert_follows(theory, q, c)
    assert c[-1] > 0.8  # at the edge of chaos the correlation of the pair survives 20 layers


def test_glorot_is_chaotic_at_small_r_while_critical_is_not():
    """r = 0.4: glorot_uniform (variance 1 / N) seen through B_r has sigma_w2 = 1 / r^2 = 6.25."""
    r, c0 = 0.4, 0.9
    x = input_pairs(32, (WIDTH,), c0)
    glorot = hard_tanh_dense(r, 0.0, lambda layer: tf.keras.initializers.GlorotUniform(layer))
    q, c = measure_ensemble(glorot, x)
    chaotic = HardTanhBNN(r=r, sigma_w2=1.0 / r**2, sigma_b2=0.0)
    assert chaotic.chi1 > 1.0 and chaotic.c_star < 0.5
    trajectory = assert_follows(chaotic, q, c)
    assert abs(c[-1] - chaotic.c_star) < 0.02 and abs(trajectory.c[-1] - chaotic.c_star) < 0.01

    critical = hard_tanh_dense(r, 0.0, lambda layer: CriticalHardTanhNormal(r=r, seed=layer))
    q, c = measure_ensemble(critical, x)
    assert_follows(HardTanhBNN.critical(r=r, sigma_b2=0.0), q, c)
    assert c.min() > 0.8


def test_critical_hard_tanh_conv_follows_theory():
    """3x3 'valid' QuantConv2D layers with 64 channels (fan-in 576), 20x20 inputs -> 4x4 after 8.

    Filters are shared across positions, so one conv net fluctuates more than a dense one of the
    same fan-in (about 10 % in q by layer 8): the average over 24 networks is compared.
    """
    r, sigma_b2, depth = 0.5, 0.02, 8
    inputs = tf.keras.Input((20, 20, 64))
    x, outputs = inputs, []
    for layer in range(depth):
        x = lq.layers.QuantConv2D(
            64,
            3,
            input_quantizer=None if layer == 0 else HardTanh(r),
            kernel_quantizer=HardTanh(r),
            kernel_initializer=CriticalHardTanhNormal(r=r, sigma_b2=sigma_b2, seed=layer),
            bias_initializer=CriticalBias(sigma_b2, seed=1000 + layer),
        )(x)
        outputs.append(x)
    model = tf.keras.Model(inputs, outputs)
    q, c = measure_ensemble(model, input_pairs(8, (20, 20, 64), 0.9), n_nets=24)
    assert_follows(HardTanhBNN.critical(r=r, sigma_b2=sigma_b2), q, c)


def sign_net(variance, batch_norm, distribution="uniform"):
    """ste_sign QuantDense stack (S = +-1, x = sign(h), Larq maps 0 to +1) with ConstantVariance."""
    inputs = tf.keras.Input((WIDTH,))
    x, outputs = inputs, []
    for layer in range(DEPTH):
        x = lq.layers.QuantDense(
            WIDTH,
            input_quantizer=None if layer == 0 else "ste_sign",
            kernel_quantizer="ste_sign",
            kernel_initializer=ConstantVariance(variance, distribution, seed=layer),
            kernel_constraint="weight_clip",
            use_bias=False,
        )(x)
        if batch_norm:
            x = tf.keras.layers.BatchNormalization()(x, training=True)  # batch statistics
        outputs.append(x)
    return tf.keras.Model(inputs, outputs)


def test_larq_sign_maps_zero_to_plus_one():
    """erratum 4: Sign(0) = +1, as SignNet assumes."""
    np.testing.assert_array_equal(lq.quantizers.SteSign()(tf.zeros(3)).numpy(), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_constant_variance_sign_net_with_batch_norm_follows_sign_net(distribution):
    """Sari et al. (2019): in a sign network with BatchNorm the weight scale is irrelevant.

    Sign discards the latent weights' scale: variances 1e-4 and 1e-1 give the same c^l. What is
    left is the fan-in: without BatchNorm q^l = N (a sum of N products of +-1, Wang (2018) sec. 3.1),
    with it q^l = 1 = q* of SignNet(0); c^l follows SignNet(0)'s arcsine map either way.
    128 pairs keep the O(1 / batch) bias of BatchNorm's mean subtraction below 0.01.
    """
    x = input_pairs(128, (WIDTH,), 0.9)
    theory = SignNet(sigma_b2=0.0)
    correlations = []
    for variance in (1e-4, 1e-1):
        q, c = measure(sign_net(variance, batch_norm=True, distribution=distribution), x)
        np.testing.assert_allclose(q, theory.q_star, rtol=0.01)
        assert_follows(theory, q, c)
        correlations.append(c)
        q, c = measure(sign_net(variance, batch_norm=False, distribution=distribution), x)
        np.testing.assert_allclose(q[1:], WIDTH * theory.q_star, rtol=0.05)
        assert_follows(theory, q / WIDTH, c)
    np.testing.assert_allclose(correlations[0], correlations[1], atol=1e-6)
