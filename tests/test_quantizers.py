"""bnn_init.quantizers.HardTanh: Wang's B_r (Wang 2018, sec. 2) as a serialisable Larq quantizer."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow loads)
from bnn_init.quantizers import HardTanh, hard_tanh_r


def test_forward_is_clip_of_x_over_r():
    x = tf.constant([-1.0, -0.4, -0.2, 0.0, 0.1, 0.39, 0.4, 3.0])
    y = HardTanh(r=0.4)(x).numpy()
    np.testing.assert_allclose(y, [-1.0, -1.0, -0.5, 0.0, 0.25, 0.975, 1.0, 1.0], rtol=1e-6)


def test_gradient_is_one_over_r_inside_open_interval():
    x = tf.constant([-1.0, -0.4, -0.2, 0.0, 0.39, 0.4, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = hard_tanh_r(x, r=0.4)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0, 0, 2.5, 2.5, 2.5, 0, 0])


@pytest.mark.parametrize("r", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_r_raises_value_error_naming_it(r):
    with pytest.raises(ValueError, match=r"r must (lie in \(0, inf\)|be finite)"):
        HardTanh(r=r)


def test_alias_means_r_equal_one_in_larq_layers():
    quantizer = lq.quantizers.get("hard_tanh_r")
    assert isinstance(quantizer, HardTanh) and quantizer.r == 1.0
    layer = lq.layers.QuantDense(3, input_quantizer="hard_tanh_r", kernel_quantizer="hard_tanh_r")
    layer.build((None, 2))
    assert isinstance(layer.input_quantizer, HardTanh)
    assert isinstance(layer.kernel_quantizer, HardTanh)


def test_config_round_trip():
    quantizer = HardTanh(r=0.4)
    clone = HardTanh.from_config(quantizer.get_config())
    assert clone.r == 0.4
    serialized = tf.keras.utils.serialize_keras_object(quantizer)
    assert serialized["registered_name"] == "bnn_init>HardTanh"


@pytest.mark.parametrize("fmt", ["keras", "tf"])
def test_model_with_hard_tanh_round_trips_without_custom_objects(tmp_path, fmt):
    model = tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 2)),
            lq.layers.QuantConv2D(4, 3, kernel_quantizer=HardTanh(0.5), input_quantizer=None),
            lq.layers.QuantConv2D(
                4, 3, kernel_quantizer=HardTanh(0.5), input_quantizer="hard_tanh_r"
            ),
        ]
    )
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype("float32")
    path = str(tmp_path / ("model.keras" if fmt == "keras" else "saved_model"))
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    if fmt == "keras":
        assert loaded.layers[0].kernel_quantizer.r == 0.5
        assert isinstance(loaded.layers[1].input_quantizer, HardTanh)
