"""Random surrogate stacks at initialisation follow the mean-field theory (Stamatescu et al. (2019),
Fig. 1: width N = 1000, sigma_m2 in {0.2, 0.5, 0.99}, sigma_b2 = 0.001): measured q^l and c^l of a
width-1024, depth-20 stack against `DeterministicSurrogate` / `LRTSurrogate` trajectories seeded
with the measured first layer. Tolerances: q within 8 %, c within 0.05 (0.06 near criticality):
at this width and 3 realisations the measured c wanders by a few hundredths along depth, with
a sign that changes from seed to seed and width to width (no bias)."""

import math

import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.initializers import BinaryMeans, CriticalBias
from bnn_init.layers import DeterministicSurrogateDense, LRTSurrogateDense
from bnn_init.theory import DeterministicSurrogate, LRTSurrogate

WIDTH, DEPTH, PAIRS, REALISATIONS, C0 = 1024, 20, 8, 3, 0.6
SIGMA_B2 = 0.001


def _inputs():
    z = np.random.default_rng(0).normal(size=(PAIRS, 2, WIDTH))
    second = C0 * z[:, 0] + math.sqrt(1 - C0**2) * z[:, 1]
    return tf.constant(np.concatenate([z[:, 0], second]).astype(np.float32))


def _measure(make_layer, training):
    """Mean over realisations of q^l (mean squared field) and c^l (mean pair correlation)."""
    qs, cs = [], []
    for r in range(REALISATIONS):
        x, q, c = _inputs(), [], []
        for depth in range(DEPTH):
            layer = make_layer(depth, seed=1000 * r + depth)
            layer.build(x.shape)
            h = layer.field(x, training=training).numpy()
            a, b = h[:PAIRS], h[PAIRS:]
            q.append(np.mean(h**2))
            c.append(np.mean(np.sum(a * b, 1) / np.sqrt(np.sum(a * a, 1) * np.sum(b * b, 1))))
            x = layer.neuron(tf.constant(h))
        qs.append(q)
        cs.append(c)
    return np.mean(qs, 0), np.mean(cs, 0)


def _check(q, c, theory, q_rtol, c_atol):
    trajectory = theory.trajectory(q[0], c[0], DEPTH)
    np.testing.assert_allclose(q, trajectory.q, rtol=q_rtol)
    np.testing.assert_allclose(c, trajectory.c, atol=c_atol)


@pytest.mark.parametrize("sigma_m2", [0.2, 0.5, 0.99])
def test_deterministic_surrogate_stack_follows_theory(sigma_m2):
    def make(depth, seed):
        return DeterministicSurrogateDense(
            WIDTH,
            kernel_initializer=BinaryMeans(sigma_m2, seed=seed),
            bias_initializer=CriticalBias(SIGMA_B2, seed=seed + 500),
            input_kind="real" if depth == 0 else "means",
        )

    q, c = _measure(make, training=False)
    _check(q, c, DeterministicSurrogate(sigma_m2, SIGMA_B2), q_rtol=0.08, c_atol=0.05)
    if sigma_m2 == 0.99:  # real inputs, two-point means: q^1 = sigma_m2 / (1 - sigma_m2)
        assert q[0] == pytest.approx(99.0, rel=0.05)


def test_deterministic_surrogate_near_criticality_follows_theory():
    """kappa = sqrt(pi)/2 (the tanh-matched neuron, Stamatescu et al. 2019, eq. 34) at sigma_m2 = 0.99: chi_1 ~ 0.97,
    correlations decay slowly (erratum 7)."""
    kappa = math.sqrt(math.pi) / 2

    def make(depth, seed):
        return DeterministicSurrogateDense(
            WIDTH,
            kappa=kappa,
            kernel_initializer=BinaryMeans(0.99, seed=seed),
            bias_initializer=CriticalBias(SIGMA_B2, seed=seed + 500),
            input_kind="real" if depth == 0 else "means",
        )

    q, c = _measure(make, training=False)
    _check(q, c, DeterministicSurrogate(0.99, SIGMA_B2, kappa), q_rtol=0.08, c_atol=0.06)


@pytest.mark.parametrize("neurons", ["binary", "continuous"])
def test_lrt_surrogate_stack_follows_theory(neurons):
    def make(depth, seed):
        return LRTSurrogateDense(
            WIDTH,
            neurons=neurons,
            kernel_initializer=BinaryMeans(0.5 if neurons == "binary" else 0.99, seed=seed),
            bias_initializer=CriticalBias(SIGMA_B2, seed=seed + 500),
            input_kind="real" if depth == 0 else None,
            seed=seed,
        )

    q, c = _measure(make, training=True)
    sigma_m2 = 0.5 if neurons == "binary" else 0.99
    theory = LRTSurrogate(sigma_m2, SIGMA_B2, neurons)
    _check(q, c, theory, q_rtol=0.08, c_atol=0.05)
    if neurons == "binary":  # Stamatescu et al. 2019, eq. 19: q = 1 + sigma_b2 whatever sigma_m2
        np.testing.assert_allclose(q[1:], 1 + SIGMA_B2, rtol=0.03)
