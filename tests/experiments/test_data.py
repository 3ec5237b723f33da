"""The experiments' offline datasets (bnn_init.experiments.data)."""

import numpy as np
import pytest

from bnn_init.experiments.data import load_dataset


def test_load_dataset_subset_and_errors():
    (x, y), (xt, yt) = load_dataset("digits", n_train=100, seed=1)
    assert x.shape == (100, 64) and xt.shape == (450, 64) and x.dtype == np.float32
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="data_path"):
        load_dataset("mnist")
