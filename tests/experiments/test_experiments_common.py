"""Shared helpers of bnn_init.experiments: sizes, boundaries, CSV, the seeded training loop."""

import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.experiments import common


def test_pick_size_and_overrides():
    presets = {"test": {"a": 1, "b": 2}}
    assert common.pick_size(presets, "test", {"b": 5, "a": None}) == {"a": 1, "b": 5}
    with pytest.raises(ValueError, match="size must be one of"):
        common.pick_size(presets, "huge")
    with pytest.raises(ValueError, match="unknown setting 'c'"):
        common.pick_size(presets, "test", {"c": 1})


def test_boundary_against_n_xi_c():
    depths = [10, 20, 40, 80]
    acc = np.array([[0.9, 0.9, 0.9], [0.9, 0.2, 0.9], [0.1, 0.1, 0.9], [0.1, 0.1, 0.1]])
    xi = np.array([3.0, 2.0, np.inf])
    found = common.boundary(depths, acc, xi, threshold=0.5)
    np.testing.assert_array_equal(found["max_trained_depth"], [20, 10, 40])
    assert found["fitted_n"] == pytest.approx(np.median([20 / 3, 10 / 2]))
    # L <= 6 xi: 18 -> depths 10 (col 0); 12 -> 10 (col 1); inf -> all (col 2)
    assert found["agreement"] == pytest.approx(10 / 12)
    assert np.isnan(common.boundary([1, 2], [[0.0], [0.0]], [1.0], 0.5)["fitted_n"])


def test_load_dataset_subset_and_errors():
    (x, y), (xt, yt) = common.load_dataset("digits", n_train=100, seed=1)
    assert x.shape == (100, 64) and xt.shape == (450, 64) and x.dtype == np.float32
    with pytest.raises(ValueError, match="dataset must be one of"):
        common.load_dataset("cifar")
    with pytest.raises(ValueError, match="data_path"):
        common.load_dataset("mnist")


def test_train_is_seeded_and_reproducible():
    (x, y), _ = common.load_dataset("digits", n_train=200, seed=0)

    def run():
        tf.keras.utils.set_random_seed(3)
        model = tf.keras.Sequential([tf.keras.Input((64,)), tf.keras.layers.Dense(10)])
        return common.train(
            model,
            (x, y),
            steps=12,
            batch_size=32,
            seed=3,
            eval_every=6,
            optimizer=tf.keras.optimizers.SGD(0.1),
        )

    first, second = run(), run()
    assert [h["step"] for h in first] == [6, 12]
    assert first == second
    assert first[-1]["train_accuracy"] > 0.5


def test_a_diverging_network_reports_inf_while_the_others_train_on():
    """Network 1 of two stacked networks has NaN logits from the first step: its loss is
    reported as inf, network 0 still gets every step; with all networks diverged, training
    stops at once."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    inputs = tf.keras.Input((4,))
    logits = tf.keras.layers.Dense(2)(inputs)
    poisoned = tf.keras.layers.Lambda(lambda z: z * float("nan"))(tf.keras.layers.Dense(2)(inputs))
    stacked = tf.keras.layers.Lambda(lambda zs: tf.stack(zs, axis=1))([logits, poisoned])
    model = tf.keras.Model(inputs, stacked)
    history = common.train(
        model, (x, y), steps=40, batch_size=16, optimizer=tf.keras.optimizers.SGD(0.5), seed=0
    )
    assert history[-1]["step"] == 40
    loss, acc = history[-1]["loss"], history[-1]["train_accuracy"]
    assert np.isfinite(loss[0]) and loss[1] == np.inf
    assert acc.shape == (2,) and acc[0] > 0.9

    alone = tf.keras.Model(inputs, poisoned)
    history = common.train(
        alone, (x, y), steps=40, batch_size=16, optimizer=tf.keras.optimizers.SGD(0.5), seed=0
    )
    assert [h["step"] for h in history] == [1] and history[0]["loss"] == np.inf
