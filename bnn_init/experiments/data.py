"""The offline datasets the experiments train on, as standardised flat float32 arrays."""

from __future__ import annotations

import numpy as np

from bnn_init.primitives import check_choice

__all__ = ["DATASETS", "IMAGE_SHAPES", "load_dataset"]

DATASETS = ("digits", "mnist1d", "mnist")
# Image shape (height, width, channels) of each dataset's flat feature vector, for conv nets.
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist1d": (40, 1, 1), "mnist": (28, 28, 1)}


def load_dataset(dataset="digits", data_path=None, n_train=None, seed=0, add_bias=False):
    """``(x_train, y_train), (x_test, y_test)`` of an offline dataset, standardised, flat float32.

    ``dataset``: "digits" (scikit-learn, 1347 + 450), "mnist1d" (4000 + 1000) or "mnist" (read from
    ``data_path`` by `bnn_init.datasets.load_mnist`); ``n_train`` keeps a random subset of that many
    training examples (drawn with ``seed``); ``add_bias`` appends a constant 1 input.
    """
    from bnn_init import datasets

    check_choice("dataset", dataset, DATASETS)
    if dataset == "digits":
        train_set, test_set = datasets.load_digits(seed=seed, add_bias=add_bias)
    elif dataset == "mnist1d":
        train_set, test_set = datasets.load_mnist1d(add_bias=add_bias)
    else:
        if data_path is None:
            raise ValueError("dataset='mnist' needs data_path (a mnist.npz or IDX directory)")
        train_set, test_set = datasets.load_mnist(data_path, add_bias=add_bias)
    x, y = train_set
    if n_train is not None:
        if not 10 <= int(n_train):
            raise ValueError(f"n_train must be >= 10, got {n_train!r}")
        if n_train < len(y):
            keep = np.sort(np.random.default_rng(seed).choice(len(y), int(n_train), replace=False))
            x, y = x[keep], y[keep]
    return (x, y), test_set
