"""The graph theory's per-operation maps against closed forms and Monte Carlo (numpy only)."""

import numpy as np
import pytest

from bnn_init.theory.maps import (
    Add,
    Affine,
    BatchNormTraining,
    Chain,
    Concatenate,
    Dropout,
    Linear,
    Pad,
    Pointwise,
    Product,
)
from bnn_init.theory.moments import Moments, derivative_moment, pointwise
from bnn_init.theory.pointwise import Clip, DoReFa, PReLU, ReLU, Sign, Tanh, Ternary


def _gaussian_pairs(mean, variance, rho_pair, rho_batch, units=400_000, seed=0):
    """Values of ``units`` units on a pair (a, b): a shared offset per unit (the batch part),
    then pair and independent parts, so that the moments are exactly those of the ansatz."""
    rng = np.random.default_rng(seed)
    offset = np.sqrt(rho_batch * variance) * rng.standard_normal(units)
    shared = np.sqrt((rho_pair - rho_batch) * variance) * rng.standard_normal(units)
    rest = np.sqrt((1 - rho_pair) * variance)
    a = mean + offset + shared + rest * rng.standard_normal(units)
    b = mean + offset + shared + rest * rng.standard_normal(units)
    return a, b


def test_sign_follows_the_arcsine_law():
    for c in (-0.5, 0.0, 0.3, 0.9, 0.999):
        out = pointwise(Moments(mean=0.0, q=2.0, pair=2.0 * c, batch=0.0), Sign())
        assert out.q == pytest.approx(1.0, abs=1e-12)
        assert out.pair == pytest.approx(2.0 / np.pi * np.arcsin(c), abs=1e-8)
        assert out.mean == pytest.approx(0.0, abs=1e-12)


def test_relu_follows_the_arc_cosine_kernel():
    for c in (-0.8, 0.0, 0.5, 0.95):
        out = pointwise(Moments(mean=0.0, q=1.0, pair=c, batch=0.0), ReLU())
        expected = (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / (2 * np.pi)
        assert out.pair == pytest.approx(expected, abs=1e-9)
        assert out.q == pytest.approx(0.5, abs=1e-12)
        assert out.mean == pytest.approx(1 / np.sqrt(2 * np.pi), abs=1e-12)


@pytest.mark.parametrize(
    "function", [Sign(), ReLU(), PReLU(0.25), Tanh(), Clip(-1, 1), DoReFa(2), Ternary(0.3)]
)
def test_pointwise_moments_with_a_mean_agree_with_monte_carlo(function):
    mean, variance, rho_pair, rho_batch = 0.3, 0.8, 0.6, 0.2
    moments = Moments(mean, variance + mean**2, rho_pair * variance + mean**2, 0.0)
    a, b = _gaussian_pairs(mean, variance, rho_pair, rho_batch)
    out = pointwise(moments, function)
    fa, fb = function.value(a), function.value(b)
    assert out.mean == pytest.approx(np.mean(fa), abs=5e-3)
    assert out.q == pytest.approx(np.mean(fa**2), rel=5e-3, abs=2e-3)
    assert out.pair == pytest.approx(np.mean(fa * fb), rel=1e-2, abs=3e-3)
    assert derivative_moment(moments, function) == pytest.approx(
        np.mean(function.derivative(a) ** 2), abs=5e-3
    )


def test_batch_norm_in_training_mode_against_a_simulated_batch():
    rng = np.random.default_rng(1)
    channels, batch, rho_pair = 2000, 256, 0.5
    offsets = 0.7 * rng.standard_normal((1, channels))  # per-channel means: batch moment 0.49
    common = rng.standard_normal((batch // 2, channels))
    a = (
        offsets
        + np.sqrt(rho_pair) * common
        + np.sqrt(1 - rho_pair) * rng.standard_normal(common.shape)
    )
    b = (
        offsets
        + np.sqrt(rho_pair) * common
        + np.sqrt(1 - rho_pair) * rng.standard_normal(common.shape)
    )
    x = np.concatenate([a, b])
    gamma, beta = rng.uniform(0.5, 1.5, channels), 0.1 * rng.standard_normal(channels)
    epsilon = 1e-3
    y = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + epsilon) + beta
    moments = Moments(x.mean(), np.mean(x**2), np.mean(a * b), np.mean(x.mean(0) ** 2))
    out = BatchNormTraining(Affine.per_channel(gamma, beta), epsilon).forward(moments)
    half = batch // 2
    assert out.q == pytest.approx(np.mean(y**2), rel=1e-2)
    assert out.pair == pytest.approx(np.mean(y[:half] * y[half:]), rel=2e-2)
    assert out.batch == pytest.approx(np.mean(y.mean(0) ** 2), rel=1e-2)
    assert out.mean == pytest.approx(np.mean(y), abs=1e-3)


def test_residual_sum_of_independent_branches_adds_moments_and_mean_products():
    x = Moments(mean=0.5, q=1.25, pair=0.8, batch=0.4)
    y = Moments(mean=-0.2, q=2.0, pair=0.5, batch=0.1)
    out = Add().forward(x, y)
    assert out.mean == pytest.approx(0.3)
    assert out.q == pytest.approx(1.25 + 2.0 + 2 * 0.5 * -0.2)
    assert out.pair == pytest.approx(0.8 + 0.5 - 0.2)
    # Monte Carlo: independent Gaussian units with those moments
    rng = np.random.default_rng(2)
    n = 400_000
    xs = 0.5 + rng.standard_normal(n)
    ys = -0.2 + np.sqrt(2.0 - 0.04) * rng.standard_normal(n)
    assert np.mean((xs + ys) ** 2) == pytest.approx(out.q, rel=1e-2)


def test_concatenation_weights_by_width_and_product_multiplies():
    x, y = Moments(0.0, 1.0, 0.5, 0.1), Moments(1.0, 3.0, 2.0, 1.5)
    out = Concatenate((64, 192)).forward(x, y)
    assert out.q == pytest.approx(0.25 * 1.0 + 0.75 * 3.0)
    assert out.pair == pytest.approx(0.25 * 0.5 + 0.75 * 2.0)
    with pytest.raises(ValueError, match="2 widths but 1 inputs"):
        Concatenate((1, 2)).forward(x)
    scaled = Product().forward(x, y)
    assert (scaled.q, scaled.pair) == pytest.approx((3.0, 1.0))


def test_linear_with_padding_dropout_and_pad():
    x = Moments(mean=0.0, q=1.0, pair=0.5, batch=0.0)
    out = Linear(weight_square=2.0, bias_square=0.1, coverage=0.75, pad_value=1.0).forward(x)
    assert out.q == pytest.approx(2.0 * (0.75 + 0.25) + 0.1)
    assert out.pair == pytest.approx(2.0 * (0.75 * 0.5 + 0.25) + 0.1)
    assert Dropout(0.5).forward(x) == x
    assert Dropout(0.5, training=True).forward(x).q == pytest.approx(2.0)
    padded = Pad(coverage=0.64).forward(Moments(1.0, 2.0, 1.5, 1.0))
    assert (padded.mean, padded.q) == pytest.approx((0.64, 1.28))


def test_chain_composes_maps_and_reproduces_the_hard_tanh_family():
    from bnn_init.theory import HardTanhBNN

    family = HardTanhBNN(r=1.0, sigma_w2=1.3, sigma_b2=0.05)
    layer = Chain((Pointwise(Clip(-1.0, 1.0)), Linear(weight_square=1.3, bias_square=0.05)))
    for q, c in ((0.5, 0.2), (2.0, 0.7)):
        out = layer.forward(Moments(0.0, q, c * q, 0.0))
        assert out.q == pytest.approx(float(family.q_map(q)), rel=1e-8)
        assert out.c == pytest.approx(float(family.c_map(c, q=q)), abs=1e-6)


def test_moments_reject_non_finite_and_negative_values():
    with pytest.raises(ValueError, match="Moments.q must be finite"):
        Moments(0.0, np.nan, 0.0, 0.0)
    with pytest.raises(ValueError, match="Moments.q must be >= 0"):
        Moments(0.0, -1.0, 0.0, 0.0)
