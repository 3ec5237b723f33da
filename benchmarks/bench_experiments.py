# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Cost of one depth row of a ``bnn-init reproduce`` grid: K = 8 tanh networks (depth 30,
width 64, one per sigma_w2) trained for 100 RMSProp steps on digits, either one Keras model per
network (the baseline: build, trace and train each in turn) or all eight side by side as one
stacked model (`bnn_init.experiments.stacked`), both with `bnn_init.experiments.loop.train`.

Ratio = baseline seconds / stacked seconds; target >= 4 (what brings ``schoenholz-depth`` and
``wang-bnn`` at default size under 30 minutes on 2 cores).
"""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import time

import numpy as np
import tensorflow as tf

from bnn_init.experiments.data import load_dataset
from bnn_init.experiments.loop import train
from bnn_init.experiments.stacked import stacked_mlp

from . import row

SIGMA_W2 = np.linspace(1.0, 4.0, 8)
DEPTH, WIDTH, STEPS, BATCH = 30, 64, 100, 64
TARGET = 4.0


def _one_network(sigma_w2, n_in, n_out, seed):
    layers = [tf.keras.Input((n_in,))]
    for i in range(DEPTH + 1):
        last = i == DEPTH
        init = tf.keras.initializers.VarianceScaling(
            sigma_w2, "fan_in", "untruncated_normal", seed=seed + i
        )
        layers.append(
            tf.keras.layers.Dense(
                n_out if last else WIDTH,
                activation=None if last else "tanh",
                kernel_initializer=init,
            )
        )
    return tf.keras.Sequential(layers)


def _seconds(make_models, data):
    start = time.perf_counter()
    for model in make_models():
        train(
            model,
            data,
            steps=STEPS,
            batch_size=BATCH,
            optimizer=tf.keras.optimizers.RMSprop(1e-4),
            seed=0,
        )
    return time.perf_counter() - start


def run():
    data, _ = load_dataset("digits")
    n_in, n_out = data[0].shape[1], 10
    baseline = _seconds(
        lambda: (_one_network(w, n_in, n_out, seed=k) for k, w in enumerate(SIGMA_W2)), data
    )
    stacked = _seconds(
        lambda: [stacked_mlp(DEPTH, WIDTH, n_in, n_out, SIGMA_W2, activation="tanh")], data
    )
    yield row(
        f"experiments_grid_row_{len(SIGMA_W2)}x_tanh_depth{DEPTH}_width{WIDTH}",
        round(stacked, 2),
        "s",
        round(baseline, 2),
        round(baseline / stacked, 2),
        TARGET,
    )
