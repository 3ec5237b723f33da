"""bnn_init.primitives: the shared primitives on known inputs (their docstring examples run too)."""

import matplotlib
import numpy as np
import pytest
import tensorflow as tf

from bnn_init.primitives import (
    fan_in,
    kernel_fans,
    new_figure,
    pick_size,
    sign,
    tf_sign,
    write_csv,
)


def test_write_csv_union_of_columns(tmp_path):
    path = write_csv([{"a": 1, "b": 0.5}, {"a": 2, "c": "x"}], tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["a,b,c", "1,0.5,", "2,,x"]


def test_write_csv_given_columns_and_float_format(tmp_path):
    rows = [{"a": 1 / 3, "b": 2}, {"b": 3, "extra": 9}]
    path = write_csv(rows, tmp_path / "t.csv", columns=["b", "a"], float_format=".3g")
    assert path.read_text().splitlines() == ["b,a", "2,0.333", "3,"]


@pytest.mark.parametrize("shape", [(), (7,), (5, 3), (3, 3, 4, 8), (2, 3, 5, 4, 6)])
def test_fans_follow_keras(shape):
    from tf_keras.src.initializers.initializers import _compute_fans

    assert kernel_fans(shape) == tuple(int(f) for f in _compute_fans(shape))
    assert fan_in(shape) == kernel_fans(shape)[0]


def test_signs_map_zero_to_plus_one_in_numpy_and_tensorflow():
    x = np.array([-2.0, -0.0, 0.0, 1e-30, 3.0])
    np.testing.assert_array_equal(sign(x), [-1, 1, 1, 1, 1])
    assert sign(x, np.float32).dtype == np.float32
    np.testing.assert_array_equal(tf_sign(tf.constant(x, tf.float32)).numpy(), [-1, 1, 1, 1, 1])


def test_headless_figures_leave_the_backend_alone():
    before = matplotlib.get_backend()
    figure, axes = new_figure(ncols=3, nrows=2)
    assert axes.shape == (2, 3) and figure.canvas is not None
    assert matplotlib.get_backend() == before


def test_pick_size_and_overrides():
    presets = {"test": {"a": 1, "b": 2}}
    assert pick_size(presets, "test", {"b": 5, "a": None}) == {"a": 1, "b": 5}
    with pytest.raises(ValueError, match="size must be one of"):
        pick_size(presets, "huge")
    with pytest.raises(ValueError, match="unknown setting 'c'"):
        pick_size(presets, "test", {"c": 1})
