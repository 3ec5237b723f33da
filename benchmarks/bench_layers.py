# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Cost of a surrogate training step: ``DeterministicSurrogateDense`` (Stamatescu et al. (001),
eq. 12: two matmuls, for the mean sum M x and the variance sum M^2 x^2, plus the gradient through
both) against ``tf.keras.layers.Dense`` of the same shape (batch 256, 1024 -> 1024), each a
compiled (tf.function) SGD step on a mean-squared loss, timed side by side, best of 5 repeats.

Ratio = surrogate step time / Dense step time; target <= 2.5. An ``LRTSurrogateDense`` step
(001 eq. 8, plus the noise) is reported against the same baseline.
"""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import time

import numpy as np
import tensorflow as tf

from bnn_init.layers import DeterministicSurrogateDense, LRTSurrogateDense

BATCH, WIDTH, STEPS, REPEATS = 256, 1024, 30, 5
TARGET = 2.5


def _step_function(layer):
    optimizer = tf.keras.optimizers.SGD(1e-3)
    layer.build((BATCH, WIDTH))
    variables = layer.trainable_variables

    @tf.function
    def step(x, target):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x, training=True) - target))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def step_seconds(layer, x, target):
    """Best-of-REPEATS mean wall time of one compiled training step."""
    step = _step_function(layer)
    step(x, target).numpy()  # trace and warm up
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(STEPS):
            loss = step(x, target)
        loss.numpy()
        best = min(best, (time.perf_counter() - start) / STEPS)
    return best


def run():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (BATCH, WIDTH)).astype(np.float32))
    target = tf.constant(rng.uniform(-1, 1, (BATCH, WIDTH)).astype(np.float32))
    dense = step_seconds(tf.keras.layers.Dense(WIDTH, activation="tanh"), x, target)
    for name, layer in (
        ("deterministic_surrogate_dense", DeterministicSurrogateDense(WIDTH)),
        ("lrt_surrogate_dense", LRTSurrogateDense(WIDTH)),
    ):
        seconds = step_seconds(layer, x, target)
        yield {
            "bench": f"{name}_train_step_vs_dense_b{BATCH}_{WIDTH}x{WIDTH}",
            "value": round(seconds * 1e3, 3),
            "unit": "ms/step",
            "baseline": round(dense * 1e3, 3),
            "ratio": round(seconds / dense, 2),
            "target": TARGET,
        }


if __name__ == "__main__":
    for row in run():
        print(row)
