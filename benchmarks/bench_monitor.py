# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Overhead of ``SignalPropagationMonitor`` at its defaults (a 128-example probe with labels,
logged once per epoch to TensorBoard with scalars, layout and image) on the training epoch time of
a 10-layer width-512 hard-tanh BNN (Larq ``QuantDense``, critical initialisation) over 20k
examples, batch size 64.

Epochs with and without the monitor alternate in one process (the first epoch of each model is
discarded as tracing); value = median epoch time with the monitor, baseline = without it,
ratio = value / baseline; target <= 1.05. A second row times the part of one monitor log that blocks
training (probe, statistics, theory, TensorBoard scalars; the image is rendered in a background
thread) directly, against the same baseline epoch: ratio = (epoch + log) / epoch, free of the
epoch-to-epoch noise of a shared machine. Two more rows do the same on larq-zoo's QuickNetSmall
(2048 examples of 32 x 32 x 3 per epoch, the graph theory's full probe; target <= 1.10)."""

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

from . import row

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


def epoch_times(x, y, log_dir=None, build=lambda: bnn(seed=0), rounds=ROUNDS):
    """(per-epoch wall times of ``rounds`` epochs after the first, monitor or None); the monitor
    runs before the timer's epoch end, so its cost is inside the epoch."""
    model = build()
    timer = EpochTimer()
    callbacks = [timer]
    monitor = None
    if log_dir is not None:
        monitor = SignalPropagationMonitor(x[:PROBE], y[:PROBE], log_dir=log_dir)
        callbacks.insert(0, monitor)
    model.fit(x, y, batch_size=BATCH, epochs=rounds + 1, callbacks=callbacks, verbose=0)
    return timer.times[1:], monitor


ZOO_EXAMPLES, ZOO_ROUNDS = 2048, 2


def quicknet_small():
    """larq-zoo's QuickNetSmall (32 x 32 x 3, 10 classes), the graph theory's full probe."""
    from bnn_init.testing import zoo_model

    model = zoo_model("QuickNetSmall")
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def quicknet_rows():
    """Monitor overhead on QuickNetSmall: 2048 examples per epoch, every_n_epochs=1."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ZOO_EXAMPLES, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, CLASSES, size=ZOO_EXAMPLES)
    yield from overhead_rows(
        x,
        y,
        epoch_bench="monitor_epoch_time_quicknet_small_32x32_2k",
        log_bench="monitor_blocking_log_vs_epoch_quicknet_small_32x32_2k",
        target=1.10,
        timed=dict(build=quicknet_small, rounds=ZOO_ROUNDS),
        repeats=3,
    )


def overhead_rows(x, y, epoch_bench, log_bench, target, timed=None, repeats=5):
    """The two rows of one model: median epoch time with the monitor against without it (runs on
    both sides of the monitored one, against load drift), and one blocking log against an epoch."""
    timed = timed or {}
    with tempfile.TemporaryDirectory() as log_dir:
        without, _ = epoch_times(x, y, **timed)
        with_monitor, monitor = epoch_times(x, y, log_dir, **timed)
        without += epoch_times(x, y, **timed)[0]
        one_log = log_time(monitor, repeats=repeats)
    value, baseline = statistics.median(with_monitor), statistics.median(without)
    yield row(
        epoch_bench,
        round(value, 3),
        "s/epoch",
        round(baseline, 3),
        round(value / baseline, 4),
        target,
    )
    yield row(
        log_bench,
        round(one_log, 4),
        "s/log",
        round(baseline, 3),
        round((baseline + one_log) / baseline, 4),
        target,
    )


def log_time(monitor, repeats=5):
    """Median wall time of the blocking part of one log, as the Keras hooks run it."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        monitor.measure(wait=False)
        times.append(time.perf_counter() - start)
        monitor.wait()
    return statistics.median(times)


def run():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((EXAMPLES, INPUTS)).astype(np.float32)
    y = rng.integers(0, CLASSES, size=EXAMPLES)
    yield from overhead_rows(
        x,
        y,
        epoch_bench=f"monitor_epoch_time_bnn_{DEPTH}x{WIDTH}_{EXAMPLES // 1000}k",
        log_bench="monitor_blocking_log_vs_epoch_bnn_10x512_20k",
        target=1.05,
    )
    yield from quicknet_rows()


if __name__ == "__main__":
    for result in run():
        print(result)
