"""Surrogate layers (Stamatescu et al. (2019), eqs. 7, 8, 12, footnote 2; erratum 8) against a
plain-numpy implementation of the equations, gradients through the variance path, saving."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import erf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.initializers import BinaryMeans, CriticalBias
from bnn_init.layers import (
    DeterministicSurrogateConv2D,
    DeterministicSurrogateDense,
    LRTSurrogateConv2D,
    LRTSurrogateDense,
    MeansConstraint,
)
from bnn_init.theory import DeterministicSurrogate, LRTSurrogate, describe

EPS = 1e-6


def _random_means(rng, shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def _set(layer, x, m, b):
    layer(x[:1])
    layer.set_weights([m, b])
    return layer


# ---- numpy reference ------------------------------------------------------------------------
def _patches(x, kh, kw, stride, padding):
    """im2col: (batch, H', W', kh kw c) patches of x and the matching mask of real inputs."""
    mask = np.ones_like(x)
    if padding == "same":
        out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
        pad_h = max((out_h - 1) * stride + kh - x.shape[1], 0)
        pad_w = max((out_w - 1) * stride + kw - x.shape[2], 0)
        pads = ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
        x, mask = np.pad(x, pads), np.pad(mask, pads)
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1

    def cols(a):
        return np.stack(
            [
                np.stack(
                    [
                        a[:, i * stride : i * stride + kh, j * stride : j * stride + kw].reshape(
                            len(a), -1
                        )
                        for j in range(out_w)
                    ],
                    axis=1,
                )
                for i in range(out_h)
            ],
            axis=1,
        )

    return cols(x), cols(mask)


def _np_sums(x, m, input_kind, mask=None):
    """A = sum_j M x, V = sum_j (1 - M^2 x^2) ("means") or sum_j (1 - M^2) x^2 ("real")."""
    m = m.reshape(-1, m.shape[-1]).astype(np.float64)
    x = x.astype(np.float64)
    a = x @ m
    if input_kind == "means":
        count = mask.sum(-1, keepdims=True) if mask is not None else x.shape[-1]
        v = count - (x**2) @ (m**2)
    else:
        v = (x**2) @ (1 - m**2)
    return a, v


def _np_deterministic(x, m, b, kappa, input_kind, mask=None, field=False):
    n = m.size // m.shape[-1]
    a, v = _np_sums(x, m, input_kind, mask)
    h = (a + math.sqrt(n) * b) / np.sqrt(v + n * EPS)
    return h if field else erf(kappa * h)


def _np_lrt_moments(x, m, b, input_kind, mask=None):
    n = m.size // m.shape[-1]
    a, v = _np_sums(x, m, input_kind, mask)
    return a / math.sqrt(n) + b, v / n + EPS


# ---- forward --------------------------------------------------------------------------------
@pytest.mark.parametrize("input_kind", ["means", "real"])
@pytest.mark.parametrize("kappa", [1 / math.sqrt(2), 0.3])
def test_deterministic_dense_equals_numpy(input_kind, kappa):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (16, 40)) if input_kind == "means" else rng.normal(size=(16, 40))
    x = x.astype(np.float32)
    m, b = _random_means(rng, (40, 24)), rng.normal(size=24).astype(np.float32)
    layer = _set(DeterministicSurrogateDense(24, kappa=kappa, input_kind=input_kind), x, m, b)
    want = _np_deterministic(x, m, b, kappa, input_kind)
    np.testing.assert_allclose(layer(x).numpy(), want, atol=2e-5)
    field = _np_deterministic(x, m, b, kappa, input_kind, field=True)
    np.testing.assert_allclose(layer.field(x).numpy(), field, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("padding,stride", [("same", 1), ("valid", 2), ("same", 2)])
def test_deterministic_conv_equals_numpy(padding, stride):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, 7, 6, 4)).astype(np.float32)
    m, b = _random_means(rng, (3, 3, 4, 5)), rng.normal(size=5).astype(np.float32)
    layer = DeterministicSurrogateConv2D(5, 3, strides=stride, padding=padding, return_field=True)
    _set(layer, x, m, b)
    cols, mask = _patches(x, 3, 3, stride, padding)
    want = _np_deterministic(cols, m, b, layer.kappa, "means", mask=mask, field=True)
    got = layer(x).numpy()
    assert got.shape == want.shape == tuple(layer.compute_output_shape(x.shape))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize(
    "cls,kwargs",
    [
        (LRTSurrogateDense, dict(neurons="binary")),
        (LRTSurrogateDense, dict(neurons="binary", input_kind="real")),
        (LRTSurrogateDense, dict(neurons="continuous")),
        (LRTSurrogateConv2D, dict(kernel_size=3, padding="same", neurons="binary")),
    ],
)
def test_lrt_mean_and_noise_variance_equal_numpy(cls, kwargs):
    """h = mean + sqrt(variance) eps: the inference field is the mean; in training the sampled
    field has that mean and variance (eps ~ N(0, 1) per example and unit; Stamatescu et al. 2019, eq. 8, erratum 8)."""
    rng = np.random.default_rng(2)
    conv = cls is LRTSurrogateConv2D
    x = rng.uniform(-1, 1, (1, 5, 5, 3) if conv else (1, 30)).astype(np.float32)
    m = _random_means(rng, (3, 3, 3, 6) if conv else (30, 6))
    b = rng.normal(size=6).astype(np.float32)
    layer = _set(cls(6, seed=1, **kwargs), x, m, b)
    if conv:
        cols, mask = _patches(x, 3, 3, 1, "same")
    else:
        cols, mask = x, None
    mean, variance = _np_lrt_moments(cols, m, b, layer.input_kind, mask)
    np.testing.assert_allclose(layer.field(x, training=False).numpy(), mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(x, training=False).numpy(), np.tanh(mean), atol=1e-5)
    samples = layer.field(np.repeat(x, 4000, axis=0), training=True).numpy()
    eps = (samples - mean) / np.sqrt(variance)
    assert abs(eps.mean()) < 0.02
    assert abs(eps.var() - 1.0) < 0.03
    np.testing.assert_allclose(samples.var(axis=0), variance[0], rtol=0.1)


def test_lrt_input_kind_defaults_follow_the_neurons():
    assert LRTSurrogateDense(4, neurons="binary").input_kind == "means"
    assert LRTSurrogateDense(4, neurons="continuous").input_kind == "real"
    assert DeterministicSurrogateDense(4).input_kind == "means"


# ---- gradients ------------------------------------------------------------------------------
def test_gradient_wrt_means_includes_the_variance_path():
    """d loss / dM by tf equals central finite differences, and differs from the gradient that
    ignores the variance term (Soudry et al. 2014; corrected in Stamatescu et al. 2019, sec. 2.3)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (8, 12))
    m, b = rng.uniform(-0.95, 0.95, (12, 5)), rng.normal(size=5)
    w = rng.normal(size=(8, 5))
    layer = DeterministicSurrogateDense(5, dtype="float64")
    _set(layer, x, m, b)

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * layer(x))
    grad = tape.gradient(loss, layer.kernel).numpy()

    def loss_at(mm):
        return float(np.sum(w * _np_deterministic(x, mm, b, layer.kappa, "means")))

    step, numeric = 1e-6, np.zeros_like(m)
    for idx in np.ndindex(m.shape):
        up, down = m.copy(), m.copy()
        up[idx] += step
        down[idx] -= step
        numeric[idx] = (loss_at(up) - loss_at(down)) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    with tf.GradientTape() as tape:
        a, v = layer.moment_sums(x)
        h = (a + math.sqrt(12) * layer.bias) * tf.math.rsqrt(tf.stop_gradient(v) + 12 * EPS)
        mean_only = tape.gradient(tf.reduce_sum(w * tf.math.erf(layer.kappa * h)), layer.kernel)
    assert np.linalg.norm(mean_only.numpy() - numeric) > 0.05 * np.linalg.norm(numeric)


def test_means_stay_in_the_unit_interval_while_training():
    rng = np.random.default_rng(4)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((10,)),
            LRTSurrogateDense(16, neurons="continuous", kernel_initializer=BinaryMeans(1.0)),
            DeterministicSurrogateDense(3, return_field=True),
        ]
    )
    model.compile(tf.keras.optimizers.SGD(5.0), "sparse_categorical_crossentropy")
    model.fit(rng.normal(size=(64, 10)), rng.integers(0, 3, 64), epochs=2, verbose=0)
    for layer in model.layers:
        kernel = layer.kernel.numpy()
        assert np.abs(kernel).max() <= 1.0
        assert np.mean(np.abs(kernel) == 1.0) > 0.1  # the constraint was active
        np.testing.assert_array_equal(layer.means.numpy(), kernel)
    assert MeansConstraint()(tf.constant([-3.0, 0.5, 3.0])).numpy().tolist() == [-1.0, 0.5, 1.0]


# ---- configuration, theory, saving ----------------------------------------------------------
def test_defaults_and_description_by_the_theory():
    layer = DeterministicSurrogateDense(8)
    assert isinstance(layer.kernel_initializer, BinaryMeans)
    assert layer.kernel_initializer.sigma_m2 == 0.99
    model = tf.keras.Sequential(
        [
            tf.keras.Input((20,)),
            DeterministicSurrogateDense(32, kappa=0.5, input_kind="real"),
            DeterministicSurrogateDense(
                32,
                kappa=0.5,
                kernel_initializer=BinaryMeans(0.7),
                bias_initializer=CriticalBias(0.01),
            ),
            DeterministicSurrogateDense(4, kappa=0.5, return_field=True),
        ]
    )
    theory = describe(model).theory
    assert isinstance(theory, DeterministicSurrogate)
    assert (theory.sigma_m2, theory.sigma_b2, theory.kappa) == pytest.approx((0.7, 0.01, 0.5))
    lrt = tf.keras.Sequential(
        [tf.keras.Input((20,))] + [LRTSurrogateDense(16, neurons="continuous") for _ in range(3)]
    )
    theory = describe(lrt).theory
    assert isinstance(theory, LRTSurrogate) and theory.neurons == "continuous"


def _all_layers_model():
    return tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 2)),
            DeterministicSurrogateConv2D(4, 3, padding="same", input_kind="real", kappa=0.6),
            LRTSurrogateConv2D(4, 3, strides=2, neurons="binary", seed=3),
            tf.keras.layers.Flatten(),
            LRTSurrogateDense(8, neurons="continuous", bias_initializer=CriticalBias(0.1, seed=1)),
            DeterministicSurrogateDense(3, return_field=True, epsilon=1e-4, use_bias=False),
        ]
    )


@pytest.mark.parametrize("fmt", ["keras", "tf"])
def test_save_and_load_round_trip(tmp_path, fmt):
    model = _all_layers_model()
    x = np.random.default_rng(5).normal(size=(4, 6, 6, 2)).astype(np.float32)
    path = tmp_path / ("m.keras" if fmt == "keras" else "saved")
    model.save(path) if fmt == "keras" else model.save(path, save_format="tf")
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)
    for old, new in zip(model.layers, loaded.layers, strict=True):
        assert type(old) is type(new)
        assert old.get_config() == new.get_config()
    assert loaded.layers[0].kappa == 0.6 and loaded.layers[3].neurons == "continuous"
    assert isinstance(loaded.layers[3].bias_initializer, CriticalBias)


@pytest.mark.parametrize(
    "make,error,words",
    [
        (lambda: DeterministicSurrogateDense(4, kappa=0.0), ValueError, "kappa"),
        (lambda: DeterministicSurrogateDense(4, kappa="1"), TypeError, "kappa"),
        (lambda: DeterministicSurrogateDense(0), ValueError, "units"),
        (lambda: DeterministicSurrogateDense(4, input_kind="binary"), ValueError, "input_kind"),
        (lambda: DeterministicSurrogateDense(4, epsilon=0.0), ValueError, "epsilon"),
        (lambda: DeterministicSurrogateDense(4, return_field=1), TypeError, "return_field"),
        (lambda: LRTSurrogateDense(4, neurons="sign"), ValueError, "neurons"),
        (
            lambda: LRTSurrogateDense(4, neurons="continuous", input_kind="means"),
            ValueError,
            "erratum 8",
        ),
        (lambda: LRTSurrogateDense(4, seed=-1), ValueError, "seed"),
        (lambda: LRTSurrogateConv2D(4, 3, padding="causal"), ValueError, "padding"),
        (lambda: DeterministicSurrogateConv2D(4, (3, 0)), ValueError, "kernel_size"),
        (lambda: DeterministicSurrogateDense(4)(tf.zeros((2, 3, 3))), ValueError, "Flatten"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(make, error, words):
    with pytest.raises(error, match=words):
        make()
