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
    assert len(rows) == configs * s["seeds"]
    assert {r["norm"] for r in rows} == set(sari.NORMS)
    for r in rows:
        assert 0.0 <= float(r["best_test_accuracy"]) <= 1.0


def test_no_norm_and_centring_only_train_worse_than_batchnorm_and_fixed_scale(run):
    """Sari et al. 2019, Table 2: "No BatchNorm" and "Centred Only" do not converge; BatchNorm and the fixed
    scale do. Seeded; mean over seeds, margin 0.1 (measured: 0.16, 0.29 vs 0.58, 0.79)."""
    rows = list(csv.DictReader(open(run / "sari_init.csv")))
    acc = {
        norm: np.mean([float(r["best_test_accuracy"]) for r in rows if r["norm"] == norm])
        for norm in sari.NORMS
    }
    assert max(acc["none"], acc["centred"]) + 0.1 < min(acc["batchnorm"], acc["centred_fixed"])
