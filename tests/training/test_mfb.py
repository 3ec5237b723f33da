# ruff: noqa: I001, E741  (bnn_init first, for tf-keras; l is the paper's layer index)
"""MFB-BackProp (Soudry & Meir, 2013, Algorithm 1): the update against a direct transcription, its
safeguards and fixed points, and the MFBNetwork API."""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import log_ndtr

from bnn_init.datasets import teacher_student, teacher_weights
from bnn_init.training.converging import uniform_weights
from bnn_init.training.mfb import MFBNetwork
from bnn_init.training import mfb_update
from bnn_init.training.mfb_update import (
    EPS,
    bayes_update_step,
    inverse_mills_ratio,
    output_gain,
)


def _phi_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _normal_pdf(z, mean, var):
    return math.exp(-((z - mean) ** 2) / (2.0 * var)) / math.sqrt(2.0 * math.pi * var)


def algorithm1_transcription(H, x, y, fan_in_sets):
    """Algorithm 1 of Soudry & Meir (2013) written out with scalar loops, for any L and any converging index sets.

    ``H[l][i][j]`` is h_{ij,l} (dicts, l = 1..L), ``fan_in_sets[l][i]`` is K(i, l) and
    ``child[l][i]``
    (derived) is i', the neuron of layer l + 1 fed by neuron i of layer l.
    """
    L = len(fan_in_sets)
    nu = {0: {r: x[r] for r in range(len(x))}}
    mu, var = {}, {}
    for m in range(1, L + 1):
        nu[m], mu[m], var[m] = {}, {}, {}
        for k, K_set in fan_in_sets[m].items():
            K = len(K_set)
            mu[m][k] = sum(math.tanh(H[m][k][r]) * nu[m - 1][r] for r in K_set) / math.sqrt(K)
            var[m][k] = (
                sum(
                    (1 - nu[m - 1][r] ** 2) * (1 - (m == 1))
                    + nu[m - 1][r] ** 2 / math.cosh(H[m][k][r]) ** 2
                    + EPS
                    for r in K_set
                )
                / K
            )
            nu[m][k] = 2 * _phi_cdf(mu[m][k] / math.sqrt(var[m][k])) - 1
    child = {l: {} for l in range(1, L)}
    for l in range(2, L + 1):
        for i, K_set in fan_in_sets[l].items():
            for j in K_set:
                child[l - 1][j] = i
    delta = {L + 1: {i: y[i] for i in fan_in_sets[L]}}
    R = {}
    for l in range(L, 0, -1):
        delta[l], R[l] = {}, {}
        for i, K_set in fan_in_sets[l].items():
            K = len(K_set)
            upstream = delta[l + 1][i] if l == L else delta[l + 1][(child[l][i], i)]
            for j in K_set:
                mu_cav = mu[l][i] - math.tanh(H[l][i][j]) * nu[l - 1][j] / math.sqrt(K)
                G = 2 / math.sqrt(K) * _normal_pdf(0.0, mu_cav, var[l][i])
                if l == L:
                    cdf = _phi_cdf(y[i] * mu_cav / math.sqrt(var[l][i]))
                    G = G / cdf if cdf > 0 else math.inf
                    if not math.isfinite(G):  # eq. 26 with the sign erratum (module docstring)
                        G = 2 * abs(mu_cav) / (var[l][i] * math.sqrt(K)) * (y[i] * mu_cav < 0)
                delta[l][(i, j)] = upstream * math.tanh(G) * math.tanh(H[l][i][j])
                if l == 1:
                    R[l][(i, j)] = upstream * math.tanh(G * x[j])
                else:
                    R[l][(i, j)] = upstream * math.tanh(G) * nu[l - 1][j]
    return {l: {i: {j: H[l][i][j] + 0.5 * R[l][(i, j)] for j in H[l][i]} for i in H[l]} for l in H}


def _two_layer_sets(o, k, d):
    hidden = {(a, b): list(range(d)) for a in range(o) for b in range(k)}
    out = {a: [(a, b) for b in range(k)] for a in range(o)}
    return {1: hidden, 2: out}


def _to_dicts(h1, h2):
    o, k, d = h1.shape
    H1 = {(a, b): {r: h1[a, b, r] for r in range(d)} for a in range(o) for b in range(k)}
    H2 = {a: {(a, b): h2[a, b] for b in range(k)} for a in range(o)}
    return {1: H1, 2: H2}


def _from_dicts(H, o, k, d):
    h1 = np.array([[[H[1][(a, b)][r] for r in range(d)] for b in range(k)] for a in range(o)])
    h2 = np.array([[H[2][a][(a, b)] for b in range(k)] for a in range(o)])
    return h1, h2


@pytest.mark.parametrize("scale, nonzero", [(0.3, 6), (3.0, 6), (0.3, 2)])
def test_update_step_equals_scalar_transcription_of_algorithm1(scale, nonzero):
    """Dense inputs (padded inside to `DENSE_ALIGNMENT` columns, which must change nothing), and
    inputs with 2 of 6 nonzero (the update then visits those columns only)."""
    rng = np.random.default_rng(1)
    o, k, d = 3, 4, 6
    h1 = scale * rng.standard_normal((o, k, d))
    h2 = scale * rng.standard_normal((o, k))
    sets = _two_layer_sets(o, k, d)
    for _ in range(3):  # three consecutive samples
        x = rng.standard_normal(d) * (rng.permutation(d) < nonzero)
        y = rng.choice([-1.0, 1.0], size=o)
        expected = _from_dicts(algorithm1_transcription(_to_dicts(h1, h2), x, y, sets), o, k, d)
        h1, h2 = bayes_update_step(h1, h2, x, y)
        np.testing.assert_allclose(h1, expected[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h2, expected[1], rtol=1e-10, atol=1e-12)


def test_sparse_inputs_side_by_side_learn_what_every_column_learns():
    """Three networks, each on its own stream with 5-30 % nonzero inputs (more than one block of
    columns), a chunk with padding rows: visiting only the nonzero columns gives the fields of the
    update over every column to 1e-12 and the same per-sample errors."""
    rng = np.random.default_rng(4)
    networks, o, k, d, chunk, n = 3, 3, 5, 300, 12, 9
    h1 = rng.standard_normal((networks, o, k, d))
    h2 = rng.standard_normal((networks, o, k))
    share = rng.uniform(0.05, 0.3, size=(chunk, networks, 1))
    xs = rng.standard_normal((chunk, networks, d)) * (rng.random((chunk, networks, d)) < share)
    ys = rng.choice([-1.0, 1.0], size=(chunk, networks, o))
    assert np.count_nonzero(xs, axis=-1).max() > mfb_update.SPARSE_BLOCK
    sparse = mfb_update.run_chunk(h1, h2, xs, ys, n)
    dense = mfb_update._dense_chunk(h1, h2, xs, ys, np.int32(n))
    for got, want in zip(sparse[:2], dense[:2], strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    for got, want in zip(sparse[2:], dense[2:], strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(sparse[0], h1)  # the fields did move


def test_update_actually_moves_fields_towards_the_label():
    rng = np.random.default_rng(0)
    h1, h2 = uniform_weights(7, 5, 1, rng)
    x = rng.choice([-1.0, 1.0], size=7)
    h1n, h2n = bayes_update_step(h1, h2, x, np.array([1.0]))
    assert np.abs(h1n - h1).max() > 1e-3 and np.abs(h2n - h2).max() > 1e-3
    nets = [MFBNetwork(7, 5, 1, seed=0) for _ in range(2)]
    nets[1].set_fields(h1n, h2n)
    before, after = (net.predict_proba(x[None, :])[0, 0] for net in nets)
    assert after > before  # the mean output moved towards y = +1


def test_inverse_mills_ratio_matches_scipy_everywhere():
    b = np.linspace(-60.0, 12.0, 1441)
    expected = np.exp(-0.5 * b * b - 0.5 * np.log(2 * np.pi) - log_ndtr(b))
    got = inverse_mills_ratio(tf.constant(b)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-11)
    far = inverse_mills_ratio(tf.constant([-1e6, -1e12], tf.float64)).numpy()
    np.testing.assert_allclose(far, [1e6, 1e12], rtol=1e-11)  # M(b) ~ -b
    got32 = inverse_mills_ratio(tf.constant(b, tf.float32)).numpy()
    np.testing.assert_allclose(got32, expected, rtol=2e-5)


@pytest.mark.parametrize("y", [1.0, -1.0])
def test_output_gain_tends_to_sign_corrected_eq26(y):
    k = 9
    mu = -0.4 * y  # surprising: y * mu < 0
    var = np.array([1e-8, 1e-12, 1e-20, EPS])
    f64 = tf.float64
    gain = output_gain(tf.constant(mu * np.ones(4)), tf.constant(var), tf.constant(y, f64), k)
    gain = gain.numpy()
    asymptotic = 2 * abs(mu) / (var * math.sqrt(k))  # eq. 26 times y: never negative
    np.testing.assert_allclose(gain, asymptotic, rtol=1e-6)
    assert np.all(gain > 0)
    # consistent sample: G -> 0 (the stable fixed point); printed eq. 26 gives 0 there as well
    consistent = output_gain(
        tf.constant([-mu], f64), tf.constant([1e-12], f64), tf.constant(y, f64), k
    ).numpy()
    assert consistent[0] == 0.0


def test_output_gain_falls_back_when_eq20_is_not_finite():
    # sigma = 0 exactly (no eps): eq. 20 is inf * (...) -> eq. 26 branch, still non-negative
    f64 = tf.float64
    mu = tf.constant([-0.5, 0.5, 0.0], f64)
    gain = output_gain(mu, tf.zeros(3, f64), tf.constant(1.0, f64), 4).numpy()
    assert np.isinf(gain[0]) and gain[0] > 0 and gain[1] == 0 and gain[2] == 0


def test_fields_stay_finite_under_adversarial_samples():
    rng = np.random.default_rng(3)
    o, k, d = 2, 5, 9
    h1 = 60.0 * rng.choice([-1.0, 1.0], size=(o, k, d))  # every weight saturated
    h2 = 60.0 * rng.choice([-1.0, 1.0], size=(o, k))
    w1, w2 = np.sign(h1), np.sign(h2)
    for step in range(40):
        x = rng.choice([-1.0, 1.0], size=d) * 10.0 ** rng.uniform(-8, 8)
        u = np.einsum("okd,d->ok", w1, x)
        y = -np.where(np.sum(w2 * np.where(u >= 0, 1, -1), axis=1) >= 0, 1.0, -1.0)  # surprising
        if step % 3 == 0:
            x[: d // 2] = 0.0  # zero inputs
        h1, h2 = bayes_update_step(h1, h2, x, y)
        assert np.all(np.isfinite(h1)) and np.all(np.isfinite(h2))
    assert np.abs(h2 - 60.0 * w2).max() > 1.0  # surprises do move the fields


def test_consistent_sample_leaves_deterministic_network_unchanged():
    # Soudry & Meir 2013, sec. 4: near a deterministic BMNN a sample that does not contradict it leaves h as it is
    M = 9
    w1, w2 = teacher_weights(M, seed=4)
    h1, h2 = 30.0 * w1[None], 30.0 * w2[None]
    x, y = teacher_student(M, 400, seed=5, teacher_seed=4)
    margin = np.abs(np.where(x @ w1.T >= 0, 1, -1) @ w2)
    for xi, yi, m in zip(x.astype(float), y.astype(float), margin, strict=True):
        h1n, h2n = bayes_update_step(h1, h2, xi, np.array([yi]))
        assert np.array_equal(np.sign(h1n), np.sign(h1)) and np.array_equal(np.sign(h2n), w2[None])
        assert np.all(np.abs(h1n) >= np.abs(h1)) and np.all(np.abs(h2n) >= np.abs(h2))
        if m >= 3:  # no hidden vote is pivotal: exactly unchanged
            assert np.array_equal(h1n, h1) and np.array_equal(h2n, h2)
    assert np.sum(margin >= 3) > 100


def test_uniform_prior_is_a_symmetric_fixed_point():
    h1, h2 = np.zeros((2, 3, 5)), np.zeros((2, 3))
    h1n, h2n = bayes_update_step(h1, h2, np.arange(5.0) - 2, np.array([1.0, -1.0]))
    assert np.array_equal(h1n, h1) and np.array_equal(h2n, h2)


def test_update_is_invariant_to_input_amplitude():
    rng = np.random.default_rng(6)
    h1, h2 = uniform_weights(8, 3, 2, rng)
    x = rng.standard_normal(8)
    y = np.array([1.0, -1.0])
    ref = bayes_update_step(h1, h2, x, y)
    for c in (1e-3, 1e3):
        got = bayes_update_step(h1, h2, c * x, y)
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-7, atol=1e-12)


def test_prior_matches_paper():
    net = MFBNetwork(48, 12, 3, seed=0)
    h1, h2 = net.fields
    assert h1.shape == (3, 12, 48) and h2.shape == (3, 12)
    assert np.abs(h1).max() <= math.sqrt(3 / 48) and np.abs(h2).max() <= math.sqrt(3 / 12)
    np.testing.assert_allclose(np.std(h1) * math.sqrt(48), 1.0, atol=0.05)  # std(h) = 1/sqrt(K)
    assert net.n_weights == 3 * 12 * 49


def test_fit_learns_teacher_and_reports_history():
    x, y = teacher_student(7, 6000, seed=1, teacher_seed=0)
    x_test, y_test = teacher_student(7, 2000, seed=2, teacher_seed=0)
    net = MFBNetwork(7, 7, 1, seed=0)
    seen = []

    class Recorder(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    history = net.fit(
        x, y, epochs=2, callbacks=[Recorder()], verbose=0, validation_data=(x_test, y_test)
    )
    assert set(history.history) == {"error", "pmfb_error", "val_error", "val_pmfb_error"}
    assert len(history.history["error"]) == 2 and len(seen) == 2
    errors = net.evaluate(x_test, y_test)
    assert errors["error"] < 0.08 and errors["pmfb_error"] < 0.08
    assert history.history["error"][-1] < 0.1
    assert net.training_curve_.samples[-1] == 12000
    pred = net.predict_map(x_test)
    assert pred.shape == (2000, 1) and set(np.unique(pred)) <= {-1.0, 1.0}
    assert np.mean(pred[:, 0] != y_test) == errors["error"]


def test_predict_proba_equals_map_for_a_deterministic_posterior():
    net = MFBNetwork(9, 5, 3, seed=1)
    h1, h2 = net.fields
    net.set_fields(40 * np.sign(h1), 40 * np.sign(h2))
    x = np.random.default_rng(0).standard_normal((50, 9))
    nu = net.predict_proba(x)
    np.testing.assert_allclose(nu, net.predict_map(x), atol=1e-12)


def test_multiclass_labels_and_argmax_rule():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((4, 12)) * 2
    labels = rng.integers(0, 4, size=3000)
    x = centers[labels] + rng.standard_normal((3000, 12))
    net = MFBNetwork(12, 9, 4, seed=0)
    net.fit(x, labels, epochs=2, verbose=0)
    errors = net.evaluate(x, labels)
    assert errors["pmfb_error"] < 0.1 and errors["error"] < 0.15


def test_to_keras_matches_map_network_and_round_trips(tmp_path):
    net = MFBNetwork(11, 5, 3, seed=2)
    net.fit(*_blobs(), epochs=1, verbose=0)
    model = net.to_keras()
    x = np.random.default_rng(1).standard_normal((64, 11)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), net.map_scores(x))
    for name in ("m.keras", "saved"):
        model.save(tmp_path / name)
        loaded = tf.keras.models.load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), net.map_scores(x))


def _blobs():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=600)
    return rng.standard_normal((3, 11))[labels] + rng.standard_normal((600, 11)), labels


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_dim": 0, "hidden_per_output": 3, "outputs": 1}, "input_dim"),
        ({"input_dim": 4, "hidden_per_output": 2.5, "outputs": 1}, "hidden_per_output"),
        ({"input_dim": 4, "hidden_per_output": 3, "outputs": 1, "dtype": "int8"}, "dtype"),
    ],
)
def test_bad_construction_raises(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MFBNetwork(**kwargs)


def test_bad_fit_arguments_raise():
    net = MFBNetwork(4, 3, 2, seed=0)
    x = np.zeros((5, 4))
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        net.fit(np.zeros((5, 3)), np.zeros(5, int), verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        net.fit(x, np.array([0, 1, 2, 0, 1]), verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        net.fit(x, np.zeros(5, int), epochs=0, verbose=0)
    with pytest.raises(ValueError, match="finite"):
        net.fit(x + np.nan, np.zeros(5, int), verbose=0)
    with pytest.raises(ValueError, match="same length"):
        net.fit(x, np.zeros(4, int), verbose=0)


def test_to_keras_converts_with_lce_and_runs_identically():
    import larq_compute_engine as lce
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    net = MFBNetwork(11, 5, 3, seed=4)
    net.fit(*_blobs(), epochs=1, verbose=0)
    flatbuffer = lce.convert_keras_model(net.to_keras())
    x = np.random.default_rng(2).standard_normal((16, 11)).astype("float32")
    np.testing.assert_array_equal(Interpreter(flatbuffer).predict(x), net.map_scores(x))


@pytest.mark.parametrize("y", [1.0, -1.0])
def test_eq26_sign_erratum_by_monte_carlo(y):
    """Soudry & Meir 2013, eq. 20 at the output layer, G = 2 / sqrt(K) N(0 | mu, sigma^2) / P(y u > 0) with
    u ~ N(mu, sigma^2), estimated by sampling u (density at 0 from a narrow bin), for a surprising
    sample (y mu < 0) as sigma shrinks: it is positive for both labels and tends to the corrected
    2 |mu| / (sigma^2 sqrt(K)), while the printed eq. 26, -2 mu / (sigma^2 sqrt(K)), has the
    opposite sign for y = -1."""
    rng = np.random.default_rng(7)
    k, mu, n, half_bin = 9, -0.4 * y, 4_000_000, 0.004
    ratios = []
    for sigma in (0.4, 0.25, 0.18):
        u = mu + sigma * rng.standard_normal(n)
        density = np.mean(np.abs(u) < half_bin) / (2 * half_bin)
        gain = 2 / math.sqrt(k) * density / np.mean(y * u > 0)
        corrected = 2 * abs(mu) / (sigma**2 * math.sqrt(k))
        printed = -2 * mu / (sigma**2 * math.sqrt(k))
        assert gain > 0 and np.sign(printed) == y
        ratios.append(gain / corrected)
    # approaches the corrected form from above: exactly M(b) / |b| at b = mu / sigma, M the inverse
    # Mills ratio, = 1.525, 1.265, 1.157 here (and -> 1 as sigma -> 0)
    np.testing.assert_allclose(ratios, [1.525, 1.265, 1.157], rtol=0.04)
