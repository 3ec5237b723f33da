# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Overhead of ``SignalPropagationMonitor`` at its defaults (a 128-example probe with labels,
logged once per epoch to TensorBoard with scalars, layout and image) on the training epoch time of
a 10-layer width-512 hard-tanh BNN (Larq ``QuantDense``, critical initialisation) over 20k
examples, batch size 64.

Epochs with and without the monitor alternate in one process (the first epoch of each model is
discarded as tracing); value = median epoch time with the monitor, baseline = without it,
ratio = value / baseline; target <= 1.05."""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import statistics
import tempfile
import time

import larq as lq
import numpy as np
import tensorflow as tf

from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.initializers import CriticalHardTanhNormal
from bnn_init.quantizers import HardTanh

DEPTH, WIDTH, INPUTS, CLASSES, EXAMPLES, BATCH = 10, 512, 256, 10, 20_000, 64
PROBE = 128
ROUNDS = 4  # timed epochs per variant


def bnn(seed):
    model = tf.keras.Sequential([tf.keras.Input((INPUTS,))])
    for index in range(DEPTH):
        model.add(
            lq.layers.QuantDense(
                CLASSES if index == DEPTH - 1 else WIDTH,
                input_quantizer=None if index == 0 else HardTanh(1.0),
                kernel_quantizer=HardTanh(1.0),
                kernel_initializer=CriticalHardTanhNormal(r=1.0, seed=seed + index),
            )
        )
    model.compile(
        tf.keras.optimizers.Adam(1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


class EpochTimer(tf.keras.callbacks.Callback):
    """Wall time of each epoch, from epoch begin to the end of every callback's epoch end."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def epoch_times(x, y, log_dir=None):
    """Per-epoch wall times of ROUNDS + 1 epochs; the monitor (if any) runs before the timer's
    epoch end, so its cost is inside the epoch."""
    model = bnn(seed=0)
    timer = EpochTimer()
    callbacks = [timer]
    if log_dir is not None:
        callbacks.insert(0, SignalPropagationMonitor(x[:PROBE], y[:PROBE], log_dir=log_dir))
    model.fit(x, y, batch_size=BATCH, epochs=ROUNDS + 1, callbacks=callbacks, verbose=0)
    return timer.times[1:]


def run():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((EXAMPLES, INPUTS)).astype(np.float32)
    y = rng.integers(0, CLASSES, size=EXAMPLES)
    with tempfile.TemporaryDirectory() as log_dir:
        without = epoch_times(x, y)
        with_monitor = epoch_times(x, y, log_dir)
        without += epoch_times(x, y)  # both sides of the monitored run, against drift in load
    value, baseline = statistics.median(with_monitor), statistics.median(without)
    yield {
        "bench": f"monitor_epoch_time_bnn_{DEPTH}x{WIDTH}_{EXAMPLES // 1000}k",
        "value": round(value, 3),
        "unit": "s/epoch",
        "baseline": round(baseline, 3),
        "ratio": round(value / baseline, 4),
        "target": 1.05,
    }


if __name__ == "__main__":
    for row in run():
        print(row)
