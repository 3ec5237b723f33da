"""The measured trainable-depth boundary against n xi_c (bnn_init.experiments.boundary)."""

import numpy as np
import pytest

from bnn_init.experiments import boundary as boundaries


def test_boundary_against_n_xi_c():
    depths = [10, 20, 40, 80]
    acc = np.array([[0.9, 0.9, 0.9], [0.9, 0.2, 0.9], [0.1, 0.1, 0.9], [0.1, 0.1, 0.1]])
    xi = np.array([3.0, 2.0, np.inf])
    found = boundaries.boundary(depths, acc, xi, threshold=0.5)
    np.testing.assert_array_equal(found["max_trained_depth"], [20, 10, 40])
    assert found["fitted_n"] == pytest.approx(np.median([20 / 3, 10 / 2]))
    # L <= 6 xi: 18 -> depths 10 (col 0); 12 -> 10 (col 1); inf -> all (col 2)
    assert found["agreement"] == pytest.approx(10 / 12)
    assert np.isnan(boundaries.boundary([1, 2], [[0.0], [0.0]], [1.0], 0.5)["fitted_n"])


def test_boundary_is_monotone_in_depth():
    """A cell that trains beyond a failed shallower one does not move the boundary."""
    acc = np.array([[0.9, 0.1], [0.2, 0.9], [0.9, 0.9]])
    np.testing.assert_array_equal(boundaries.trainable_depths([5, 10, 20], acc, 0.5), [5, 0])
    with pytest.raises(ValueError, match="ascending"):
        boundaries.trainable_depths([10, 5], acc[:2], 0.5)


def test_cells_that_were_not_trained_fail_and_stay_out_of_the_agreement():
    """NaN cells (not trained, deeper than a failure) count as failed for the boundary; the
    agreement is over the trained cells only."""
    acc = np.array([[0.9, 0.9], [0.1, 0.9], [np.nan, 0.1]])
    found = boundaries.boundary([10, 20, 40], acc, np.array([2.0, 5.0]), threshold=0.5)
    np.testing.assert_array_equal(found["max_trained_depth"], [10, 20])
    # L <= 6 xi: 12 -> depth 10 (col 0); 30 -> 10, 20 (col 1): all 5 trained cells agree
    assert found["agreement"] == 1.0
