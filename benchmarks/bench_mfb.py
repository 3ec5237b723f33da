# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""MFB-BackProp throughput: samples per second of ``MFBNetwork.fit`` (Algorithm 1 of Soudry &
Meir 2013, compiled with XLA) against a Keras SGD step with batch size 1 (``model.fit``) on the
real-weight network of the same converging architecture, measured side by side.

Ratio = MFB samples/s / Keras steps/s; target >= 1 (an MFB update is no slower than the Keras
gradient step it replaces).

At the paper's MNIST size (785 x (301 x 10) x 10, 2.4 M weights) two more rows per dtype set
``MFBNetwork.fit`` against the memory-bandwidth limit of one pass over the weights per sample:
the samples/s of an XLA loop that reads and writes the fields once per step (their size, their
dtype) on the same machine in the same run; ratio = fraction of that limit; target >= 250
samples/s. They run twice: on dense Gaussian inputs, and on inputs with `MNIST_NONZERO` nonzero
pixels per sample (random positions and values in (0, 1], plus the constant 1), like raw MNIST
images with their black background, where the update visits only the nonzero columns. (Soudry &
Meir 2013 centre and normalise MNIST, which makes every input nonzero: the dense rows.)

A last row trains the paper's 10 teacher-student trials of one size side by side
(`fit_side_by_side`) against one after the other: samples learnt per second, ratio = speed-up.

Every rate is the best of ``REPEATS`` timed runs (neighbours on the machine make single runs
vary by +-30 %)."""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import time

import numpy as np
import tensorflow as tf

from bnn_init.training.backprop import BackPropNetwork
from bnn_init.datasets import teacher_student
from bnn_init.training import MFBNetwork, fit_side_by_side
from bnn_init.training.mfb import DTYPES

from . import row

REPEATS = 3
MNIST_NONZERO = 150  # nonzero pixels of 784 per sample in the sparse rows

# (name, D, K, O, samples timed for MFB, steps timed for Keras)
ARCHITECTURES = (
    ("teacher_student_101x(101x1)x1", 101, 101, 1, 20_000, 2_000),
    ("digits_65x(30x10)x10", 65, 30, 10, 20_000, 2_000),
    ("mnist_785x(301x10)x10", 785, 301, 10, 100, 200),
)


def _data(d, o, n, rng, nonzero=None):
    """n inputs (Gaussian, or with ``nonzero`` of the first d - 1 entries in (0, 1] and the last 1)
    and labels."""
    x = rng.standard_normal((n, d)).astype(np.float32)
    if nonzero is not None:
        keep = np.argsort(rng.random((n, d - 1)), axis=1) < nonzero
        x = np.concatenate([np.where(keep, 1.0 - rng.random((n, d - 1)), 0.0), np.ones((n, 1))], 1)
    labels = rng.integers(0, o, size=n) if o > 1 else rng.choice([-1.0, 1.0], size=n)
    return x, labels


def _best_rate(work, n):
    """Items per second of ``work()`` (which handles ``n`` items), best of `REPEATS` runs."""
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return n / min(seconds)


def mfb_rate(d, k, o, n, rng, dtype=DTYPES[0], nonzero=None):
    x, y = _data(d, o, n, rng, nonzero)
    net = MFBNetwork(d, k, o, seed=0, dtype=dtype)
    net.fit(x[:10], y[:10], verbose=0, chunk_size=1000)  # compile
    return _best_rate(lambda: net.fit(x, y, verbose=0, chunk_size=1000), n)


def side_by_side_speedup(m=21, trials=10, n=5_000):
    """Samples learnt per second by ``trials`` MFB networks M x (M x 1) x 1 (n samples each),
    side by side and one after the other."""
    streams = [teacher_student(m, n, seed=t, teacher_seed=t) for t in range(trials)]
    nets = [MFBNetwork(m, m, 1, seed=t) for t in range(trials)]
    fit_side_by_side(nets, [(x[:10], y[:10]) for x, y in streams])  # compile both programs
    nets[0].fit(*streams[0], verbose=0)
    together = _best_rate(lambda: fit_side_by_side(nets, streams), n * trials)
    alone = _best_rate(
        lambda: [net.fit(*s, verbose=0) for net, s in zip(nets, streams, strict=True)], n * trials
    )
    return together, alone


def keras_rate(d, k, o, n, rng):
    x, y = _data(d, o, n, rng)
    targets = np.where(np.arange(o) == y[:, None], 1.0, -1.0) if o > 1 else y[:, None]
    model = BackPropNetwork(d, k, o, seed=0).to_keras()
    model.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss="mse")
    model.fit(x[:20], targets[:20], batch_size=1, epochs=1, verbose=0)  # trace and warm up
    return _best_rate(lambda: model.fit(x, targets, batch_size=1, epochs=1, verbose=0), n)


def bandwidth_limit(d, k, o, dtype, steps=50):
    """Steps/s of an XLA loop that reads and writes all ``o k (d + 1)`` fields once per step."""
    h1 = tf.zeros((o, k, d), dtype)
    h2 = tf.zeros((o, k), dtype)

    @tf.function(jit_compile=True)
    def passes(h1, h2):
        step = lambda i, a, b: (i + 1, a + 1.0, b + 1.0)  # noqa: E731
        return tf.while_loop(lambda i, *_: i < steps, step, (0, h1, h2))[1:]

    passes(h1, h2)[0].numpy()  # compile
    return _best_rate(lambda: passes(h1, h2)[0].numpy(), steps)


def run():
    rng = np.random.default_rng(0)
    rates = {}  # samples/s per architecture at the default dtype, reused for the bandwidth rows
    for name, d, k, o, n_mfb, n_keras in ARCHITECTURES:
        mfb = rates[name] = mfb_rate(d, k, o, n_mfb, rng)
        keras = keras_rate(d, k, o, n_keras, rng)
        yield row(
            f"mfb_fit_vs_keras_sgd_batch1_{name}",
            round(mfb, 1),
            "samples/s",
            round(keras, 1),
            round(mfb / keras, 2),
            1.0,
        )
    name, d, k, o, n_mfb, _ = ARCHITECTURES[-1]
    for dtype in DTYPES:
        limit = bandwidth_limit(d, k, o, dtype)
        for nonzero, inputs in ((None, "dense_inputs"), (MNIST_NONZERO, "150_nonzero_inputs")):
            if dtype == DTYPES[0] and nonzero is None:
                rate = rates[name]
            else:
                rate = mfb_rate(d, k, o, n_mfb, rng, dtype, nonzero)
            yield row(
                f"mfb_fit_{name}_{dtype}_{inputs}_vs_one_pass_over_the_weights",
                round(rate, 1),
                "samples/s",
                round(limit, 1),
                round(rate / limit, 3),
                ">= 250 samples/s",
            )
    together, alone = side_by_side_speedup()
    yield row(
        "mfb_fit_side_by_side_10_trials_teacher_student_21x(21x1)x1",
        round(together, 1),
        "samples/s",
        round(alone, 1),
        round(together / alone, 2),
        "> 1",
    )


if __name__ == "__main__":
    for result in run():
        print(result)
