# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""The BackProp baseline of Soudry & Meir (2013) (eq. 27, eqs. 30-31) against TensorFlow's gradients of the same
Keras model, and the clipped network against its Larq model."""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import numpy as np
import pytest
import tensorflow as tf

from bnn_init.datasets import teacher_student
from bnn_init.training.backprop import BackPropNetwork, learning_rate_scan


def _keras_step(model, x, y, lr):
    with tf.GradientTape() as tape:
        loss = 0.5 * tf.reduce_sum((model(x[None, :]) - y[None, :]) ** 2)
    grads = tape.gradient(loss, model.trainable_weights)
    return [w.numpy() - lr * g.numpy() for w, g in zip(model.trainable_weights, grads, strict=True)]


def test_one_sgd_step_equals_keras_gradient_step():
    net = BackPropNetwork(6, 4, 3, learning_rate=0.05, seed=0)
    model = net.to_keras()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 6))
    labels = np.array([2])
    y = np.where(np.arange(3) == 2, 1.0, -1.0)
    kernel, conv = _keras_step(model, x[0].astype("float32"), y.astype("float32"), 0.05)
    net.fit(x, labels, verbose=0, shuffle=False)
    np.testing.assert_allclose(net.w1, kernel.T.reshape(3, 4, 6), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.w2, conv.reshape(4, 3).T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        net.to_keras().predict(x.astype("float32"), verbose=0), net.predict(x), rtol=1e-5
    )


def test_clipped_network_matches_its_larq_model_and_is_worse_than_backprop():
    x, y = teacher_student(21, 8000, seed=1, teacher_seed=0)
    x_test, y_test = teacher_student(21, 3000, seed=2, teacher_seed=0)
    net = BackPropNetwork(21, 21, 1, learning_rate=0.01, seed=0)
    history = net.fit(x, y, verbose=0)
    assert history.history["error"][0] < 0.35
    errors = net.evaluate(x_test, y_test)
    assert errors["error"] + 0.05 < errors["clipped_error"]
    model = net.to_keras(clipped=True)
    np.testing.assert_array_equal(model.predict(x_test, verbose=0), net.predict_clipped(x_test))


def test_learning_rate_scan_picks_lowest_validation_error_and_skips_divergence():
    x, y = teacher_student(9, 3000, seed=1, teacher_seed=3)
    x_val, y_val = teacher_student(9, 1000, seed=2, teacher_seed=3)
    best, scores = learning_rate_scan(x, y, x_val, y_val, 9, 1, [1e308, 0.03, 0.001], seed=0)
    assert np.isnan(scores[1e308])  # diverged
    assert best.learning_rate == min((0.03, 0.001), key=scores.get)


def test_bad_learning_rate_raises():
    with pytest.raises(ValueError, match="learning_rate"):
        BackPropNetwork(3, 3, 1, learning_rate=-1.0)
