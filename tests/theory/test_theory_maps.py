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
    RandomLinear,
    Tile,
)
from bnn_init.theory.moments import Moments, derivative_moment, pointwise
from bnn_init.theory.pointwise import Clip, DoReFa, PReLU, ReLU, Sigmoid, Sign, Tanh, Ternary


def _gaussian_pairs(mean, variance, rho, units=400_000, seed=0):
    """Values of ``units`` units of one channel on a pair (a, b) of inputs."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(units)
    a = mean + np.sqrt(variance) * shared
    b = mean + np.sqrt(variance) * (rho * shared + np.sqrt(1 - rho**2) * rng.standard_normal(units))
    return a, b


def test_sign_follows_the_arcsine_law():
    for c in (-0.5, 0.0, 0.3, 0.9, 0.999):
        out = pointwise(Moments.uniform(mean=0.0, q=2.0, pair=2.0 * c), Sign())
        assert out.q == pytest.approx(1.0, abs=1e-12)
        assert out.pair == pytest.approx(2.0 / np.pi * np.arcsin(c), abs=1e-8)
        assert out.mean == pytest.approx(0.0, abs=1e-12)


def test_relu_follows_the_arc_cosine_kernel():
    for c in (-0.8, 0.0, 0.5, 0.95):
        out = pointwise(Moments.uniform(mean=0.0, q=1.0, pair=c), ReLU())
        expected = (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / (2 * np.pi)
        assert out.pair == pytest.approx(expected, abs=1e-9)
        assert out.q == pytest.approx(0.5, abs=1e-12)
        assert out.mean == pytest.approx(1 / np.sqrt(2 * np.pi), abs=1e-12)


@pytest.mark.parametrize(
    "function",
    [Sign(), ReLU(), PReLU(0.25), Tanh(), Clip(-1, 1), DoReFa(2), Ternary(0.3), Sigmoid()],
)
def test_pointwise_moments_with_a_mean_agree_with_monte_carlo(function):
    mean, variance, rho = 0.3, 0.8, 0.6
    moments = Moments.uniform(mean, variance + mean**2, rho * variance + mean**2)
    a, b = _gaussian_pairs(mean, variance, rho)
    out = pointwise(moments, function)
    fa, fb = function.value(a), function.value(b)
    assert out.mean == pytest.approx(np.mean(fa), abs=5e-3)
    assert out.q == pytest.approx(np.mean(fa**2), rel=5e-3, abs=2e-3)
    assert out.pair == pytest.approx(np.mean(fa * fb), rel=1e-2, abs=3e-3)
    assert derivative_moment(moments, function) == pytest.approx(
        np.mean(function.derivative(a) ** 2), abs=5e-3
    )


def test_pointwise_works_channel_by_channel():
    means = np.array([-2.0, 0.0, 3.0])
    out = pointwise(Moments(means, means**2 + 1.0, means**2 + 0.5), Sign())
    np.testing.assert_allclose(out.channel_mean, [-0.9545, 0.0, 0.9973], atol=1e-4)
    np.testing.assert_allclose(out.channel_q, 1.0)


def test_batch_norm_in_training_mode_against_a_simulated_batch():
    rng = np.random.default_rng(1)
    channels, batch, rho = 500, 256, 0.5
    offsets = 0.7 * rng.standard_normal(channels)  # per-channel means
    scales = rng.uniform(0.5, 2.0, channels)  # and per-channel spreads
    common = rng.standard_normal((batch // 2, channels))
    a = offsets + scales * (
        np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(common.shape)
    )
    b = offsets + scales * (
        np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(common.shape)
    )
    x = np.concatenate([a, b])
    gamma, beta = rng.uniform(0.5, 1.5, channels), 0.1 * rng.standard_normal(channels)
    epsilon = 1e-3
    y = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + epsilon) + beta
    half = batch // 2
    moments = Moments(x.mean(0), np.mean(x**2, 0), np.mean(a * b, 0))
    out = BatchNormTraining(gamma, beta, epsilon).forward(moments)
    np.testing.assert_allclose(out.channel_q, np.mean(y**2, 0), rtol=1e-6)
    np.testing.assert_allclose(out.channel_pair, np.mean(y[:half] * y[half:], 0), atol=1e-6)
    np.testing.assert_allclose(out.channel_mean, beta, atol=1e-9)


def test_linear_keeps_channel_means_exact_for_its_kernel_and_matches_monte_carlo():
    rng = np.random.default_rng(3)
    fan_in, outputs, units = 64, 32, 20_000
    kernel = rng.standard_normal((1, fan_in, outputs)) / np.sqrt(fan_in)
    mean = rng.uniform(-1, 1, fan_in)  # inputs with strong per-channel means
    a, b = (mean + rng.standard_normal((units, fan_in)) for _ in range(2))
    b = 0.5 * a + np.sqrt(0.75) * (b - mean) + 0.5 * mean  # pairs correlated 0.5 around the mean
    moments = Moments(mean, mean**2 + 1.0, mean**2 + 0.5)
    out = Linear(kernel=kernel).forward(moments)
    ha, hb = a @ kernel[0], b @ kernel[0]
    np.testing.assert_allclose(out.channel_mean, ha.mean(0), atol=0.03)
    np.testing.assert_allclose(out.channel_q, np.mean(ha**2, 0), rtol=0.05)
    np.testing.assert_allclose(out.channel_pair, np.mean(ha * hb, 0), rtol=0.1, atol=0.02)


def test_residual_sum_of_independent_branches_adds_moments_and_mean_products():
    x = Moments(0.5, 1.25, 0.8)
    y = Moments(-0.2, 2.0, 0.5)
    out = Add().forward(x, y)
    assert out.mean == pytest.approx(0.3)
    assert out.q == pytest.approx(1.25 + 2.0 + 2 * 0.5 * -0.2)
    assert out.pair == pytest.approx(0.8 + 0.5 - 0.2)
    rng = np.random.default_rng(2)  # Monte Carlo: independent Gaussian units with those moments
    n = 400_000
    xs = 0.5 + rng.standard_normal(n)
    ys = -0.2 + np.sqrt(2.0 - 0.04) * rng.standard_normal(n)
    assert np.mean((xs + ys) ** 2) == pytest.approx(out.q, rel=1e-2)


def test_concatenation_product_tile_dropout_and_pad():
    x, y = Moments.uniform(0.0, 1.0, 0.5, channels=64), Moments.uniform(1.0, 3.0, 2.0, channels=192)
    out = Concatenate().forward(x, y)
    assert out.channels == 256
    assert out.q == pytest.approx(0.25 * 1.0 + 0.75 * 3.0)
    assert out.pair == pytest.approx(0.25 * 0.5 + 0.75 * 2.0)
    scaled = Product().forward(x, Moments.uniform(1.0, 3.0, 2.0))
    assert (scaled.q, scaled.pair) == pytest.approx((3.0, 1.0))
    assert (
        Tile(4).forward(Moments([1.0, 2.0], [1.0, 4.0], [1.0, 4.0])).channel_mean.tolist()
        == [
            1.0,
            2.0,
        ]
        * 4
    )
    small = Moments.uniform(0.0, 1.0, 0.5)
    assert Dropout(0.5).forward(small) is small
    assert Dropout(0.5, training=True).forward(small).q == pytest.approx(2.0)
    padded = Pad(coverage=0.64).forward(Moments(1.0, 2.0, 1.5))
    assert (padded.mean, padded.q) == pytest.approx((0.64, 1.28))


def test_chain_composes_maps_and_reproduces_the_hard_tanh_family():
    from bnn_init.theory import HardTanhBNN

    family = HardTanhBNN(r=1.0, sigma_w2=1.3, sigma_b2=0.05)
    layer = Chain((Pointwise(Clip(-1.0, 1.0)), RandomLinear(weight_square=1.3, bias_square=0.05)))
    for q, c in ((0.5, 0.2), (2.0, 0.7)):
        out = layer.forward(Moments.uniform(0.0, q, c * q))
        assert out.q == pytest.approx(float(family.q_map(q)), rel=1e-8)
        assert out.c == pytest.approx(float(family.c_map(c, q=q)), abs=1e-6)
    assert Affine(2.0, 1.0).forward(Moments(1.0, 2.0, 1.5)).q == pytest.approx(4 * 2 + 4 + 1)


def test_moments_reject_non_finite_and_negative_values():
    with pytest.raises(ValueError, match="Moments.channel_q must be finite"):
        Moments(0.0, np.nan, 0.0)
    with pytest.raises(ValueError, match="Moments.channel_q must be >= 0"):
        Moments(0.0, -1.0, 0.0)


def test_compositions_reproduce_the_sign_and_tanh_families_and_their_backward_factors():
    from bnn_init.theory import ContinuousNet, SignNet

    sign_net = SignNet(sigma_b2=0.1)
    sign_layer = Chain((Pointwise(Sign()), RandomLinear(weight_square=1.0, bias_square=0.1)))
    tanh_net = ContinuousNet(phi="tanh", sigma_w2=1.7, sigma_b2=0.05)
    tanh_layer = Chain((Pointwise(Tanh()), RandomLinear(weight_square=1.7, bias_square=0.05)))
    for q, c in ((0.5, 0.2), (2.0, 0.7), (1.1, -0.3)):
        x = Moments.uniform(0.0, q, c * q)
        for family, layer in ((sign_net, sign_layer), (tanh_net, tanh_layer)):
            out = layer.forward(x)  # tanh: two quadratures, agreeing to ~1e-6
            assert out.q == pytest.approx(float(family.q_map(q)), rel=1e-5)
            assert out.c == pytest.approx(float(family.c_map(c, q=q)), abs=1e-5)
        assert derivative_moment(x, Sign()) == pytest.approx(
            float(sign_net.backward_factor(q)), rel=1e-9
        )


_FAMILIES = [
    "ContinuousNet(phi='tanh', sigma_w2=1.7, sigma_b2=0.05)",
    "ContinuousNet(phi='erf', sigma_w2=2.2, sigma_b2=0.1, dropout_rate=0.2)",
    "ContinuousNet(phi='hard_tanh', sigma_w2=1.2)",
    "HardTanhBNN(r=0.4, sigma_w2=0.2, sigma_b2=0.01)",
    "HardTanhBNN(r=1.0, sigma_w2=1.3, sigma_b2=0.05)",
    "SignNet(sigma_b2=0.1, ste_clip=1.5)",
    "DeterministicSurrogate(sigma_m2=0.99, sigma_b2=0.02)",
    "DeterministicSurrogate(sigma_m2=0.7, kappa=1.2)",
    "LRTSurrogate(sigma_m2=0.9, sigma_b2=0.05, neurons='binary')",
    "LRTSurrogate(sigma_m2=0.8, sigma_b2=0.05, neurons='continuous')",
]


@pytest.mark.parametrize("family", _FAMILIES)
def test_every_family_is_a_composition_of_maps(family):
    """Each family's ``layer`` (a Chain of maps) gives its closed-form q map, correlation map and
    backward factor (to 1e-12 in closed form; tanh's to 1e-6, where the family's own 128-point
    Gauss-Hermite rule for E[tanh'^2] is off by 1.2e-6 at q = 2.5)."""
    from bnn_init import theory

    model = eval(family, vars(theory))
    for q, c in ((0.3, 0.2), (1.0, 0.6), (2.5, -0.4), (0.8, 0.95)):
        x = Moments.uniform(0.0, q, c * q)
        out = model.layer.forward(x)
        assert out.q == pytest.approx(float(model.q_map(q)), rel=1e-7)
        assert out.c == pytest.approx(float(model.c_map(c, q=q)), abs=1e-7)
        (back,) = model.layer.backward(np.ones(1), x)
        assert float(np.mean(back)) == pytest.approx(float(model.backward_factor(q)), rel=1e-5)


@pytest.mark.parametrize("std, rho, mean", [(5.0, 0.7, 1.0), (10.0, 0.3, -2.0)])
def test_smooth_functions_stay_accurate_for_wide_inputs(std, rho, mean):
    """tanh of inputs with std 5-10 (a fixed Gauss-Hermite rule misses E[tanh'^2] there by
    45-97 %)."""
    a, b = _gaussian_pairs(mean, std**2, rho, units=2_000_000)
    x = Moments.uniform(mean, std**2 + mean**2, rho * std**2 + mean**2)
    out = pointwise(x, Tanh())
    fa, fb = np.tanh(a), np.tanh(b)
    assert out.mean == pytest.approx(np.mean(fa), abs=2e-3)
    assert out.q == pytest.approx(np.mean(fa**2), rel=2e-3)
    assert out.pair == pytest.approx(np.mean(fa * fb), rel=5e-3)
    assert derivative_moment(x, Tanh()) == pytest.approx(np.mean((1 - fa**2) ** 2), rel=1e-2)


def test_a_family_layer_needs_scalar_parameters():
    from bnn_init.theory import SignNet

    with pytest.raises(ValueError, match="layer needs scalar parameters"):
        _ = SignNet(sigma_b2=np.array([0.0, 0.1])).layer
