"""Properties of ``bnn_init.theory`` that must hold for every parameter: ranges of the maps,
fixed points, critical points, depth scales, phase diagrams, parameter checks, import cost."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnn_init.theory import (
    ContinuousNet,
    DeterministicSurrogate,
    HardTanhBNN,
    LRTSurrogate,
    SignNet,
    phase_diagram,
)

EXAMPLES = settings(max_examples=40, deadline=None)
TOL = 1e-9


def _unit(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


sigma_b2s = _unit(0.0, 0.5)

continuous_nets = st.builds(
    ContinuousNet,
    phi=st.sampled_from(["tanh", "erf", "hard_tanh"]),
    sigma_w2=_unit(0.1, 5.0),
    sigma_b2=sigma_b2s,
    dropout_rate=st.one_of(st.just(0.0), _unit(0.0, 0.5)),
)


@st.composite
def hard_tanh_bnns(draw):
    r = draw(_unit(0.05, 2.0))
    return HardTanhBNN(r=r, sigma_w2=draw(_unit(0.1, 5.0)) * r * r, sigma_b2=draw(sigma_b2s))


deterministic_surrogates = st.builds(
    DeterministicSurrogate,
    sigma_m2=_unit(0.01, 1.0),
    sigma_b2=sigma_b2s,
    kappa=_unit(0.3, 2.0),
)
lrt_surrogates = st.builds(
    LRTSurrogate,
    sigma_m2=_unit(0.01, 1.0),
    sigma_b2=sigma_b2s,
    neurons=st.sampled_from(["binary", "continuous"]),
)
sign_nets = st.builds(SignNet, sigma_b2=_unit(0.0, 2.0), ste_clip=_unit(0.1, 3.0))

#: models whose backward factor is chi_1 (no dropout, no straight-through estimator)
chi_backward_models = st.one_of(
    continuous_nets.filter(lambda m: m.dropout_rate == 0.0),
    hard_tanh_bnns(),
    deterministic_surrogates,
    lrt_surrogates,
)
models = st.one_of(chi_backward_models, continuous_nets, sign_nets)
correlations = _unit(-1.0, 1.0)


# ---- maps and fixed points ---------------------------------------------------------------------


@EXAMPLES
@given(models, correlations, _unit(0.0, 10.0))
def test_correlation_map_stays_in_unit_interval(model, c, q):
    assert -1.0 <= model.c_map(c) <= 1.0
    assert -1.0 <= model.c_map(c, q=q) <= 1.0


@EXAMPLES
@given(models, _unit(0.0, 10.0))
def test_variance_map_is_at_least_the_bias_variance(model, q):
    assert model.q_map(q) >= model.sigma_b2


@EXAMPLES
@given(models)
def test_q_star_and_c_star_are_fixed_points(model):
    q_star, c_star = model.q_star, model.c_star
    assert q_star >= 0.0 and -1.0 <= c_star <= 1.0
    assert abs(model.q_map(q_star) - q_star) <= TOL * max(1.0, q_star)
    assert abs(model.c_map(c_star) - c_star) <= TOL


@EXAMPLES
@given(models)
def test_trajectory_from_the_fixed_point_stays_there(model):
    trajectory = model.trajectory(model.q_star, model.c_star, 5)
    np.testing.assert_allclose(trajectory.q, model.q_star, rtol=1e-8, atol=TOL)
    np.testing.assert_allclose(trajectory.c, model.c_star, atol=1e-8)


# ---- critical points ---------------------------------------------------------------------------


@EXAMPLES
@given(st.sampled_from(["tanh", "erf", "hard_tanh"]), sigma_b2s)
def test_continuous_net_critical_has_chi1_one(phi, sigma_b2):
    model = ContinuousNet.critical(phi=phi, sigma_b2=sigma_b2)
    assert abs(model.chi1 - 1.0) <= TOL
    assert model.c_star == 1.0 and model.xi_c == np.inf


@EXAMPLES
@given(_unit(0.05, 2.0), sigma_b2s)
def test_hard_tanh_bnn_critical_has_chi1_one(r, sigma_b2):
    model = HardTanhBNN.critical(r=r, sigma_b2=sigma_b2)
    assert abs(model.chi1 - 1.0) <= TOL
    assert model.sigma_w2 >= r * r * (1.0 - 1e-12)  # any bias needs sigma_w slightly above r


# ---- depth scales ------------------------------------------------------------------------------


@EXAMPLES
@given(models)
def test_correlation_depth_scale_is_non_negative(model):
    assert model.xi_c >= 0.0
    assert model.max_trainable_depth() == pytest.approx(6.0 * model.xi_c)


@EXAMPLES
@given(chi_backward_models)
def test_gradient_depth_scale_sign_follows_chi1(model):
    chi1, xi_grad = model.chi1, model.xi_grad
    if abs(chi1 - 1.0) <= 1e-10:
        assert xi_grad == np.inf
    else:
        assert (xi_grad > 0) == (chi1 < 1.0)  # vanishing gradients iff ordered


@EXAMPLES
@given(sign_nets)
def test_sign_net_is_chaotic_with_vanishing_straight_through_gradients(model):
    assert model.chi1 == np.inf and model.c_star < 1.0
    assert 0.0 < model.grad_variance_ratio() < 1.0 and model.xi_grad > 0.0


# ---- phase diagrams ----------------------------------------------------------------------------


def _grid(lo, hi):
    return st.lists(_unit(lo, hi), min_size=1, max_size=3, unique=True).map(np.array)


FAMILIES = {
    "tanh": (ContinuousNet, {"phi": "tanh"}, ("sigma_w2", 0.2, 4.0), ("sigma_b2", 0.0, 0.5)),
    "hard_tanh": (
        ContinuousNet,
        {"phi": "hard_tanh", "dropout_rate": 0.1},
        ("sigma_w2", 0.2, 4.0),
        ("sigma_b2", 0.0, 0.5),
    ),
    "wang": (HardTanhBNN, {"r": 0.4}, ("sigma_w2", 0.01, 1.0), ("sigma_b2", 0.0, 0.5)),
    "deterministic": (
        DeterministicSurrogate,
        {"kappa": 1.0},
        ("sigma_m2", 0.05, 1.0),
        ("sigma_b2", 0.0, 0.5),
    ),
    "lrt": (
        LRTSurrogate,
        {"neurons": "continuous"},
        ("sigma_m2", 0.05, 1.0),
        ("sigma_b2", 0.0, 0.5),
    ),
}


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(FAMILIES)), st.data())
def test_phase_diagram_equals_per_point_models(family, data):
    cls, fixed, (name_x, lo_x, hi_x), (name_y, lo_y, hi_y) = FAMILIES[family]
    xs, ys = data.draw(_grid(lo_x, hi_x)), data.draw(_grid(lo_y, hi_y))
    pd = phase_diagram(cls, **fixed, **{name_x: xs, name_y: ys})
    assert pd.chi1.shape == (len(xs), len(ys))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            model = cls(**fixed, **{name_x: x, name_y: y})
            for key in ("chi1", "q_star", "c_star", "xi_c"):
                np.testing.assert_allclose(
                    getattr(pd, key)[i, j], getattr(model, key), rtol=1e-8, atol=1e-10, err_msg=key
                )


def test_one_float_below_criticality_is_critical_on_grids_and_points_alike():
    """At sigma_m2 one float below 1 the LRT surrogate's correlation map is c' = sigma_m2 c to
    round-off, so any c in [0, 1] solves c' = c: a random draw once found c* = 1 on a phase
    diagram and 5e-19 for the same point alone. Both now call it critical, as xi_c = inf does."""
    below = np.nextafter(1.0, 0.0)
    pd = phase_diagram(
        LRTSurrogate, neurons="continuous", sigma_m2=np.array([0.5, below]), sigma_b2=np.zeros(1)
    )
    point = LRTSurrogate(sigma_m2=below, sigma_b2=0.0, neurons="continuous")
    assert pd.c_star[1, 0] == point.c_star == 1.0
    assert pd.xi_c[1, 0] == point.xi_c == np.inf
    tiny_dropout = ContinuousNet(phi="tanh", sigma_w2=0.5, dropout_rate=1e-300)
    assert tiny_dropout.c_star == ContinuousNet(phi="tanh", sigma_w2=0.5).c_star == 1.0


@pytest.mark.parametrize(
    "cls, axes",
    [
        (HardTanhBNN, {"r": np.array([0.4, 1.0]), "sigma_w2": np.array([0.2, 1.0])}),
        (DeterministicSurrogate, {"kappa": np.array([0.5, 1.0]), "sigma_m2": np.array([0.5, 1.0])}),
    ],
    ids=["HardTanhBNN-r", "DeterministicSurrogate-kappa"],
)
def test_phase_diagram_over_the_activation_parameter(cls, axes):
    pd = phase_diagram(cls, **axes)
    (name, values), (other, others) = axes.items()
    for i, j in np.ndindex(pd.chi1.shape):
        model = cls(**{name: values[i], other: others[j]})
        assert pd.chi1[i, j] == pytest.approx(model.chi1, rel=1e-8)


def test_phase_diagram_of_sign_nets_and_its_rows():
    pd = phase_diagram(SignNet, sigma_b2=np.array([0.0, 0.5]))
    assert list(pd.chi1) == [np.inf, np.inf]
    assert pd.c_star[0] == pytest.approx(0.0, abs=1e-12)
    assert pd.c_star[1] == pytest.approx(SignNet(sigma_b2=0.5).c_star, abs=1e-12)
    rows = list(pd.rows())
    assert [row["sigma_b2"] for row in rows] == [0.0, 0.5]
    assert set(rows[0]) == {"sigma_b2", "chi1", "q_star", "c_star", "xi_c"}


# ---- bad parameters ----------------------------------------------------------------------------

negative = st.floats(max_value=-1e-9, min_value=-1e6, allow_nan=False)
BAD = {
    "ContinuousNet sigma_w2": (lambda v: ContinuousNet(sigma_w2=v), "sigma_w2", negative),
    "ContinuousNet sigma_w2 = 0": (lambda v: ContinuousNet(sigma_w2=v), "sigma_w2", st.just(0.0)),
    "ContinuousNet sigma_b2": (lambda v: ContinuousNet(sigma_b2=v), "sigma_b2", negative),
    "ContinuousNet dropout_rate": (
        lambda v: ContinuousNet(dropout_rate=v),
        "dropout_rate",
        st.one_of(negative, st.floats(1.0, 1e6)),
    ),
    "ContinuousNet phi": (
        lambda v: ContinuousNet(phi=v),
        "phi",
        st.sampled_from(["relu", "sign", "Tanh", ""]),
    ),
    "ContinuousNet.critical sigma_b2": (
        lambda v: ContinuousNet.critical(sigma_b2=v),
        "sigma_b2",
        negative,
    ),
    "HardTanhBNN r": (
        lambda v: HardTanhBNN(r=v),
        "r",
        st.one_of(negative, st.just(0.0)),
    ),
    "HardTanhBNN.critical r": (
        lambda v: HardTanhBNN.critical(r=v),
        "r",
        st.one_of(negative, st.just(0.0)),
    ),
    "HardTanhBNN sigma_w2": (lambda v: HardTanhBNN(sigma_w2=v), "sigma_w2", negative),
    "HardTanhBNN sigma_b2": (lambda v: HardTanhBNN(sigma_b2=v), "sigma_b2", negative),
    "DeterministicSurrogate sigma_m2": (
        lambda v: DeterministicSurrogate(sigma_m2=v),
        "sigma_m2",
        st.one_of(negative, st.just(0.0), st.floats(1.0, 1e6, exclude_min=True)),
    ),
    "DeterministicSurrogate sigma_b2": (
        lambda v: DeterministicSurrogate(sigma_b2=v),
        "sigma_b2",
        negative,
    ),
    "DeterministicSurrogate kappa": (
        lambda v: DeterministicSurrogate(kappa=v),
        "kappa",
        st.one_of(negative, st.just(0.0)),
    ),
    "LRTSurrogate sigma_m2": (
        lambda v: LRTSurrogate(sigma_m2=v),
        "sigma_m2",
        st.one_of(negative, st.just(0.0), st.floats(1.0, 1e6, exclude_min=True)),
    ),
    "LRTSurrogate neurons": (
        lambda v: LRTSurrogate(neurons=v),
        "neurons",
        st.sampled_from(["ternary", "sampled", ""]),
    ),
    "SignNet sigma_b2": (lambda v: SignNet(sigma_b2=v), "sigma_b2", negative),
    "SignNet ste_clip": (
        lambda v: SignNet(ste_clip=v),
        "ste_clip",
        st.one_of(negative, st.just(0.0)),
    ),
    "NaN sigma_w2": (lambda v: ContinuousNet(sigma_w2=v), "sigma_w2", st.just(float("nan"))),
    "trajectory depth": (
        lambda v: ContinuousNet().trajectory(1.0, 0.5, v),
        "depth",
        st.integers(-1000, 0),
    ),
    "trajectory c0": (
        lambda v: ContinuousNet().trajectory(1.0, v, 3),
        "c0",
        st.floats(1.0, 10.0, exclude_min=True),
    ),
    "trajectory q0": (lambda v: ContinuousNet().trajectory(v, 0.5, 3), "q0", negative),
    "c_map c": (lambda v: ContinuousNet().c_map(v), "c", st.floats(-10.0, -1.0, exclude_max=True)),
    "c_map q": (lambda v: ContinuousNet().c_map(0.5, q=v), "q", negative),
    "max_trainable_depth k": (
        lambda v: ContinuousNet().max_trainable_depth(k=v),
        "k",
        st.one_of(negative, st.just(0.0)),
    ),
    "grad_variance_ratio widths": (
        lambda v: ContinuousNet().grad_variance_ratio(widths=v),
        "widths",
        st.sampled_from([[100], [100, 0], [100, -5, 10], [[100, 100], [100, 100]]]),
    ),
    "phase_diagram 2-D axis": (
        lambda v: phase_diagram(ContinuousNet, sigma_w2=v),
        "sigma_w2",
        st.just(np.ones((2, 2))),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_bad_parameters_raise_value_error_naming_them(case, data):
    make, name, values = BAD[case]
    value = data.draw(values)
    with pytest.raises(ValueError, match=name) as info:
        make(value)
    if isinstance(value, float):  # a range check: the message gives the range and the value
        assert "must lie in" in str(info.value) and repr(value) in str(info.value)


def test_non_integer_depth_is_a_type_error():
    with pytest.raises(TypeError, match="depth"):
        ContinuousNet().trajectory(1.0, 0.5, 2.5)


# ---- import cost -------------------------------------------------------------------------------

# CPU time of the importing process: wall time on a loaded 2-core CI machine says little.
IMPORT_PROBE = """
import sys, time
start = time.process_time()
import bnn_init.theory
elapsed = time.process_time() - start
heavy = sorted(m for m in ("tensorflow", "tf_keras", "keras", "larq") if m in sys.modules)
print(elapsed, ",".join(heavy))
"""


def test_import_does_not_import_tensorflow():
    # its speed (< 1 s) is checked in benchmarks/bench_theory.py: timing has no place in a test
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[1:] == [], f"importing bnn_init.theory imported {out[1]}"


def test_an_unbounded_side_excludes_infinity():
    """A range shown as (0, inf) does not take inf (``--r inf`` ended in a solver's NaN error);
    the straight-through clip may be inf (no clipping)."""
    with pytest.raises(ValueError, match=r"r must lie in \(0, inf\), got inf"):
        HardTanhBNN(r=np.inf)
    with pytest.raises(ValueError, match="sigma_b2 must lie in"):
        SignNet(sigma_b2=np.inf)
    assert SignNet(ste_clip=np.inf).backward_factor(1.0) == 1.0
