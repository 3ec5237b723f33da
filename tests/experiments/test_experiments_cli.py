"""The ``reproduce`` command's parser (the experiments themselves run in their own tests)."""

import argparse

import numpy as np
import pytest

import bnn_init  # noqa: F401
from bnn_init.experiments import cli, sari


def _parser():
    parser = argparse.ArgumentParser(prog="bnn-init")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_every_experiment_is_a_reproduce_name():
    parser = _parser()
    for name in ("schoenholz-depth", "schoenholz-gradients", "wang-bnn", "sari-init"):
        args = parser.parse_args(["reproduce", name])
        assert args.experiment == name and args.size == "default" and args.dataset == "digits"
        assert callable(args.func)
    args = parser.parse_args(["reproduce", "wang-bnn", "--quick", "--dataset", "mnist1d"])
    assert args.size == "quick" and args.dataset == "mnist1d"
    with pytest.raises(SystemExit):
        parser.parse_args(["reproduce", "no-such-experiment"])


def test_mnist_without_path_is_a_value_error(tmp_path):
    args = _parser().parse_args(
        ["reproduce", "sari-init", "--dataset", "mnist", "--out", str(tmp_path)]
    )
    with pytest.raises(ValueError, match="--data-path"):
        args.func(args)
    with pytest.raises(ValueError, match="experiment must be one of"):
        cli.run_experiment("nope")


def test_reproduce_runs_on_a_local_mnist_file(tmp_path, capsys):
    """``--dataset mnist --data-path``: a small mnist.npz written here (random 28 x 28 images)
    goes through the gradient experiment (784 inputs) and the conv net of sari-init (28 x 28 x 1)."""
    rng = np.random.default_rng(0)
    images = lambda n: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)  # noqa: E731
    labels = lambda n: np.arange(n, dtype=np.uint8) % 10  # noqa: E731
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images(64), y_train=labels(64), x_test=images(20), y_test=labels(20))
    args = _parser().parse_args(
        ["reproduce", "schoenholz-gradients", "--quick", "--dataset", "mnist"]
        + ["--data-path", str(path), "--out", str(tmp_path / "out"), "--no-progress"]
    )
    assert args.func(args) == 0
    assert "schoenholz-gradients (mnist" in capsys.readouterr().out
    result = cli.run_experiment(
        "sari-init",
        size="quick",
        dataset="mnist",
        data_path=path,
        progress_bar=False,
        filters=(4, 8),
        updates=4,
        seeds=1,
        batch_size=16,
        inits=("glorot",),
    )
    assert {row["norm"] for row in result.rows} == set(sari.NORMS)
    assert "centring + fixed scale" in result.headline
