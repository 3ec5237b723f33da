# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Side-by-side online training (`fit_side_by_side`): T networks in one compiled loop compute what
each computes alone, a diverging one leaves the others alone, and bad input is refused."""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import numpy as np
import pytest

from bnn_init.datasets import teacher_student
from bnn_init.training import (
    BackPropNetwork,
    MFBNetwork,
    best_by_validation,
    fit_side_by_side,
)


def _streams(m, n, count):
    return [teacher_student(m, n, seed=10 + t, teacher_seed=t) for t in range(count)]


def test_mfb_networks_side_by_side_learn_exactly_what_each_learns_alone():
    streams = _streams(9, 1500, 3)
    together = [MFBNetwork(9, 9, 1, seed=t, dtype="float64") for t in range(3)]
    histories = fit_side_by_side(together, streams, epochs=2, chunk_size=400)
    for t, (x, y) in enumerate(streams):
        alone = MFBNetwork(9, 9, 1, seed=t, dtype="float64")
        history = alone.fit(x, y, epochs=2, verbose=0, chunk_size=400)
        for a, b in zip(together[t].fields, alone.fields, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        assert histories[t].history == history.history
        assert together[t].training_curve_.values == alone.training_curve_.values


def test_backprop_scan_side_by_side_skips_the_diverged_rate_and_matches_single_training():
    (x, y), (x_val, y_val) = _streams(9, 2000, 2)
    rates = (1e308, 0.03, 0.003)
    nets = [BackPropNetwork(9, 9, 1, rate, seed=0) for rate in rates]
    fit_side_by_side(nets, [(x, y)] * 3)
    assert [net.diverged for net in nets] == [True, False, False]
    alone = BackPropNetwork(9, 9, 1, 0.03, seed=0)
    alone.fit(x, y, verbose=0)
    np.testing.assert_allclose(nets[1].w1, alone.w1, rtol=1e-12, atol=1e-12)
    best, scores = best_by_validation(nets, x_val, y_val)
    assert np.isnan(scores[1e308]) and best.learning_rate == min(rates[1:], key=scores.get)
    with pytest.raises(FloatingPointError, match="learning_rate"):
        BackPropNetwork(9, 9, 1, 1e308, seed=0).fit(x, y, verbose=0)
    with pytest.raises(FloatingPointError, match="every learning rate"):
        best_by_validation(nets[:1], x_val, y_val)


def test_side_by_side_refuses_mixed_networks_and_streams():
    x, y = _streams(5, 100, 1)[0]
    with pytest.raises(ValueError, match="one kind, architecture"):
        fit_side_by_side([MFBNetwork(5, 5, 1), MFBNetwork(5, 3, 1)], [(x, y)] * 2)
    with pytest.raises(ValueError, match="one kind, architecture"):
        fit_side_by_side([MFBNetwork(5, 5, 1), BackPropNetwork(5, 5, 1)], [(x, y)] * 2)
    with pytest.raises(ValueError, match="one kind, architecture and dtype"):
        fit_side_by_side([MFBNetwork(5, 5, 1), MFBNetwork(5, 5, 1, dtype="float64")], [(x, y)] * 2)
    with pytest.raises(ValueError, match="one \\(x, y\\) per trainer"):
        fit_side_by_side([MFBNetwork(5, 5, 1)] * 2, [(x, y)])
    with pytest.raises(ValueError, match="one length"):
        fit_side_by_side([MFBNetwork(5, 5, 1)] * 2, [(x, y), (x[:50], y[:50])])
    with pytest.raises(ValueError, match="at least one"):
        fit_side_by_side([], [])
