# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Cost of a surrogate training step: ``DeterministicSurrogateDense`` (Stamatescu et al. (2019),
eq. 12: two matmuls, for the mean sum M x and the variance sum M^2 x^2, plus the gradient through
both) against ``tf.keras.layers.Dense`` of the same shape (batch 256, 1024 -> 1024), each a
compiled (tf.function) SGD step on a mean-squared loss, timed in turn, best of 7 repeats.

Ratio = surrogate step time / Dense step time; target <= 2.5. An ``LRTSurrogateDense`` step
(Stamatescu et al. 2019, eq. 8, plus the noise) is reported against the same baseline.
"""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import time

import numpy as np
import tensorflow as tf

from bnn_init.layers import DeterministicSurrogateDense, LRTSurrogateDense

from . import row

BATCH, WIDTH, STEPS, REPEATS = 256, 1024, 20, 7
TARGET = 2.5


def _step_function(layer):
    optimizer = tf.keras.optimizers.SGD(1e-3)
    layer.build((BATCH, WIDTH))
    variables = layer.trainable_variables

    @tf.function
    def step(x, target):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x, training=True) - target))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return step


def _mean_step_seconds(step, x, target):
    start = time.perf_counter()
    for _ in range(STEPS):
        loss = step(x, target)
    loss.numpy()
    return (time.perf_counter() - start) / STEPS


def step_seconds(layers, x, target):
    """Best-of-REPEATS mean wall time of one compiled training step of each layer, the layers
    timed in turn within every repeat (so that load from other processes hits all alike)."""
    steps = [_step_function(layer) for layer in layers]
    for step in steps:
        step(x, target).numpy()  # trace and warm up
    best = [np.inf] * len(steps)
    for _ in range(REPEATS):
        for i, step in enumerate(steps):
            best[i] = min(best[i], _mean_step_seconds(step, x, target))
    return best


def run():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (BATCH, WIDTH)).astype(np.float32))
    target = tf.constant(rng.uniform(-1, 1, (BATCH, WIDTH)).astype(np.float32))
    names = ("deterministic_surrogate_dense", "lrt_surrogate_dense")
    dense, *surrogates = step_seconds(
        [
            tf.keras.layers.Dense(WIDTH, activation="tanh"),
            DeterministicSurrogateDense(WIDTH),
            LRTSurrogateDense(WIDTH),
        ],
        x,
        target,
    )
    for name, seconds in zip(names, surrogates, strict=True):
        yield row(
            f"{name}_train_step_vs_dense_b{BATCH}_{WIDTH}x{WIDTH}",
            round(seconds * 1e3, 3),
            "ms/step",
            round(dense * 1e3, 3),
            round(seconds / dense, 2),
            TARGET,
        )


if __name__ == "__main__":
    for result in run():
        print(result)
