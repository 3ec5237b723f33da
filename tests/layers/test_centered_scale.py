"""CenteredScale (Sari et al. (2019), Table 2 "centred, fixed scale") against numpy."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.layers.centered_scale import CenteredScale


def _binary_conv_model(layer):
    return tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 4)),
            lq.layers.QuantConv2D(
                8,
                3,
                input_quantizer="ste_sign",
                kernel_quantizer="ste_sign",
                use_bias=False,
                kernel_initializer=tf.keras.initializers.GlorotUniform(1),
            ),
            layer,
        ]
    )


def test_training_mode_matches_numpy_and_updates_moving_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(16, 5, 5, 7)).astype(np.float32)
    layer = CenteredScale(scale=20.0, momentum=0.9)
    y = layer(x, training=True).numpy()
    mean = x.mean(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(20.0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-5)
    # Inference: the moving mean, not the batch mean; plus the trainable offset beta.
    layer.beta.assign(np.arange(7, dtype=np.float32))
    y_inf = layer(x, training=False).numpy()
    expected = (x - 0.1 * mean) / np.sqrt(20.0) + np.arange(7)
    np.testing.assert_allclose(y_inf, expected, rtol=1e-5, atol=1e-5)
    a, b = layer.folded()
    np.testing.assert_allclose(a * x + b, y_inf, rtol=1e-5, atol=1e-5)


def test_dense_input_and_no_center():
    x = np.random.default_rng(1).normal(size=(32, 10)).astype(np.float32)
    layer = CenteredScale(scale=1.0, center=False)
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y, x - x.mean(axis=0), atol=1e-5)
    assert layer.trainable_weights == []


def test_fan_in_is_read_from_the_producing_layer():
    model = _binary_conv_model(CenteredScale("fan_in", multiplier=2.0))
    layer = model.layers[-1]
    assert layer.fan_in == 3 * 3 * 4
    assert layer.variance == 2.0 * 36
    dense = tf.keras.Sequential([tf.keras.Input((12,)), tf.keras.layers.Dense(5), CenteredScale()])
    assert dense.layers[-1].variance == 12.0
    # A binary dot product of K terms +-1 has variance K: the output has unit variance.
    x = np.random.default_rng(2).normal(size=(256, 6, 6, 4)).astype(np.float32)
    y = _binary_conv_model(CenteredScale())(x, training=True).numpy()
    inner = y[:, 1:-1, 1:-1, :]  # away from the zero padding
    assert 0.8 < inner.var() < 1.2


def test_bad_arguments_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="scale"):
        CenteredScale(scale="std")
    with pytest.raises(ValueError, match="scale"):
        CenteredScale(scale=-1.0)
    with pytest.raises(ValueError, match="fan_in"):
        CenteredScale(fan_in=0)
    with pytest.raises(ValueError, match="momentum"):
        CenteredScale(scale=1.0, momentum=1.0)
    with pytest.raises(ValueError, match="multiplier"):
        CenteredScale(multiplier=0.0)
    with pytest.raises(ValueError, match="fan_in"):  # eager call: no producing layer to read
        CenteredScale()(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
def test_save_load_round_trip(tmp_path, fmt):
    model = _binary_conv_model(CenteredScale("fan_in"))
    x = np.random.default_rng(3).normal(size=(8, 6, 6, 4)).astype(np.float32)
    model(x, training=True)  # moves the moving mean away from zero
    model.layers[-1].beta.assign(np.linspace(-1, 1, 8).astype(np.float32))
    path = tmp_path / ("m.keras" if fmt == "keras" else "m_saved")
    model.save(path) if fmt == "keras" else model.save(path, save_format="tf")
    loaded = tf.keras.models.load_model(path)
    restored = loaded.layers[-1]
    assert isinstance(restored, CenteredScale)
    assert restored.get_config()["fan_in"] == 36
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-5)


def _binary_conv_and_centring():
    """A bitpacked-exportable binary 3x3 convolution followed by CenteredScale."""
    conv = lq.layers.QuantConv2D(
        8,
        3,
        padding="same",
        pad_values=1.0,
        use_bias=False,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
    )
    return conv, CenteredScale()


def test_exports_through_lce_as_a_folded_affine(tmp_path):
    export = pytest.importorskip("bnn_init.export")
    layers = pytest.importorskip("bnn_init.layers")
    if not hasattr(layers, "to_binary"):  # the exporter routes bnn_init.layers models through it
        pytest.skip("bnn_init.layers.to_binary has not landed yet")
    model = tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 4)),
            *_binary_conv_and_centring(),
            *_binary_conv_and_centring(),
            tf.keras.layers.GlobalAveragePooling2D(),
        ]
    )
    x = np.random.default_rng(4).normal(size=(32, 6, 6, 4)).astype(np.float32)
    model(x, training=True)
    report = export.export_lce(model, tmp_path / "m.tflite", sample_inputs=x)
    assert report.op_counts.get("LceBconv2d", 0) == 2
