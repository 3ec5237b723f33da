"""The ``reproduce`` command's parser (the experiments themselves run in their own tests)."""

import argparse

import pytest

import bnn_init  # noqa: F401
from bnn_init.experiments import cli


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
