"""The experiments' seeded training loop (bnn_init.experiments.loop)."""

import numpy as np
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.experiments.data import load_dataset
from bnn_init.experiments.loop import train


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
