"""The monitor's per-epoch line and its degradation warning (bnn_init.callbacks.progress), on
their own and in a real `fit`: Keras' progress lines carry no monitor values unless asked."""

import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (first: selects tf-keras)
from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.callbacks.progress import DegradationTracker, epoch_line, training_accuracy
from bnn_init.testing import compiled_classifier, random_classification


def test_epoch_line_says_what_the_numbers_mean():
    headline = {
        "sp_c_last": 0.1234,
        "sp_grad_ratio": 2.0e9,
        "sp_saturation": 0.42,
        "sp_sign_flips": 0.003,
        "sp_xi_c": -369.0,  # a fit that went the wrong way is left out
    }
    line = epoch_line(2, headline)
    assert line == (
        "epoch 3: last-layer correlation c^L = 0.123, gradients grow 2e+09x from last to first "
        "layer, saturation 42%, sign flips since last log 0.30%"
    )
    assert "shrink 4x" in epoch_line(0, {"sp_c_last": 0.5, "sp_grad_ratio": 0.25})


def test_training_accuracy_ignores_validation_metrics():
    assert training_accuracy({"val_accuracy": 0.9, "sparse_categorical_accuracy": 0.7}) == 0.7
    assert training_accuracy({"loss": 1.0}) is None


@pytest.mark.parametrize(
    "then, now, cause",
    [
        ({"sp_saturation": 0.42}, {"sp_saturation": 0.72}, "saturation rose from 42% to 72%"),
        ({"sp_grad_ratio": 3.0}, {"sp_grad_ratio": 40.0}, "gradient ratio"),
    ],
)
def test_degradation_is_said_once_with_its_cause(then, now, cause):
    tracker = DegradationTracker()
    assert tracker.update(0, {"accuracy": 0.70}, then) is None
    assert tracker.update(1, {"accuracy": 0.846}, then) is None  # a new best
    assert tracker.update(2, {"accuracy": 0.835}, now) is None  # within 2 points
    line = tracker.update(3, {"accuracy": 0.727}, now)
    assert line.startswith("epoch 4: training accuracy fell from 0.846 (epoch 2) to 0.727")
    assert cause in line and "degrading" in line
    assert tracker.update(4, {"accuracy": 0.5}, now) is None  # once


def test_a_fall_with_steady_statistics_is_not_degradation():
    tracker = DegradationTracker()
    steady = {"sp_saturation": 0.78, "sp_grad_ratio": 1.3e9}
    for epoch, accuracy in enumerate((0.10, 0.133, 0.105, 0.09)):  # a run at chance, noisy
        assert tracker.update(epoch, {"accuracy": accuracy}, steady) is None
    moved = {"sp_saturation": 0.90, "sp_grad_ratio": 1.3e9}
    assert "saturation rose from 78% to 90%" in tracker.update(4, {"accuracy": 0.08}, moved)


def _model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((8,)),
            tf.keras.layers.Dense(16, activation="tanh"),
            tf.keras.layers.Dense(3),
        ]
    )
    return compiled_classifier(model, tf.keras.optimizers.SGD(0.1), metrics=["accuracy"])


def test_fit_prints_one_line_per_epoch_and_keeps_keras_logs_clean(capsys):
    x, y = random_classification(64, 8, 3, seed=0)
    monitor = SignalPropagationMonitor(x[:32], y[:32])
    history = _model().fit(x, y, epochs=3, batch_size=16, callbacks=[monitor], verbose=2)
    printed = capsys.readouterr().out
    assert not [key for key in history.history if key.startswith("sp_")]
    assert "sp_" not in printed  # Keras' epoch lines carry only Keras' metrics
    lines = [line for line in printed.splitlines() if "last-layer correlation" in line]
    assert [line.split(": ")[1] for line in lines] == ["epoch 1", "epoch 2", "epoch 3"]
    assert len(monitor.history["sp_c_last"]) == 3
    np.testing.assert_allclose(
        monitor.history["sp_c_last"][-1], monitor.latest["headline"]["sp_c_last"]
    )


def test_verbose_zero_is_quiet_and_bad_values_are_refused(capsys):
    x, y = random_classification(32, 8, 3, seed=1)
    monitor = SignalPropagationMonitor(x, y, verbose=0)
    _model().fit(x, y, epochs=2, batch_size=16, callbacks=[monitor], verbose=0)
    assert "last-layer correlation" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="verbose must be 0 or 1, got 2"):
        SignalPropagationMonitor(x, verbose=2)
    with pytest.raises(TypeError, match="keras_logs must be True or False"):
        SignalPropagationMonitor(x, keras_logs="yes")
