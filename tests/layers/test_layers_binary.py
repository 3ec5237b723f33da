"""Binary counterparts of surrogate networks (Stamatescu et al. (2019), sec. 2.3 and Fig. 2 bottom):
to_binary against a numpy sign network, stochastic samples, ensembles, export."""

import math

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.initializers import BinaryMeans, CriticalBias
from bnn_init.layers import (
    DeterministicSurrogateConv2D,
    DeterministicSurrogateDense,
    LRTSurrogateDense,
    ensemble_accuracy,
    sample_binary,
    to_binary,
)


def _sign(x):
    return np.where(x >= 0, 1.0, -1.0)


def _weights(layer):
    m, b = (w.astype(np.float64) for w in layer.get_weights())
    return m, b, m.size // m.shape[-1]


def _dense_model(seed=0, cls=DeterministicSurrogateDense, **kwargs):
    init = dict(bias_initializer=CriticalBias(0.3, seed=seed + 10))
    return tf.keras.Sequential(
        [
            tf.keras.Input((20,)),
            cls(
                32,
                input_kind="real",
                kernel_initializer=BinaryMeans(0.5, seed=seed),
                **init,
                **kwargs,
            ),
            tf.keras.layers.Dropout(0.3),
            cls(32, kernel_initializer=BinaryMeans(0.5, seed=seed + 1), **init, **kwargs),
            cls(
                5,
                return_field=True,
                kernel_initializer=BinaryMeans(0.5, seed=seed + 2),
                **init,
                **kwargs,
            ),
        ]
    )


def test_to_binary_equals_a_numpy_sign_network():
    """W = sign(M), sign neurons, output (1/sqrt(N)) W x + b (Stamatescu et al. 2019, eq. 1)."""
    model = _dense_model()
    # means of exactly 0 must give W = +1 (erratum 4)
    m = model.layers[2].get_weights()
    m[0][:4] = 0.0
    model.layers[2].set_weights(m)
    x = np.random.default_rng(0).normal(size=(64, 20)).astype(np.float32)
    binary = to_binary(model)
    assert [type(layer).__name__ for layer in binary.layers] == [
        "QuantDense",
        "QuantDense",
        "QuantDense",
        "Rescaling",
    ]
    h = x.astype(np.float64)
    surrogates = [layer for layer in model.layers if hasattr(layer, "means")]
    for i, layer in enumerate(surrogates):
        m, b, n = _weights(layer)
        a = h @ _sign(m) + math.sqrt(n) * b
        h = a / math.sqrt(n) if i == len(surrogates) - 1 else _sign(a)
    np.testing.assert_allclose(binary(x).numpy(), h, rtol=1e-5, atol=1e-5)
    assert set(np.unique(binary.layers[1].get_weights()[0])) == {-1.0, 1.0}
    assert binary.layers[1].input_quantizer is not None and binary.layers[0].input_quantizer is None


def test_to_binary_conv_and_continuous_neurons_equal_numpy():
    rng = np.random.default_rng(1)
    conv = tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 1)),
            DeterministicSurrogateConv2D(4, 3, padding="same", input_kind="real"),
            tf.keras.layers.MaxPooling2D(2),
            tf.keras.layers.Flatten(),
            DeterministicSurrogateDense(3, return_field=True),
        ]
    )
    x = rng.normal(size=(8, 6, 6, 1)).astype(np.float32)
    conv(x)
    binary = to_binary(conv)
    m, b, n = _weights(conv.layers[0])
    # numpy "same" convolution of real inputs with W = sign(M), then sign, 2x2 max pool, flatten
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    a = np.zeros((8, 6, 6, 4))
    for i in range(6):
        for j in range(6):
            a[:, i, j] = padded[:, i : i + 3, j : j + 3].reshape(8, -1) @ _sign(m).reshape(9, 4)
    s = _sign(a + math.sqrt(n) * b)
    pooled = s.reshape(8, 3, 2, 3, 2, 4).max(axis=(2, 4)).reshape(8, -1)
    m2, b2, n2 = _weights(conv.layers[3])
    want = (pooled @ _sign(m2)) / math.sqrt(n2) + b2
    np.testing.assert_allclose(binary(x).numpy(), want, rtol=1e-5, atol=1e-5)
    for layer in (conv.layers[0], conv.layers[3]):  # +-1 means: samples are the binary network
        layer.kernel.assign(_sign(layer.kernel.numpy()))
    sampled = sample_binary(conv, 3, seed=0)(x)
    assert sampled.shape == (3, 8, 3)
    np.testing.assert_allclose(sampled[2], to_binary(conv)(x).numpy(), rtol=1e-5, atol=1e-5)

    lrt = _dense_model(cls=LRTSurrogateDense, neurons="continuous")
    x = rng.normal(size=(16, 20)).astype(np.float32)
    h = x.astype(np.float64)
    for i, layer in enumerate(layer for layer in lrt.layers if hasattr(layer, "means")):
        m, b, n = _weights(layer)
        h = (h @ _sign(m)) / math.sqrt(n) + b
        h = h if i == 2 else np.tanh(h)
    np.testing.assert_allclose(to_binary(lrt)(x).numpy(), h, rtol=1e-5, atol=1e-5)


def test_to_binary_refuses_binary_outputs_and_passes_other_models():
    ends_in_neurons = tf.keras.Sequential([tf.keras.Input((4,)), DeterministicSurrogateDense(3)])
    with pytest.raises(ValueError, match="return_field=True"):
        to_binary(ends_in_neurons)
    plain = tf.keras.Sequential([tf.keras.Input((4,)), lq.layers.QuantDense(3)])
    assert to_binary(plain) is plain
    with pytest.raises(TypeError, match="tf.keras.Model"):
        to_binary("model")


def test_sampled_weights_have_mean_m():
    model = _dense_model(seed=3)
    nets = sample_binary(model, 300, seed=1)
    m = model.layers[0].means.numpy()
    kernels = nets.kernels[0]
    assert kernels.shape == (300, 20, 32) and len(nets) == 300
    np.testing.assert_array_equal(nets[-1].kernels[0][0], kernels[-1])
    assert set(np.unique(kernels)) == {-1.0, 1.0}
    assert np.mean(np.abs(kernels.mean(0) - m)) < 0.05
    # +-1 means are sampled deterministically and, with sign neurons, equal to_binary
    sure = _dense_model(seed=4)
    for layer in sure.layers:
        if hasattr(layer, "means"):
            layer.kernel.assign(_sign(layer.kernel.numpy()))
    x = np.random.default_rng(2).normal(size=(10, 20)).astype(np.float32)
    np.testing.assert_allclose(sample_binary(sure, 2, seed=0)(x)[1], to_binary(sure)(x), atol=1e-5)


@pytest.mark.parametrize("kappa", [1 / math.sqrt(2), 0.4])
def test_stochastic_sign_neurons_have_the_surrogate_mean(kappa):
    """First layer: P(x_i = +1) over weight (and neuron) samples is (1 + erf(kappa h_i)) / 2,
    the surrogate's output (Stamatescu et al. 2019, eqs. 6, 26)."""
    model = tf.keras.Sequential(
        [
            tf.keras.Input((256,)),
            DeterministicSurrogateDense(
                48, kappa=kappa, input_kind="real", kernel_initializer=BinaryMeans(0.8, seed=5)
            ),
        ]
    )
    x = np.random.default_rng(3).normal(size=(4, 256)).astype(np.float32)
    surrogate = model(x).numpy()
    sampled = np.mean(sample_binary(model, 600, seed=2)(x), axis=0)
    assert np.mean(np.abs(sampled - surrogate)) < 0.04
    assert np.corrcoef(sampled.ravel(), surrogate.ravel())[0, 1] > 0.97
    assert np.std(surrogate) > 0.3  # a non-trivial check: the means spread over (-1, 1)


def test_ensemble_accuracy():
    rng = np.random.default_rng(6)
    model = _dense_model(seed=7)
    x = rng.normal(size=(200, 20)).astype(np.float32)
    y = rng.integers(0, 5, 200)
    for layer in model.layers:  # deterministic weights: every sample is the binary network
        if hasattr(layer, "means"):
            layer.kernel.assign(_sign(layer.kernel.numpy()))
    binary_accuracy = float(np.mean(np.argmax(to_binary(model)(x), 1) == y))
    assert ensemble_accuracy(model, x, y, samples=3, batch_size=64) == pytest.approx(
        binary_accuracy
    )
    # LRT binary neurons are stochastic: more samples, (weakly) less variance of the vote
    lrt = _dense_model(seed=8, cls=LRTSurrogateDense, neurons="binary")
    labels = np.argmax(lrt(x, training=False), 1)
    few = ensemble_accuracy(lrt, x, labels, samples=1, seed=1)
    many = ensemble_accuracy(lrt, x, labels, samples=40, seed=1)
    assert 0.2 < few < many <= 1.0
    with pytest.raises(ValueError, match="samples"):
        ensemble_accuracy(model, x, y, samples=0)
    with pytest.raises(ValueError, match="same number"):
        ensemble_accuracy(model, x, y[:5], samples=1)
    with pytest.raises(ValueError, match="Dense"):
        sample_binary(tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)]), 1)


def test_binary_network_exports_bitpacked(tmp_path):
    export = pytest.importorskip("bnn_init.export")
    model = _dense_model(seed=9)
    x = np.random.default_rng(7).normal(size=(32, 20)).astype(np.float32)
    report = export.export_lce(model, tmp_path / "m.tflite", sample_inputs=x)  # goes via to_binary
    assert report.op_counts.get("LceBconv2d", 0) == 2
