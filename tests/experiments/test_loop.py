"""The experiments' seeded training loop (bnn_init.experiments.loop)."""

import numpy as np
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.experiments.data import load_dataset
from bnn_init.experiments.loop import train, train_depth_grid


def test_train_is_seeded_and_reproducible():
    (x, y), _ = load_dataset("digits", n_train=200, seed=0)

    def run():
        tf.keras.utils.set_random_seed(3)
        model = tf.keras.Sequential([tf.keras.Input((64,)), tf.keras.layers.Dense(10)])
        return train(
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
    history = train(
        model, (x, y), steps=40, batch_size=16, optimizer=tf.keras.optimizers.SGD(0.5), seed=0
    )
    assert history[-1]["step"] == 40
    loss, acc = history[-1]["loss"], history[-1]["train_accuracy"]
    assert np.isfinite(loss[0]) and loss[1] == np.inf
    assert acc.shape == (2,) and acc[0] > 0.9

    alone = tf.keras.Model(inputs, poisoned)
    history = train(
        alone, (x, y), steps=40, batch_size=16, optimizer=tf.keras.optimizers.SGD(0.5), seed=0
    )
    assert [h["step"] for h in history] == [1] and history[0]["loss"] == np.inf


def _tiny_grid(stop_below):
    from bnn_init.experiments.schoenholz import tanh_mlps
    from bnn_init.primitives import progress

    (x, y), _ = load_dataset("digits", n_train=64, seed=0)
    built = []

    def build(depth, seed, columns):
        built.append((depth, columns.tolist()))
        return tanh_mlps(depth, 8, x.shape[1], 10, np.array([1.0, 1.76, 4.0])[columns], seed=seed)

    bar = progress(2 * 3, "test", False)
    accuracy, loss = train_depth_grid(
        (x, y),
        (1, 2, 3),
        build,
        steps=2,
        batch_size=16,
        optimizer=lambda: tf.keras.optimizers.SGD(0.01),
        seed=0,
        bar=bar,
        seeds=2,
        n_columns=3,
        stop_below=stop_below,
    )
    return accuracy, loss, built


def test_depth_grid_trains_every_cell_per_seed_without_a_stopping_threshold():
    accuracy, loss, built = _tiny_grid(stop_below=None)
    assert accuracy.shape == loss.shape == (2, 3, 3) and np.all(np.isfinite(accuracy))
    assert built == [(depth, [0, 1, 2]) for depth in (1, 2, 3) for _ in range(2)]


def test_a_column_below_the_threshold_is_not_trained_deeper():
    """With an unreachable threshold every column fails at the first depth: the deeper cells are
    NaN and no deeper model is built; the cells that were trained equal the full grid's."""
    accuracy, _, built = _tiny_grid(stop_below=1.1)
    full, _, _ = _tiny_grid(stop_below=None)
    assert built == [(1, [0, 1, 2])] * 2
    assert np.all(np.isnan(accuracy[:, 1:])) and np.array_equal(accuracy[:, 0], full[:, 0])
