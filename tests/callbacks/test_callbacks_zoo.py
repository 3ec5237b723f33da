"""The monitor on models users bring: it never ends their training run."""

import warnings

import numpy as np
import tensorflow as tf

import bnn_init  # noqa: F401  (sets up tf-keras)
from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.testing import zoo_model


def _fit(model, monitor, n=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *model.input_shape[1:])).astype(np.float32)
    y = rng.integers(0, model.output_shape[-1], n)
    model.compile("adam", "sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[monitor])
    return history, [str(w.message) for w in caught if "SignalPropagationMonitor" in str(w.message)]


def test_quicknet_trains_with_the_monitor_measuring_its_frozen_blur_pool_kernels(tmp_path):
    model = zoo_model("QuickNetSmall")
    rng = np.random.default_rng(1)
    monitor = SignalPropagationMonitor(
        rng.standard_normal((16, 32, 32, 3)).astype(np.float32),
        rng.integers(0, 10, 16),
        log_dir=str(tmp_path),
    )
    history, said = _fit(model, monitor)
    assert len(history.history["loss"]) == 1
    assert said == []
    names = [layer.name for layer in monitor.monitored_layers]
    frozen = [i for i, name in enumerate(names) if name.startswith("depthwise_conv2d")]
    assert len(frozen) == 3  # the blur pools: measured, without kernel gradients
    measured = monitor.latest["measured"]
    assert np.all(measured["q"] > 0) and np.all(np.isfinite(measured["grad_var"]))
    assert np.all(np.isnan(measured["kernel_grad_norm"][frozen]))
    trained = np.delete(measured["kernel_grad_norm"], frozen)
    assert np.all(np.isfinite(trained)) and np.all(trained > 0)


class Custom(tf.keras.layers.Layer):
    """A user's own layer, unknown to bnn-init."""

    def call(self, inputs):
        return inputs


def test_a_failing_measurement_stops_the_monitor_not_the_training(tmp_path):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [tf.keras.Input((8,)), tf.keras.layers.Dense(8), Custom(), tf.keras.layers.Dense(3)]
    )
    monitor = SignalPropagationMonitor(np.zeros((4, 9), np.float32))  # probe of the wrong width
    history, said = _fit(model, monitor)
    assert len(history.history["loss"]) == 1
    assert len(said) == 1 and "stops monitoring this run" in said[0]
    assert "training continues" in said[0]
