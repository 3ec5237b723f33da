"""``schoenholz-depth`` and ``schoenholz-gradients`` at test size (Schoenholz et al. (004))."""

import math

import pytest

import bnn_init  # noqa: F401
from bnn_init.experiments import schoenholz


@pytest.fixture(scope="module")
def depth_result():
    return schoenholz.depth_experiment(size="test", progress_bar=False)


def test_depth_structure(depth_result):
    s = schoenholz.DEPTH_SIZES["test"]
    assert len(depth_result.rows) == len(s["depths"]) * len(s["sigma_w2"])
    for row in depth_result.rows:
        assert set(row) >= {"depth", "sigma_w2", "train_accuracy", "xi_c", "keep_rate"}
        assert row["steps"] == s["steps"]
    assert "L_max / xi_c" in depth_result.verdict


def test_critical_init_trains_deeper_than_far_from_critical(depth_result):
    """004 Fig. 5: at depth 40, sigma_w2 = 1.76 (critical for sigma_b2 = 0.05) trains, and
    sigma_w2 = 0.6 (6 xi_c = 8.9) does not; at depth 6 both train."""
    acc = {(r["depth"], r["sigma_w2"]): r["train_accuracy"] for r in depth_result.rows}
    assert acc[(40, 1.76)] > acc[(40, 0.6)] + 0.4
    assert min(acc[(6, 0.6)], acc[(6, 1.76)]) > 0.6
    assert depth_result.summary["panels"]["rho=1"]["agreement"] == 1.0


def test_dropout_bounds_the_depth_scale():
    """004 sec. 3.1: with dropout xi_c is finite at every sigma_w2 (the panel's theory)."""
    from bnn_init.theory import ContinuousNet

    xi = [
        ContinuousNet(phi="tanh", sigma_w2=w, sigma_b2=0.05, dropout_rate=0.02).xi_c
        for w in (1.5, 1.76, 2.0, 2.5)
    ]
    assert all(math.isfinite(v) for v in xi) and 6 * max(xi) < 100


def test_gradient_depth_scale_matches_xi_grad():
    """004 Fig. 4: gradients vanish towards the input in the ordered phase and explode in the
    chaotic phase, over |xi_grad| layers (measured within 20 % of theory at depth 100)."""
    res = schoenholz.gradient_experiment(size="test", progress_bar=False)
    s = schoenholz.GRADIENT_SIZES["test"]
    assert len(res.rows) == s["depth"] * len(s["sigma_w2"])
    assert res.summary["signs_agree"]
    for p in res.summary["points"]:
        if p["measurable"]:
            assert p["measured_xi"] / p["xi_grad"] == pytest.approx(1.0, abs=0.2)
