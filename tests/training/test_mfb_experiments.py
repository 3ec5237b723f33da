# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Fig. 2A of Soudry & Meir (2013) in quick mode (teacher-student: MFB ~ PMFB ~ BackProp, clipped BackProp worse)
through the CLI entry point, and the real-data comparison on scikit-learn digits."""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import argparse
import csv

import numpy as np
import pytest

from bnn_init.training import cli
from bnn_init.training.experiments import real_data_comparison


def _parse(argv):
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_quick_teacher_student_reproduces_direction_of_fig2a(tmp_path):
    args = _parse([cli.COMMAND, "--quick", "--out", str(tmp_path)])
    assert args.func(args) == 0
    for suffix in ("txt", "csv", "png"):
        assert (tmp_path / f"mfb_teacher_student.{suffix}").stat().st_size > 100
    with open(tmp_path / "mfb_teacher_student.csv") as f:
        rows = [row for row in csv.DictReader(f) if row["task"].startswith("M=")]
    assert len(rows) == 3 * 4
    error = {(r["task"], r["algorithm"]): float(r["test_error"]) for r in rows}
    mean = {
        a: np.mean([error[(f"M={m}", a)] for m in (5, 9, 21)])
        for a in ("MFB", "PMFB", "BackProp", "Clipped BackProp")
    }
    assert mean["Clipped BackProp"] > mean["MFB"] + 0.05
    assert mean["Clipped BackProp"] > mean["BackProp"] + 0.05
    assert abs(mean["MFB"] - mean["BackProp"]) < 0.08
    assert mean["PMFB"] <= mean["MFB"] + 0.01
    assert error[("M=5", "MFB")] < 0.1


def test_bad_cli_values_raise_value_error(tmp_path):
    args = _parse([cli.COMMAND, "--quick", "--samples", "0", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--samples"):
        args.func(args)


def test_digits_comparison_mfb_beats_clipped_backprop():
    result = real_data_comparison("digits", hidden_per_output=15, epochs=4)
    best = result.summary["best"]["digits"]
    assert best["MFB"] < 0.15 and best["PMFB"] < 0.15 and best["BackProp"] < 0.15
    assert best["Clipped BackProp"] > best["MFB"]
