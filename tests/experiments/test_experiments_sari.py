"""``bnn-init reproduce sari-init --quick``: Sari et al. (2019) Tables 1-2 in about a minute."""

import argparse
import csv

import numpy as np
import pytest

import bnn_init  # noqa: F401
from bnn_init.experiments import cli, sari

pytestmark = pytest.mark.slow  # end to end: the slow tier (make test-slow)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sari")
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["reproduce", "sari-init", "--quick", "--no-progress", "--out", str(out)]
    )
    assert args.func(args) == 0
    return out


def test_files_and_table_structure(run, capsys):
    assert (run / "sari_init.png").stat().st_size > 10_000
    verdict = (run / "sari_init.txt").read_text()
    assert "Table 2 centred_fixed" in verdict and "paper ResNet-56" in verdict
    rows = list(csv.DictReader(open(run / "sari_init.csv")))
    s = sari.SIZES["quick"]
    configs = len(s["inits"]) + len(sari.NORMS) - 1  # BatchNorm at 1e-3 is shared
    configs += len(s["inits"]) - 1  # the scaled-rate runs, but for 1e-3 (the base rate)
    assert len(rows) == configs * s["seeds"]
    assert {r["table"] for r in rows} == {"table1", "table1_scaled", "table2"}
    assert {r["norm"] for r in rows} == set(sari.NORMS)
    for r in rows:
        assert 0.0 <= float(r["best_test_accuracy"]) <= 1.0
        assert int(r["updates"]) == s["updates"] and int(r["paper_updates"]) == sari.PAPER_UPDATES
        assert 0.0 <= float(r["sign_changed_fraction"]) <= 1.0


def test_every_initial_variance_flips_binary_weights(run):
    """The flip budget: under BatchNorm every initialisation of Table 1 changes the sign of some
    binary weights (measured at --quick: 8 % Glorot, 12 % at variance 1e-3)."""
    rows = list(csv.DictReader(open(run / "sari_init.csv")))
    for r in rows:
        if r["table"] == "table1":
            assert float(r["sign_changed_fraction"]) > 0.02, r


def test_no_norm_and_centring_only_train_worse_than_batchnorm_and_fixed_scales(run):
    """Sari et al. 2019, Table 2: "No BatchNorm" and "Centred Only" do not converge; BatchNorm and
    the fixed and Glorot scales do. Seeded; mean over seeds, margin 0.1 (measured: 0.13, 0.34 vs
    0.79, 0.77, 0.81)."""
    rows = list(csv.DictReader(open(run / "sari_init.csv")))
    acc = {
        norm: np.mean([float(r["best_test_accuracy"]) for r in rows if r["norm"] == norm])
        for norm in sari.NORMS
    }
    good = min(acc["batchnorm"], acc["centred_fixed"], acc["centred_glorot"])
    assert max(acc["none"], acc["centred"]) + 0.1 < good


def test_binary_kernels_at_a_rate_proportional_to_the_half_width_flip_alike(run):
    """Behind BatchNorm the binary kernels at lr ~ half-width follow one trajectory in units of
    the half-width: per seed, variance 1e-4 at lr 1e-3 x sqrt(0.1) flips the fraction of signs
    that 1e-3 flips at lr 1e-3 (measured 12.0 % and 12.0 %, 12.9 % and 12.9 %), while at the
    common rate 1e-4 flips about twice as many (24 %)."""
    rows = list(csv.DictReader(open(run / "sari_init.csv")))

    def flips(table, init):
        chosen = [r for r in rows if r["table"] == table and r["norm"] == "batchnorm"]
        return {
            r["seed"]: float(r["sign_changed_fraction"]) for r in chosen if float(r["init"]) == init
        }

    reference, scaled, common = (
        flips("table1", 1e-3),
        flips("table1_scaled", 1e-4),
        flips("table1", 1e-4),
    )
    assert set(reference) == set(scaled) == set(common)
    for seed in reference:
        assert abs(scaled[seed] - reference[seed]) < 0.01
        assert common[seed] > 1.5 * reference[seed]
