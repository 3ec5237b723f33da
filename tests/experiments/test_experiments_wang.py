"""``wang-bnn --quick``: Wang (2018) Tables 1-2 and Figs. 7-8 in about a minute."""

import pytest

import bnn_init  # noqa: F401
from bnn_init.experiments import wang

pytestmark = pytest.mark.slow  # end to end: the slow tier (make test-slow)


@pytest.fixture(scope="module")
def result():
    return wang.experiment(size="quick", progress_bar=False)


def _rows(result, table):
    return [r for r in result.rows if r["table"] == table]


def test_structure_and_updates_counted(result, tmp_path):
    s = wang.SIZES["quick"]
    t1, t2, grid = _rows(result, "table1"), _rows(result, "table2"), _rows(result, "grid")
    assert len(t1) == len(wang.CASES) * s["records"]
    assert len(t2) == 2 * len(wang.TABLE2_CONFIGS) * s["records"]
    assert len(_rows(result, "sgd_tuning")) == len(s["sgd_learning_rates"])
    assert len(grid) == len(s["grid_variants"]) * len(s["grid_depths"]) * len(s["grid_sigma_w2"])
    for row in t1 + t2:
        assert row["paper_updates"] == wang.PAPER_TABLE_UPDATES == 3748
    assert [r["updates"] for r in t1[: s["records"]]][-1] == s["updates"]
    assert {r["updates"] for r in grid} == {s["grid_updates"]}
    assert {r["paper_updates"] for r in grid} == {wang.PAPER_GRID_UPDATES}
    assert set(result.summary["table1"]) == set(wang.CASES)
    assert result.summary["updates"] == s["updates"]
    paths = result.save(tmp_path)
    assert {p.suffix for p in paths} == {".csv", ".png", ".txt"}
    assert "Table 1 hard_tanh" in result.verdict and "Figs. 7-8 plain" in result.verdict
    assert result.headline.startswith(f"Table 1 after {s['updates']} updates (paper 3748)")


def test_hard_tanh_case_and_batchnorm_sign_train_where_the_literal_sign_case_cannot(result):
    """Wang 2018, Table 1: case 2 (B_r) ahead of the literal case 1 (measured 1.00 vs 0.24); the
    BinaryNet reading of case 1, BatchNorm before every sign, trains (0.83)."""
    t1 = result.summary["table1"]
    assert t1["hard_tanh"] > t1["sign_literal"] + 0.2
    assert t1["sign_batchnorm"] > t1["sign_literal"] + 0.2


def test_critical_sigma_trains_deep_network_that_far_from_critical_cannot(result):
    """Figs. 7-8 / theory: at depth 30, sigma_w2 = 1 (critical, xi_c infinite) trains, while
    sigma_w2 = 0.25 (6 xi_c = 4.3) and 4.0 do not."""
    grid = {
        (r["depth"], r["sigma_w2"]): r["train_accuracy"]
        for r in _rows(result, "grid")
        if r["config"] == "plain"
    }
    assert grid[(30, 1.0)] > max(grid[(30, 0.25)], grid[(30, 4.0)]) + 0.3
    assert result.summary["grid"]["plain"]["agreement"] >= 0.6


def test_small_r_freezes_under_sgd_but_not_under_adam(result):
    """Wang 2018, Table 2 and eq. 15: with plain SGD the gradient's 1/r factor freezes r = 0.1
    at its critical sigma_w while r = 1 learns (measured 0.13 vs 1.00); Adam's per-weight step
    normalises the factor away and r = 0.1 learns (0.49)."""
    adam, sgd = result.summary["table2"]["adam"], result.summary["table2"]["sgd"]
    small, one = "r=0.1 (critical)", "r=1 (critical)"
    assert sgd[one][-1] > sgd[small][-1] + 0.5
    assert max(sgd[small]) < wang.CHANCE + 0.1  # frozen, as the paper
    assert adam[small][-1] > sgd[small][-1] + 0.2
