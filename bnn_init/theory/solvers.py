"""Vectorised fixed-point solvers for the variance and correlation maps.

Both maps of every model here are concave (q map) or convex (c map) on the relevant interval, so
Newton's method started on the correct side of a root converges monotonically to it; a bracket is
kept anyway and bisection takes over whenever a Newton step leaves it.
"""

from __future__ import annotations

import numpy as np

MAX_ITER = 100


def solve_increasing_root(g_and_slope, lo, hi, x0, *, tol=1e-12):
    """Root of g on [lo, hi] where g(lo) >= 0 >= g(hi), elementwise; Newton with bisection.

    ``g_and_slope(x)`` returns (g(x), g'(x)) for arrays of the common shape of lo, hi and x0.
    """
    lo, hi, x = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (lo, hi, x0)))
    lo, hi, x = lo.copy(), hi.copy(), x.copy()
    for _ in range(MAX_ITER):
        gx, slope = g_and_slope(x)
        lo = np.where(gx >= 0, x, lo)
        hi = np.where(gx <= 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(slope != 0, gx / slope, np.inf)
        newton = x - step
        inside = (newton > np.minimum(lo, hi)) & (newton < np.maximum(lo, hi))
        x_new = np.where(inside, newton, 0.5 * (lo + hi))
        x_new = np.where(gx == 0, x, x_new)
        done = np.abs(x_new - x) <= tol * np.maximum(1.0, np.abs(x))
        x = x_new
        if np.all(done):
            break
    return x
