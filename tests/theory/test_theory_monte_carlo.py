"""Monte Carlo evidence for ``bnn_init.theory``: random networks of width 1000 in plain numpy.

Every family of the theory is simulated as written in its paper (weights, biases, activations,
noise), with NETS independent networks per setting. A per-network statistic (mean over the units
and over the input pairs of that network) is compared with the theory: the mean over networks
must lie within N_SE standard errors (over networks) plus a small absolute floor for quadrature and
finite-width error. Settings that share a layer share its random matrix (common random numbers);
each setting on its own is an exact sample of its network family.

The first layer's pre-activations are drawn as Gaussian vectors and normalised to have exactly
the second moment q1 and correlation c1 at which the theory's trajectory is seeded.

Traps avoided (docs/errata.md): sign(0) = +1 (erratum 4); dropout masks independent for the two
inputs, slope at c* without 1/rho (5); LRT noise terms of binary vs continuous neurons (8);
sampled binary neurons (9); coupled finite differences for correlation slopes (10).
"""

import warnings

import numpy as np
import pytest
from scipy.integrate import IntegrationWarning, quad
from scipy.optimize import brentq
from scipy.special import erf

import bnn_init  # noqa: F401  (package set-up; the theory itself never imports TensorFlow)
from bnn_init.theory import (
    ContinuousNet,
    DeterministicSurrogate,
    HardTanhBNN,
    LRTSurrogate,
    NoCriticalPoint,
    SignNet,
)

WIDTH = 1000
NETS = 16  # independent networks per setting
SEED = 20240517
N_SE = 4.0  # single numbers (chi_1, slopes, gradient ratios): within 4 standard errors + FLOOR
# Trajectories compare 11 layers x 2 quantities for each of ~40 settings, and the standard error
# comes from NETS - 1 = 15 degrees of freedom (P(|t_15| > 4) = 1.2e-3 per comparison), so one
# layer of one setting would exceed 4 SE by chance; 5 SE (P = 1.6e-4) keeps the whole file's
# chance of a false alarm at a few per cent.
N_SE_LAYERS = 5.0
FLOOR = 1e-4  # quadrature and finite-width error
DEPTH = 12
PAIRS = 12  # input pairs per network for trajectories
SLOPE_PAIRS = 128  # input pairs (or triples) per network for slopes

# Activations of ContinuousNet as the theory defines them: "erf" is erf(h / sqrt(2)), the mean of
# a sign neuron with unit Gaussian noise (bnn_init.theory.activations.SIGN_NEURON_KAPPA).
PHI = {
    "tanh": np.tanh,
    "erf": lambda h: erf(h / np.sqrt(2.0)),
    "hard_tanh": lambda h: np.clip(h, -1.0, 1.0),
}
SIGN_NEURON_KAPPA = 1.0 / np.sqrt(2.0)
DPHI = {
    "tanh": lambda h: 1.0 - np.tanh(h) ** 2,
    "erf": lambda h: np.sqrt(2.0 / np.pi) * np.exp(-0.5 * h**2),
    "hard_tanh": lambda h: (np.abs(h) < 1.0).astype(float),
}


def sign(h):
    """Sign with sign(0) = +1 (erratum 4); np.sign would return 0."""
    return np.where(h >= 0, 1.0, -1.0)


# ---- comparison ------------------------------------------------------------------------------


def agree(measured, theory, what, floor=FLOOR, n_se=N_SE):
    """Assert mean over networks (axis 0) of ``measured`` equals ``theory`` within ``n_se``
    standard errors plus ``floor``, elementwise; print and return the worst |error| / SE."""
    measured = np.asarray(measured, dtype=float)
    theory = np.broadcast_to(np.asarray(theory, dtype=float), measured.shape[1:])
    mean = measured.mean(axis=0)
    se = measured.std(axis=0, ddof=1) / np.sqrt(len(measured))
    error = np.abs(mean - theory)
    bad = error > n_se * se + floor
    z = np.max(error / np.maximum(se, 1e-300))
    worst = np.unravel_index(np.argmax(error / np.maximum(se, 1e-300)), error.shape)
    print(
        f"{what}: worst theory {theory[worst]:.6g} measured {mean[worst]:.6g} +- {se[worst]:.2g} "
        f"(|err|/SE = {z:.2f}, max |err| = {error.max():.2g})"
    )
    assert not np.any(bad), (
        f"{what}: theory {theory[bad]} measured {mean[bad]} +- {se[bad]} (SE over {len(measured)} "
        "networks)"
    )
    return z


# ---- inputs ----------------------------------------------------------------------------------


def _unit_columns(rng, n, k):
    x = rng.standard_normal((n, k))
    return x / np.linalg.norm(x, axis=0)


def correlated(rng, n, k, q, cs):
    """Columns [a_1..a_k, b^1_1..b^1_k, b^2_1..] with |a|^2 = |b|^2 = n q and a_i.b^j_i = n q cs[j]
    exactly; every b^j_i lies in the plane of a_i and one direction e_i (coupled finite differences)."""
    a = _unit_columns(rng, n, k)
    e = rng.standard_normal((n, k))
    e -= a * np.sum(a * e, axis=0)
    e /= np.linalg.norm(e, axis=0)
    blocks = [a] + [c * a + np.sqrt(max(1.0 - c * c, 0.0)) * e for c in cs]
    return np.sqrt(n * q) * np.concatenate(blocks, axis=1)


def cosines(h, k, j=1):
    """Correlation of a_i (columns 0..k-1) with its partner in column block j, per pair."""
    a, b = h[:, :k], h[:, j * k : (j + 1) * k]
    return np.sum(a * b, axis=0) / np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))


# ---- network families: one layer each, split into pre (activation) and post (field) ------------
# Each block owns a set of columns. ``pre(h, rng)`` returns the layer input x; the engine forms
# G @ x with the layer's shared raw matrix G ("normal": N(0, 1) entries, "sign": +-1 entries) and
# ``post(gx, x, draws, rng)`` returns the next pre-activations. ``couple`` maps columns to the
# columns whose noise (dropout mask, neuron sample, weight noise) they share; default: none.


def _noise(rng, draw, shape, couple):
    n, cols = shape
    if couple is None:
        return draw(rng, (n, cols))
    return draw(rng, (n, int(np.max(couple)) + 1))[:, couple]


def _uniform(rng, shape):
    return rng.random(shape)


def _normal(rng, shape):
    return rng.standard_normal(shape)


class Continuous:
    """ContinuousNet: h' = W (m * phi(h) / rho) + b, W ~ N(0, sigma_w2 / N), b ~ N(0, sigma_b2),
    m ~ Bernoulli(rho) per unit and input (Schoenholz et al. (2017) eqs. 2, 10)."""

    matrix = "normal"

    def __init__(self, phi, sigma_w2, sigma_b2, dropout_rate=0.0, couple=None):
        self.phi, self.keep, self.couple = PHI[phi], 1.0 - dropout_rate, couple
        self.sigma_w2, self.sigma_b2 = sigma_w2, sigma_b2
        self.model = ContinuousNet(
            phi=phi, sigma_w2=sigma_w2, sigma_b2=sigma_b2, dropout_rate=dropout_rate
        )

    def pre(self, h, rng):
        x = self.phi(h)
        if self.keep < 1.0:
            x = x * (_noise(rng, _uniform, h.shape, self.couple) < self.keep) / self.keep
        return x

    def post(self, gx, x, draws, rng):
        return np.sqrt(self.sigma_w2 / draws.n) * gx + np.sqrt(self.sigma_b2) * draws.beta


class HardTanhNet:
    """HardTanhBNN: h' = B_r(W) B_r(h) + b, W ~ N(0, r^2 sigma_w2 / N), B_r = clip(./r, -1, 1)
    (Wang (2018) sec. 3). B_r(W) = W / r exactly when no entry is clipped, which is checked."""

    matrix = "normal"

    def __init__(self, r, sigma_w2, sigma_b2):
        self.r, self.sigma_w2, self.sigma_b2 = r, sigma_w2, sigma_b2
        self.model = HardTanhBNN(r=r, sigma_w2=sigma_w2, sigma_b2=sigma_b2)

    def pre(self, h, rng):
        return np.clip(h / self.r, -1.0, 1.0)

    def post(self, gx, x, draws, rng):
        scale = np.sqrt(self.sigma_w2 / draws.n)  # |W / r| = scale |z|
        assert scale * draws.zmax < 1.0, "a weight would be clipped; use the explicit clip"
        return scale * gx + np.sqrt(self.sigma_b2) * draws.beta


class Deterministic:
    """DeterministicSurrogate (Stamatescu et al. (2019) eq. 12), two-point means M = +-sqrt(sigma_m2):
    h_i = (sum_j M_ij x_j + sqrt(N) b_i) / sqrt(sum_j (1 - M_ij^2 x_j^2)), x = erf(kappa h)."""

    matrix = "sign"

    def __init__(self, sigma_m2, sigma_b2, kappa=SIGN_NEURON_KAPPA):
        self.sigma_m2, self.sigma_b2, self.kappa = sigma_m2, sigma_b2, kappa
        self.model = DeterministicSurrogate(sigma_m2=sigma_m2, sigma_b2=sigma_b2, kappa=kappa)

    def pre(self, h, rng):
        return erf(self.kappa * h)

    def post(self, gx, x, draws, rng):
        numerator = np.sqrt(self.sigma_m2) * gx + np.sqrt(draws.n * self.sigma_b2) * draws.beta
        # M_ij^2 = sigma_m2 for every entry, so sum_j M_ij^2 x_j^2 = sigma_m2 |x|^2 for every i
        return numerator / np.sqrt(draws.n - self.sigma_m2 * np.sum(x * x, axis=0))


class LRT:
    """LRTSurrogate (Stamatescu et al. (2019) eq. 18), two-point means M = +-sqrt(sigma_m2):
    h_i = (1/sqrt N) sum_j M_ij x_j + b_i + eps_i sqrt(v_i), eps ~ N(0, 1) per input.
    binary: x = +-1 sampled with mean tanh(h), v_i = (1/N) sum_j (1 - M_ij^2 x_j^2) (erratum 9);
    continuous: x = tanh(h), v_i = (1/N) sum_j x_j^2 (1 - M_ij^2) (erratum 8)."""

    matrix = "sign"

    def __init__(self, sigma_m2, sigma_b2, neurons, couple=None):
        self.sigma_m2, self.sigma_b2, self.neurons, self.couple = (
            sigma_m2,
            sigma_b2,
            neurons,
            couple,
        )
        self.model = LRTSurrogate(sigma_m2=sigma_m2, sigma_b2=sigma_b2, neurons=neurons)

    def pre(self, h, rng):
        mean = np.tanh(h)
        if self.neurons == "continuous":
            return mean
        u = _noise(rng, _uniform, h.shape, self.couple)
        return np.where(u < 0.5 * (1.0 + mean), 1.0, -1.0)

    def post(self, gx, x, draws, rng):
        n = draws.n
        field = np.sqrt(self.sigma_m2 / n) * gx + np.sqrt(self.sigma_b2) * draws.beta
        x2 = np.sum(x * x, axis=0) / n  # M_ij^2 = sigma_m2 for every entry
        var = 1.0 - self.sigma_m2 * x2 if self.neurons == "binary" else (1.0 - self.sigma_m2) * x2
        return field + _noise(rng, _normal, gx.shape, self.couple) * np.sqrt(var)


class Sign:
    """SignNet: h' = W sign(h) + b, W = +-1/sqrt(N), b ~ N(0, sigma_b2) (Stamatescu et al. 2019, App. F)."""

    matrix = "sign"

    def __init__(self, sigma_b2):
        self.sigma_b2 = sigma_b2
        self.model = SignNet(sigma_b2=sigma_b2)

    def pre(self, h, rng):
        return sign(h)

    def post(self, gx, x, draws, rng):
        return gx / np.sqrt(draws.n) + np.sqrt(self.sigma_b2) * draws.beta


class _Draws:
    pass


def _matrices(rng, n, kinds):
    draws = _Draws()
    draws.n = n
    draws.g = {}
    if "normal" in kinds:
        draws.g["normal"] = rng.standard_normal((n, n))
        draws.zmax = np.max(np.abs(draws.g["normal"]))
    if "sign" in kinds:
        bits = np.unpackbits(np.frombuffer(rng.bytes(n * n // 8 + 1), dtype=np.uint8))
        draws.g["sign"] = (2.0 * bits[: n * n] - 1.0).reshape(n, n)
    draws.beta = rng.standard_normal((n, 1))
    return draws


def simulate(blocks, inputs, depth, measure, seed, width=WIDTH):
    """NETS independent networks; block b starts from ``inputs[b](rng)`` (pre-activations of layer
    1, shape (width, cols)). Returns, per block, an array (NETS, depth, ...) of ``measure[b](h)``."""
    kinds = {block.matrix for block in blocks}
    records = [[] for _ in blocks]
    for net in range(NETS):
        rng = np.random.default_rng([*seed, net])
        hs = [make(rng) for make in inputs]
        layers = [[m(h)] for m, h in zip(measure, hs, strict=True)]
        for _ in range(depth - 1):
            draws = _matrices(rng, width, kinds)
            xs = [block.pre(h, rng) for block, h in zip(blocks, hs, strict=True)]
            for kind in kinds:
                members = [i for i, block in enumerate(blocks) if block.matrix == kind]
                gx = draws.g[kind] @ np.concatenate([xs[i] for i in members], axis=1)
                splits = np.cumsum([xs[i].shape[1] for i in members])[:-1]
                for i, part in zip(members, np.split(gx, splits, axis=1), strict=True):
                    hs[i] = blocks[i].post(part, xs[i], draws, rng)
            for i, h in enumerate(hs):
                layers[i].append(measure[i](h))
        for i in range(len(blocks)):
            records[i].append(layers[i])
    return [np.array(r) for r in records]


def pair_stats(k):
    """(q, c): mean second moment of all columns and mean correlation of the k pairs."""
    return lambda h: np.array([np.mean(h * h), np.mean(cosines(h, k))])


def chord_slopes(blocks, c_lo, c_hi, seed, pairs=SLOPE_PAIRS):
    """Coupled finite difference of the correlation map at q*: one layer applied, with the same
    weights and the same noise for the two partners b(c_hi), b(c_lo) of each a (erratum 10).
    Returns per block (NETS,) slopes (c'(c_hi) - c'(c_lo)) / (c_hi - c_lo)."""
    inputs = [
        lambda rng, q=block.model.q_star: correlated(rng, WIDTH, pairs, q, [c_hi, c_lo])
        for block in blocks
    ]

    def slope(h):
        return np.mean((cosines(h, pairs, 1) - cosines(h, pairs, 2)) / (c_hi - c_lo))

    results = simulate(blocks, inputs, 2, [slope] * len(blocks), seed)
    return [r[:, 1] for r in results]


def growth(blocks, seed, pairs=SLOPE_PAIRS, eps=1e-6):
    """chi_1 as the mean squared singular value of one layer's Jacobian at q*: the growth
    |h'(a + eps v) - h'(a)|^2 / |eps v|^2 of small random perturbations (same weights)."""

    def perturbed(rng, q):
        a = np.sqrt(q) * rng.standard_normal((WIDTH, pairs))
        return np.concatenate([a, a + eps * np.sqrt(q) * rng.standard_normal(a.shape)], axis=1)

    def ratio(h):
        d = h[:, pairs:] - h[:, :pairs]
        return np.sum(d * d, axis=0)

    inputs = [lambda rng, q=block.model.q_star: perturbed(rng, q) for block in blocks]
    results = simulate(blocks, inputs, 2, [ratio] * len(blocks), seed)
    return [np.mean(r[:, 1] / r[:, 0], axis=1) for r in results]


# ---- trajectories: every family, one shared simulation ----------------------------------------

SIGMA_B2 = 0.05
CRITICAL_TANH = ContinuousNet.critical(phi="tanh", sigma_b2=SIGMA_B2).sigma_w2  # 1.76
HT_CRITICAL = {r: HardTanhBNN.critical(r=r, sigma_b2=0.01).sigma_w2 for r in (0.4, 1.0)}
AT_FIXED_POINT = None  # start a trajectory at (q*, c*)


def _trajectory_settings():
    """name -> (block, (q1, c1) or AT_FIXED_POINT)."""
    settings = {}
    for phi in ("tanh", "erf", "hard_tanh"):
        for s in (1.0, CRITICAL_TANH, 3.0):
            settings[f"continuous-{phi}-{s:.2f}"] = (Continuous(phi, s, SIGMA_B2), (1.0, 0.5))
        settings[f"continuous-{phi}-3.00-at-c*"] = (Continuous(phi, 3.0, SIGMA_B2), AT_FIXED_POINT)
    for s in (CRITICAL_TANH, 3.0):
        block = Continuous("tanh", s, SIGMA_B2, dropout_rate=0.2)
        settings[f"dropout-0.2-tanh-{s:.2f}"] = (block, (1.0, 0.9))
        settings[f"dropout-0.2-tanh-{s:.2f}-at-c*"] = (block, AT_FIXED_POINT)
    for r in (0.4, 1.0):
        for factor in (0.5, 1.0, 2.0):
            block = HardTanhNet(r, factor * HT_CRITICAL[r], 0.01)
            settings[f"hard-tanh-bnn-r{r}-{factor}x-critical"] = (block, (0.5, 0.5))
    for sigma_m2 in (0.2, 0.5, 0.99):  # Stamatescu et al. 2019, Fig. 1
        settings[f"deterministic-{sigma_m2}"] = (Deterministic(sigma_m2, 0.001), (0.5, 0.2))
    settings["deterministic-0.7-kappa1"] = (Deterministic(0.7, 0.01, 1.0), (0.5, 0.2))
    for sigma_m2 in (0.5, 0.99):
        block = LRT(sigma_m2, 0.001, "binary")
        settings[f"lrt-binary-{sigma_m2}"] = (block, (0.5, 0.9))
        settings[f"lrt-binary-{sigma_m2}-at-c*"] = (block, AT_FIXED_POINT)
        for sigma_b2 in (0.001, 0.05):
            block = LRT(sigma_m2, sigma_b2, "continuous")
            settings[f"lrt-continuous-{sigma_m2}-{sigma_b2}"] = (block, (1.0, 0.9))
    for sigma_b2 in (0.1, 0.5):
        settings[f"sign-{sigma_b2}"] = (Sign(sigma_b2), (1.0, 0.9))
        settings[f"sign-{sigma_b2}-at-c*"] = (Sign(sigma_b2), AT_FIXED_POINT)
    return settings


TRAJECTORIES = _trajectory_settings()


def _start(name):
    block, start = TRAJECTORIES[name]
    return (block.model.q_star, block.model.c_star) if start is AT_FIXED_POINT else start


@pytest.fixture(scope="module")
def trajectory_runs():
    """name -> (NETS, DEPTH, 2) per-network (q^l, c^l), all settings simulated side by side."""
    names = list(TRAJECTORIES)
    blocks = [TRAJECTORIES[name][0] for name in names]
    starts = [_start(name) for name in names]
    inputs = [lambda rng, qc=qc: correlated(rng, WIDTH, PAIRS, qc[0], [qc[1]]) for qc in starts]
    results = simulate(blocks, inputs, DEPTH, [pair_stats(PAIRS)] * len(names), [SEED, 1])
    return dict(zip(names, results, strict=True))


@pytest.mark.parametrize("name", list(TRAJECTORIES))
def test_trajectory(name, trajectory_runs):
    """q^l and c^l of the simulated networks against ``model.trajectory(q1, c1, depth)`` seeded
    with the first layer's exact (q1, c1); layer 1 is exact by construction and not compared."""
    block, _ = TRAJECTORIES[name]
    q1, c1 = _start(name)
    measured = trajectory_runs[name]
    theory = block.model.trajectory(q1, c1, DEPTH)
    np.testing.assert_allclose(measured[:, 0], np.broadcast_to([q1, c1], (NETS, 2)), atol=1e-12)
    agree(measured[:, 1:, 0], theory.q[1:], f"{block.model!r} q^l", n_se=N_SE_LAYERS)
    agree(measured[:, 1:, 1], theory.c[1:], f"{block.model!r} c^l", n_se=N_SE_LAYERS)


def test_trajectory_settings_cover_both_phases():
    chi1 = {name: block.model.chi1 for name, (block, _) in TRAJECTORIES.items()}
    assert chi1["continuous-tanh-1.00"] < 0.8 and chi1["continuous-tanh-3.00"] > 1.2
    assert chi1["continuous-tanh-1.76"] == pytest.approx(1.0, abs=1e-12)
    for name, (block, start) in TRAJECTORIES.items():
        if start is AT_FIXED_POINT:  # chaotic, dropout, LRT with binary neurons, sign nets
            assert 0.0 <= block.model.c_star < 0.9, name


def test_sign_net_without_bias_odd_width():
    # sigma_b2 = 0: fields are sums of +-1 / sqrt(N); an odd N rules out h = 0 exactly
    block = Sign(0.0)
    inputs = [lambda rng: correlated(rng, WIDTH + 1, PAIRS, 1.0, [0.9])]
    (measured,) = simulate([block], inputs, 8, [pair_stats(PAIRS)], [SEED, 2], width=WIDTH + 1)
    theory = block.model.trajectory(1.0, 0.9, 8)
    agree(measured[:, 1:, 0], theory.q[1:], "SignNet(sigma_b2=0) q^l", n_se=N_SE_LAYERS)
    agree(measured[:, 1:, 1], theory.c[1:], "SignNet(sigma_b2=0) c^l", n_se=N_SE_LAYERS)
    assert theory.c[-1] < 0.1  # c* = 0


# ---- slopes: chi_1 and the correlation map near its fixed points ---------------------------------


def test_continuous_net_chi1_from_perturbation_growth():
    blocks = [
        Continuous(phi, s, SIGMA_B2)
        for phi in ("tanh", "erf", "hard_tanh")
        for s in (1.0, CRITICAL_TANH, 3.0)
    ]
    for block, measured in zip(blocks, growth(blocks, seed=[SEED, 3]), strict=True):
        agree(measured[:, None], block.model.chi1, f"{block.model!r} chi_1")


def _triple_couple(k):
    """a_i has its own noise; b(c_hi)_i and b(c_lo)_i share theirs."""
    return np.concatenate([np.arange(k), np.arange(k, 2 * k), np.arange(k, 2 * k)])


@pytest.mark.parametrize("sigma_w2", [CRITICAL_TANH, 3.0], ids=["critical", "chaotic"])
def test_dropout_slope_at_c_star_has_no_one_over_rho(sigma_w2):
    rate, delta = 0.2, 0.05
    keep = 1.0 - rate
    block = Continuous(
        "tanh", sigma_w2, SIGMA_B2, dropout_rate=rate, couple=_triple_couple(SLOPE_PAIRS)
    )
    model = block.model
    c_lo, c_hi = model.c_star - delta, model.c_star + delta
    (measured,) = chord_slopes([block], c_lo, c_hi, seed=[SEED, 4, int(sigma_w2)])
    chord = (model.c_map(c_hi) - model.c_map(c_lo)) / (2 * delta)
    slope = np.exp(-1.0 / model.xi_c)  # sigma_w2 E[phi'(u1) phi'(u2)] at c* (erratum 5)
    assert chord == pytest.approx(slope, rel=2e-3)
    agree(measured[:, None], chord, f"{model!r} slope at c*")
    se = measured.std(ddof=1) / np.sqrt(NETS)
    assert abs(measured.mean() - chord / keep) > 10 * se, "the 1/rho slope should be rejected"


def test_hard_tanh_bnn_chi1_critical_and_printed_eq13():
    critical = HardTanhBNN.critical(r=0.4, sigma_b2=0.01)
    printed = HardTanhBNN(r=0.4, sigma_w2=_printed_eq13_sigma_w2(0.4, 0.01), sigma_b2=0.01)
    assert printed.chi1 == pytest.approx(1.0 / printed.q_star, rel=1e-9)
    assert printed.chi1 == pytest.approx(1.89, abs=0.01)  # erratum 1
    blocks = [HardTanhNet(0.4, m.sigma_w2, 0.01) for m in (critical, printed)]
    crit_measured, printed_measured = growth(blocks, seed=[SEED, 5], pairs=256)
    agree(crit_measured[:, None], 1.0, f"{critical!r} chi_1 (critical)")
    assert crit_measured.std(ddof=1) / np.sqrt(NETS) < 0.002
    agree(printed_measured[:, None], printed.chi1, f"{printed!r} chi_1 (printed eq. 13)")
    assert printed_measured.mean() > 1.5  # chaotic


def _printed_eq13_sigma_w2(r, sigma_b2):
    """sigma_w2 solving Wang's printed eq. 13, r^2 / (q* sigma_w2) = P(|sqrt(q*) z| < r),
    i.e. chi_1 q* = 1 (erratum 1)."""

    def printed(s):
        model = HardTanhBNN(r=r, sigma_w2=s, sigma_b2=sigma_b2)
        return model.chi1 * model.q_star - 1.0

    return brentq(printed, r * r, 100.0 * r * r, xtol=1e-14)


def test_deterministic_surrogate_correlation_slope_near_one():
    blocks = [Deterministic(0.99, 0.001), Deterministic(0.7, 0.01, 1.0)]
    c_lo = 0.98
    for block, measured in zip(blocks, chord_slopes(blocks, c_lo, 1.0, [SEED, 6]), strict=True):
        model = block.model
        chord = (1.0 - model.c_map(c_lo)) / (1.0 - c_lo)
        agree(measured[:, None], chord, f"{model!r} slope of c map on [0.98, 1]")
        assert chord == pytest.approx(model.chi1, rel=0.05)


def test_lrt_continuous_neurons_chi1_by_coupled_finite_difference():
    couple = _triple_couple(SLOPE_PAIRS)
    blocks = [LRT(s, 0.05, "continuous", couple=couple) for s in (0.5, 0.99)]
    c_lo = 0.98
    for block, measured in zip(blocks, chord_slopes(blocks, c_lo, 1.0, [SEED, 7]), strict=True):
        model = block.model
        chord = (model.c_map(1.0) - model.c_map(c_lo)) / (1.0 - c_lo)
        agree(measured[:, None], chord, f"{model!r} slope of c map on [0.98, 1]")
        assert chord == pytest.approx(model.chi1, rel=0.02)


# ---- gradients -----------------------------------------------------------------------------------


def gradient_ratios(act, dact, matrix, sigma_w2, sigma_b2, q_star, widths, seed, cols=64):
    """Backprop of a random delta through a network started at q* (same weights forwards and
    backwards): delta_l = act'(h_l) * W_{l+1}^T delta_{l+1}. Returns (NETS, L-1) ratios
    E[delta_l^2] / E[delta_{l+1}^2], l = 1..L-1 (Schoenholz et al. 2017, eq. 14)."""
    ratios = []
    for net in range(NETS):
        rng = np.random.default_rng([*seed, net])
        hs = [np.sqrt(q_star) * rng.standard_normal((widths[0], cols))]
        weights = []
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
            if matrix == "normal":
                w = np.sqrt(sigma_w2 / n_in) * rng.standard_normal((n_out, n_in))
            else:
                w = (2.0 * rng.integers(0, 2, size=(n_out, n_in)) - 1.0) / np.sqrt(n_in)
            weights.append(w)
            hs.append(w @ act(hs[-1]) + np.sqrt(sigma_b2) * rng.standard_normal((n_out, 1)))
        delta = rng.standard_normal((widths[-1], cols))
        second = [np.mean(delta**2)]
        for w, h in zip(weights[::-1], hs[-2::-1], strict=True):
            delta = dact(h) * (w.T @ delta)
            second.append(np.mean(delta**2))
        second = np.array(second[::-1])
        ratios.append(second[:-1] / second[1:])
    return np.array(ratios)


@pytest.mark.parametrize("sigma_w2", [1.0, 3.0], ids=["ordered", "chaotic"])
def test_continuous_net_gradient_variance_ratio(sigma_w2):
    model = ContinuousNet(phi="tanh", sigma_w2=sigma_w2, sigma_b2=SIGMA_B2)
    measured = gradient_ratios(
        PHI["tanh"], DPHI["tanh"], "normal", sigma_w2, SIGMA_B2, model.q_star,
        [WIDTH] * 6, seed=[SEED, 8, int(sigma_w2)],
    )  # fmt: skip
    agree(measured, model.grad_variance_ratio(), f"{model!r} E[delta_l^2] ratio")
    assert (model.grad_variance_ratio() < 1.0) == (sigma_w2 == 1.0)
    assert (model.xi_grad > 0) == (sigma_w2 == 1.0)


def test_continuous_net_gradient_variance_ratio_unequal_widths():
    widths = [1000, 2000, 1000, 1500, 800]
    model = ContinuousNet(phi="tanh", sigma_w2=CRITICAL_TANH, sigma_b2=SIGMA_B2)
    measured = gradient_ratios(
        PHI["tanh"], DPHI["tanh"], "normal", CRITICAL_TANH, SIGMA_B2, model.q_star,
        widths, seed=[SEED, 9],
    )  # fmt: skip
    theory = model.grad_variance_ratio(widths=widths)
    assert theory.shape == (len(widths) - 1,)
    agree(measured, theory, f"{model!r} E[delta_l^2] ratio, widths {widths}")


def test_sign_net_straight_through_gradient_ratio():
    model = SignNet(sigma_b2=0.1)
    measured = gradient_ratios(
        sign, lambda h: (np.abs(h) <= 1.0).astype(float), "sign", 1.0, 0.1, model.q_star,
        [WIDTH] * 6, seed=[SEED, 10],
    )  # fmt: skip
    agree(measured, model.grad_variance_ratio(), f"{model!r} straight-through E[delta^2] ratio")


# ---- exact checks ------------------------------------------------------------------------------


def test_sign_net_correlation_map_is_the_arcsine_law():
    c = np.linspace(-1.0, 1.0, 41)
    for sigma_b2 in (0.0, 0.1, 2.0):
        expected = (2.0 / np.pi * np.arcsin(c) + sigma_b2) / (1.0 + sigma_b2)
        np.testing.assert_allclose(SignNet(sigma_b2=sigma_b2).c_map(c), expected, atol=1e-14)


@pytest.mark.parametrize("r", [0.05, 0.4, 1.0, 1.7])
def test_hard_tanh_bnn_without_bias(r):
    for sigma_w2 in (0.3 * r * r, 0.9 * r * r, r * r):
        model = HardTanhBNN(r=r, sigma_w2=sigma_w2, sigma_b2=0.0)
        assert model.q_star == 0.0
        assert model.chi1 == pytest.approx(sigma_w2 / r**2, rel=1e-12)
    assert abs(HardTanhBNN.critical(r=r, sigma_b2=0.0).sigma_w2 - r**2) <= 1e-12


@pytest.mark.parametrize("kappa", [1.0, 1.5])
def test_deterministic_surrogate_critical_limit_is_pi_over_four_kappa_squared(kappa):
    # 1 / phi'(0)^2 = pi / (4 kappa^2): the limit sigma_b2 -> 0 (errata 6, 7)
    limit = np.pi / (4 * kappa**2)
    model = DeterministicSurrogate(sigma_m2=limit, sigma_b2=0.0, kappa=kappa)
    assert model.q_star == 0.0
    assert model.chi1 == pytest.approx(1.0, abs=1e-14)
    # solved: chi_1 - 1 is quadratic in sigma_m2 - limit above the limit, so ~sqrt(eps) accuracy
    solved = DeterministicSurrogate.critical(sigma_b2=0.0, kappa=kappa).sigma_m2
    assert solved == pytest.approx(limit, abs=1e-7)
    tiny = DeterministicSurrogate.critical(sigma_b2=1e-10, kappa=kappa).sigma_m2
    assert abs(tiny - limit) < 1e-3


def test_deterministic_surrogate_critical_at_zero_bias_is_exact():
    solved = DeterministicSurrogate.critical(sigma_b2=0.0, kappa=1.0).sigma_m2
    assert abs(solved - np.pi / 4) <= 1e-12


def test_deterministic_surrogate_of_sign_neurons_has_no_critical_point():
    kappa = 1 / np.sqrt(2.0)
    grid = np.linspace(0.01, 1.0, 100)
    for sigma_b2 in (0.0, 1e-3, 0.1):
        chi1 = DeterministicSurrogate(sigma_m2=grid, sigma_b2=sigma_b2, kappa=kappa).chi1
        assert np.all(chi1 <= 2 / np.pi + 1e-12)
        with pytest.raises(NoCriticalPoint, match="sigma_m2 = 1") as info:
            DeterministicSurrogate.critical(sigma_b2=sigma_b2, kappa=kappa)
        assert info.value.nearest["sigma_m2"] == 1.0


def test_lrt_and_sign_critical_points():
    for sigma_b2 in (0.0, 0.01):
        with pytest.raises(NoCriticalPoint, match="sigma_m2 = 1"):
            LRTSurrogate.critical(sigma_b2=sigma_b2, neurons="binary")
    assert LRTSurrogate.critical(sigma_b2=0.0, neurons="continuous").sigma_m2 == 1.0
    with pytest.raises(NoCriticalPoint, match="sigma_m2 = 1"):
        LRTSurrogate.critical(sigma_b2=0.01, neurons="continuous")
    for sigma_b2 in (0.0, 0.3):
        with pytest.raises(NoCriticalPoint, match="chaotic"):
            SignNet.critical(sigma_b2=sigma_b2)


# ---- tanh moments against adaptive quadrature ------------------------------------------------------


def _tanh_reference(sigma_w2, sigma_b2):
    """(q*, chi_1) of ContinuousNet(tanh) by scipy.integrate.quad and brentq (Schoenholz et al. 2017, eqs. 3, 7)."""

    def expect(f, q):
        density = lambda z: f(np.sqrt(q) * z) * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)  # noqa: E731
        return 2.0 * quad(density, 0.0, np.inf, epsabs=1e-15, epsrel=1e-13, limit=500)[0]

    q_map = lambda q: sigma_w2 * expect(lambda u: np.tanh(u) ** 2, q) + sigma_b2  # noqa: E731
    q_star = brentq(lambda q: q_map(q) - q, 1e-6, 100.0, xtol=1e-14)
    return q_star, sigma_w2 * expect(lambda u: (1.0 - np.tanh(u) ** 2) ** 2, q_star)


@pytest.mark.parametrize(
    "sigma_w2",
    [
        0.5,
        2.0,
        4.0,
        16.0,
        32.0,
    ],
)
def test_tanh_moments_agree_with_adaptive_quadrature(sigma_w2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        q_star, chi1 = _tanh_reference(sigma_w2, 0.05)
    model = ContinuousNet(phi="tanh", sigma_w2=sigma_w2, sigma_b2=0.05)
    assert model.q_star == pytest.approx(q_star, rel=1e-6)
    assert model.chi1 == pytest.approx(chi1, rel=1e-6)
