"""Pooling maps against closed forms and Monte Carlo (numpy only)."""

import numpy as np
import pytest
from test_theory_maps import _gaussian_pairs

from bnn_init.theory.moments import Moments, channel_derivative_moment, pointwise
from bnn_init.theory.pointwise import ReLU
from bnn_init.theory.pooling import AveragePool, MaxPool, max_moments, max_pair_moment


def _windows(mean, variance, rho, k):
    """A channel's values on a pair of inputs at the k positions of 400k windows: Gaussian,
    independent between positions, correlation rho between the pair."""
    return _gaussian_pairs(mean, variance, rho, units=(400_000, k))


def test_maximum_of_standard_normals_has_the_known_moments():
    assert max_moments(1) == (0.0, 1.0)
    assert max_moments(2) == pytest.approx((1 / np.sqrt(np.pi), 1.0), abs=1e-10)
    assert max_moments(3)[0] == pytest.approx(3 / (2 * np.sqrt(np.pi)), abs=1e-10)


def test_pair_moment_of_two_maxima_has_the_closed_form():
    """max(a1, a2) = (a1 + a2) / 2 + |a1 - a2| / 2, and sum and difference are independent:
    g_2(rho) = rho / 2 + (sqrt(1 - rho^2) + rho arcsin rho) / pi."""
    rho = np.linspace(-1.0, 1.0, 41)
    expected = rho / 2 + (np.sqrt(1 - rho**2) + rho * np.arcsin(rho)) / np.pi
    np.testing.assert_allclose(max_pair_moment(2, rho), expected, atol=2e-4)
    assert max_pair_moment(9, np.array([0.0]))[0] == pytest.approx(max_moments(9)[0] ** 2, abs=1e-6)
    assert max_pair_moment(9, np.array([1.0]))[0] == pytest.approx(max_moments(9)[1], abs=1e-12)


@pytest.mark.parametrize("k", [4, 9])
def test_max_pool_of_gaussian_windows_agrees_with_monte_carlo(k):
    mean, variance, rho = 0.4, 1.7, 0.6
    a, b = _windows(mean, variance, rho, k)
    out = MaxPool((k,)).forward(Moments.uniform(mean, variance + mean**2, rho * variance + mean**2))
    ma, mb = a.max(axis=1), b.max(axis=1)
    assert out.mean == pytest.approx(np.mean(ma), abs=5e-3)
    assert out.q == pytest.approx(np.mean(ma**2), rel=5e-3)
    assert out.pair == pytest.approx(np.mean(ma * mb), rel=5e-3)


def test_average_pool_divides_the_fluctuations_by_the_window_size():
    mean, variance, rho = -0.3, 2.0, 0.5
    sizes = (4, 4, 2, 1)  # border windows of 'same' padding are smaller
    moments = Moments.uniform(mean, variance + mean**2, rho * variance + mean**2)
    out = AveragePool(sizes).forward(moments)
    inverse = np.mean([1 / k for k in sizes])
    assert out.mean == pytest.approx(mean)
    assert out.q == pytest.approx(mean**2 + inverse * variance)
    assert out.pair == pytest.approx(mean**2 + inverse * rho * variance)
    a, b = _windows(mean, variance, rho, 4)
    four = AveragePool((4,)).forward(moments)
    assert four.q == pytest.approx(np.mean(a.mean(axis=1) ** 2), rel=5e-3)
    assert four.pair == pytest.approx(np.mean(a.mean(axis=1) * b.mean(axis=1)), rel=1e-2)


def test_pooling_backward_factors():
    """Average pooling: each input gets delta / k from each of its windows; max pooling: each
    window sends its delta to one input; r = output over input positions."""
    delta = np.array([2.0, 3.0])
    np.testing.assert_allclose(
        AveragePool((4, 2), positions_ratio=0.25).backward(delta)[0], 0.25 * 0.375 * delta
    )
    np.testing.assert_allclose(MaxPool((9,), positions_ratio=0.25).backward(delta)[0], 0.25 * delta)


def test_window_sizes_must_be_positive():
    with pytest.raises(ValueError, match="window_sizes must be positive"):
        AveragePool((0, 4)).forward(Moments.uniform())


def test_max_pool_through_a_relu_takes_the_gaussian_ansatz_before_the_relu():
    """max_i relu(u_i) = relu(max_i u_i): within 1 % of Monte Carlo, where the ansatz on relu(u)
    misses q by more than 20 %; and the error reaches u only at the window maxima."""
    mean, variance, rho, k = 0.3, 1.0, 0.5, 9
    u_a, u_b = _windows(mean, variance, rho, k)
    a, b = ReLU().value(u_a).max(axis=1), ReLU().value(u_b).max(axis=1)
    before = Moments.uniform(mean, variance + mean**2, rho * variance + mean**2)
    after = pointwise(before, ReLU())
    through = MaxPool((k,), positions_ratio=0.25, through=ReLU()).forward(after, before)
    assert through.q == pytest.approx(np.mean(a**2), rel=0.01)
    assert through.pair == pytest.approx(np.mean(a * b), rel=0.01)
    assert MaxPool((k,)).forward(after).q < 0.8 * np.mean(a**2)
    routed, correction = MaxPool((k,), positions_ratio=0.25, through=ReLU()).backward(
        np.ones(1), after, before
    )
    to_u = routed * channel_derivative_moment(before, ReLU()) + correction
    at_maxima = np.mean(u_a.max(axis=1) > 0)  # relu' at the maximum of each window
    assert to_u[0] == pytest.approx(0.25 * at_maxima, rel=0.01)
