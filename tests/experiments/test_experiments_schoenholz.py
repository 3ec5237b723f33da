"""``schoenholz-depth`` and ``schoenholz-gradients --quick`` (Schoenholz et al. (2017))."""

import numpy as np
import pytest

import bnn_init  # noqa: F401
from bnn_init.experiments import schoenholz
from bnn_init.experiments.boundary import trainable_depths


@pytest.fixture(scope="module")
def depth_result():
    return schoenholz.depth_experiment(size="quick", progress_bar=False)


@pytest.fixture(scope="module")
def accuracy(depth_result):
    return {
        (r["keep_rate"], r["depth"], r["sigma_w2"]): r["train_accuracy"] for r in depth_result.rows
    }


@pytest.mark.slow  # the quick depth grid: the slow tier
def test_depth_structure(depth_result):
    s = schoenholz.DEPTH_SIZES["quick"]
    summary = depth_result.summary
    assert summary["pruned"]
    trained = sum(p["measured_cells"] for p in summary["panels"].values())
    assert len(depth_result.rows) == trained
    for rho in [1.0, *s["keep_rates"]]:  # every column trains at the shallowest depth
        shallow = [r for r in depth_result.rows if r["keep_rate"] == rho and r["depth"] == 10]
        assert len(shallow) == len(s["sigma_w2"])
    for row in depth_result.rows:
        assert set(row) >= {"depth", "sigma_w2", "train_accuracy", "xi_c", "keep_rate"}
        assert row["updates"] == s["steps"]
        assert row["paper_updates"] == schoenholz.PAPER_UPDATES == 300
    assert "L_max / xi_c" in depth_result.verdict and "chaotic side" in depth_result.verdict
    assert summary["updates"] == s["steps"] and summary["max_depth"] == max(s["depths"])
    assert {"ratio_ordered", "ratio_chaotic"} <= set(summary)
    assert depth_result.headline.startswith(f"after {s['steps']} rmsprop updates at lr ")
    assert set(depth_result.figures) == {"heatmap"}


@pytest.mark.slow  # the quick depth grid: the slow tier
def test_critical_init_trains_deeper_than_far_from_critical(depth_result, accuracy):
    """Schoenholz et al. 2017, Fig. 5: at depth 50 the critical sigma_w2 = 1.76 (sigma_b2 = 0.05) trains while the
    ordered 0.6 (6 xi_c = 8.9) and the chaotic 4.0 (6 xi_c = 42) do not (measured 0.90 vs 0.11,
    0.11); at depth 10 all train; "trained <=> L <= 6 xi_c" holds in most cells (measured 94 %)."""
    far = [accuracy.get((1.0, 50, w), np.nan) for w in (0.6, 4.0)]  # NaN: failed shallower
    assert accuracy[(1.0, 50, 1.76)] > np.nanmax([*far, 0.0]) + 0.5
    l_max = dict(
        zip(
            *(
                depth_result.summary["panels"]["rho=1"][k]
                for k in ("sigma_w2", "max_trained_depth")
            ),
            strict=True,
        )
    )
    assert l_max[1.76] == 50 > max(l_max[0.6], l_max[4.0])
    assert min(accuracy[(1.0, 10, w)] for w in (0.6, 1.76, 4.0)) > 0.8
    assert depth_result.summary["panels"]["rho=1"]["agreement"] >= 0.8


@pytest.mark.slow  # the quick depth grid: the slow tier
def test_dropout_bounds_the_trainable_depth(depth_result, accuracy):
    """Schoenholz et al. 2017, Fig. 6: with dropout (keep rate 0.94) xi_c is finite at every sigma_w2, so even the
    critical network stops training at depth 50 (measured 0.21, vs 0.90 without dropout), and
    the deepest trained network stays below the theory's largest 6 xi_c (measured 20 < 37)."""
    panel = depth_result.summary["panels"]["rho=0.94"]
    assert accuracy[(0.94, 50, 1.76)] < 0.5 < accuracy[(1.0, 50, 1.76)]
    assert panel["measured_max_depth"] <= panel["predicted_max_depth"]


def test_each_cell_is_the_mean_over_the_seeds():
    """Two seeds: one row per seed and cell, and the boundary is drawn from their mean."""
    result = schoenholz.depth_experiment(
        size="quick",
        progress_bar=False,
        depths=(3, 5),
        sigma_w2=(1.0, 1.76),
        keep_rates=(),
        steps=4,
        n_train=100,
        seeds=2,
        prune=False,
    )
    assert len(result.rows) == 2 * 2 * 2 and {r["seed"] for r in result.rows} == {0, 1}
    assert result.summary["seeds"] == 2 and "2 seed(s)" in result.headline
    grid = [
        [
            np.mean(
                [r["train_accuracy"] for r in result.rows if (r["depth"], r["sigma_w2"]) == cell]
            )
            for cell in ((depth, 1.0), (depth, 1.76))
        ]
        for depth in (3, 5)
    ]
    want = trainable_depths((3, 5), grid, result.summary["threshold"])
    assert result.summary["panels"]["rho=1"]["max_trained_depth"] == want.tolist()
    with pytest.raises(ValueError, match="seeds"):
        schoenholz.depth_experiment(size="quick", progress_bar=False, seeds=0)


def test_gradient_depth_scale_matches_xi_grad():
    """Schoenholz et al. 2017, Fig. 4: gradients vanish towards the input in the ordered phase and explode in the
    chaotic phase, over |xi_grad| layers (measured within 20 % of theory at depth 120)."""
    res = schoenholz.gradient_experiment(size="quick", progress_bar=False)
    s = schoenholz.GRADIENT_SIZES["quick"]
    assert len(res.rows) == s["depth"] * len(s["sigma_w2"])
    assert res.summary["signs_agree"]
    assert sum(p["measurable"] for p in res.summary["points"]) >= 4
    for p in res.summary["points"]:
        if p["measurable"]:
            assert p["measured_xi"] / p["xi_grad"] == pytest.approx(1.0, abs=0.2)
