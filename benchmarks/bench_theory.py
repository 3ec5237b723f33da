"""Theory engine speed: a 200 x 200 phase diagram of ContinuousNet(tanh) (sigma_w2 in
linspace(0.5, 4, 200), sigma_b2 in linspace(0, 0.5, 200)), solved at once by
``bnn_init.theory.phase_diagram`` (Gauss-Hermite quadrature, vectorised Newton solvers).

Baseline, measured in the same run: the textbook per-point loop, q* by fixed-point iteration of
q' = sigma_w2 E_q[tanh^2] + sigma_b2 and chi_1 = sigma_w2 E_q*[tanh'^2] (Schoenholz et al. (2017) eqs. 3, 7),
every expectation by ``scipy.integrate.quad``, timed on a 20 x 20 subsample of the grid (every
10th point of each axis) and extrapolated to the 40 000 points. Value = best of 3 wall seconds;
ratio = baseline / value; target < 0.5 s on one core.
"""

import time

import numpy as np
from scipy.integrate import quad

from bnn_init.theory import ContinuousNet, phase_diagram

from . import row

SIGMA_W2 = np.linspace(0.5, 4.0, 200)
SIGMA_B2 = np.linspace(0.0, 0.5, 200)
SUBSAMPLE = slice(None, None, 10)
FIXED_POINT_TOL = 1e-10
FIXED_POINT_MAX_ITER = 500


def _gauss(f, q):
    """E_q[f] = int Dz f(sqrt(q) z) by adaptive quadrature."""
    root_q = np.sqrt(q)
    return quad(lambda z: f(root_q * z) * np.exp(-0.5 * z * z), -np.inf, np.inf)[0] / np.sqrt(
        2 * np.pi
    )


def _per_point(sigma_w2, sigma_b2):
    """(q*, chi_1) by fixed-point iteration with quad."""
    q = 1.0
    for _ in range(FIXED_POINT_MAX_ITER):
        q_new = sigma_w2 * _gauss(lambda u: np.tanh(u) ** 2, q) + sigma_b2
        done = abs(q_new - q) <= FIXED_POINT_TOL
        q = q_new
        if done:
            break
    return q, sigma_w2 * _gauss(lambda u: (1.0 - np.tanh(u) ** 2) ** 2, q)


def vectorised_seconds(repeats=3):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        phase_diagram(ContinuousNet, phi="tanh", sigma_w2=SIGMA_W2, sigma_b2=SIGMA_B2)
        best = min(best, time.perf_counter() - start)
    return best


def per_point_seconds():
    """Seconds for the whole grid, extrapolated from the subsample."""
    points = [(w, b) for w in SIGMA_W2[SUBSAMPLE] for b in SIGMA_B2[SUBSAMPLE]]
    start = time.perf_counter()
    for sigma_w2, sigma_b2 in points:
        _per_point(sigma_w2, sigma_b2)
    elapsed = time.perf_counter() - start
    return elapsed * SIGMA_W2.size * SIGMA_B2.size / len(points)


IMPORT_PROBE = (
    "import time; s = time.perf_counter(); import bnn_init.theory; print(time.perf_counter() - s)"
)


def import_seconds(repeats=3):
    """Best wall time of ``import bnn_init.theory`` in a fresh interpreter."""
    import subprocess
    import sys

    return min(
        float(
            subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    )


def run():
    seconds = import_seconds()
    yield row(
        "theory_import_wall_time",
        round(seconds, 3),
        "s",
        None,
        None,
        "< 1 s",
    )
    value = vectorised_seconds()
    baseline = per_point_seconds()
    yield row(
        "theory_phase_diagram_tanh_200x200",
        round(value, 4),
        "s",
        round(baseline, 1),
        round(baseline / value, 1),
        "< 0.5 s",
    )


if __name__ == "__main__":
    for result in run():
        print(result)
