"""Where training stops working: the measured trainable-depth boundary of an accuracy grid over
(depth, x), set against the theory's depth scale xi_c (Schoenholz et al. (2017), sec. 5)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["boundary", "one_decimal", "trainable_depths"]


def one_decimal(value) -> str:
    """``value`` with one decimal, or "n/a" where it is not finite (e.g. no boundary measured)."""
    return f"{value:.1f}" if math.isfinite(value) else "n/a"


def trainable_depths(depths, accuracy_grid, threshold) -> np.ndarray:
    """Per column of ``accuracy_grid[depth, x]`` (depths ascending), the measured boundary of the
    trainable region: the largest depth up to which every cell reaches ``threshold`` (0 where the
    shallowest does not). The rule is monotone: a deeper cell that trains by luck beyond a failed
    one does not move the boundary."""
    depths = np.asarray(depths, dtype=float)
    if np.any(np.diff(depths) <= 0):
        raise ValueError(f"depths must be strictly ascending, got {depths.tolist()}")
    trained = np.asarray(accuracy_grid) >= threshold
    reached = np.cumprod(trained, axis=0).sum(axis=0)  # trained cells before the first failure
    return np.where(reached > 0, depths[np.maximum(reached - 1, 0)], 0.0)


def boundary(depths, accuracy_grid, xi_c, threshold, n=6.0) -> dict:
    """Measured trainable boundary of ``accuracy_grid[depth, x]`` against the theory's depth
    scale ``xi_c[x]`` (Schoenholz et al. (2017), sec. 5: trainable when L <~ n xi_c, n = 6).

    Returns ``max_trained_depth`` (per x, `trainable_depths`), ``fitted_n`` (median of
    max_trained_depth / xi_c over the columns whose boundary lies strictly inside the grid; NaN
    when none does) and ``agreement`` (fraction of the measured cells where "accuracy >= threshold" equals
    "L <= n xi_c"; a cell that was not trained, NaN, counts as failed for the boundary and is left
    out of the agreement).
    """
    depths = np.asarray(depths, dtype=float)
    grid, xi = np.asarray(accuracy_grid, dtype=float), np.asarray(xi_c, dtype=float)
    l_max = trainable_depths(depths, grid, threshold)
    inside = (l_max > 0) & (l_max < depths.max()) & np.isfinite(xi)
    fitted = float(np.median(l_max[inside] / xi[inside])) if inside.any() else math.nan
    predicted = depths[:, None] <= n * xi[None, :]
    measured = np.isfinite(grid)
    agreement = float(np.mean((predicted == (grid >= threshold))[measured]))
    return {"max_trained_depth": l_max, "fitted_n": fitted, "agreement": agreement}
