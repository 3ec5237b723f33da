# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""Offline datasets: the teacher-student task of Soudry & Meir (2013), digits, MNIST-1D and local MNIST files."""

import bnn_init  # noqa: F401

import gzip

import numpy as np
import pytest

from bnn_init import datasets


def test_teacher_student_labels_come_from_the_teacher():
    x, y = datasets.teacher_student(7, 500, seed=3, teacher_seed=1)
    assert x.shape == (500, 7) and y.shape == (500,) and x.dtype == np.float32
    assert set(np.unique(x)) == {-1.0, 1.0} and set(np.unique(y)) == {-1.0, 1.0}
    w1, w2 = datasets.teacher_weights(7, seed=1)
    expected = np.sign(np.sign(x @ w1.T) @ w2)  # M odd: no ties
    np.testing.assert_array_equal(y, expected)
    x2, y2 = datasets.teacher_student(7, 500, seed=3, teacher_seed=1)
    np.testing.assert_array_equal(x, x2)
    x3, _ = datasets.teacher_student(7, 500, seed=4, teacher_seed=1)
    assert not np.array_equal(x, x3)  # fresh samples, same teacher
    assert 0.2 < np.mean(y == 1) < 0.8


@pytest.mark.parametrize(("M", "n"), [(0, 5), (3, -1), (2.5, 3)])
def test_teacher_student_bad_sizes(M, n):
    with pytest.raises((ValueError, TypeError), match="M|n"):
        datasets.teacher_student(M, n)


def test_digits_split_standardised_with_bias():
    (x, y), (xt, yt) = datasets.load_digits(add_bias=True)
    assert x.shape[1] == 65 and len(x) + len(xt) == 1797 and abs(len(xt) - 450) < 5
    np.testing.assert_array_equal(x[:, -1], 1.0)
    assert np.abs(x[:, :-1].mean(axis=0)).max() < 1e-5
    assert set(np.unique(yt)) == set(range(10))
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.load_digits(test_fraction=1.5)


def test_mnist1d_offline_and_restores_global_rng():
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    (x, y), (xt, yt) = datasets.load_mnist1d(num_samples=500)
    assert np.random.random() == expected_next
    assert x.shape == (400, 40) and xt.shape == (100, 40) and y.dtype == np.int64


def _write_idx(path, array, compress):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _tiny_mnist(rng):
    return {
        "x_train": rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, size=6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=3, dtype=np.uint8),
    }


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_idx_files(tmp_path, compress):
    arrays = _tiny_mnist(np.random.default_rng(0))
    for key, stem in datasets._IDX_FILES.items():
        _write_idx(tmp_path / (stem + (".gz" if compress else "")), arrays[key], compress)
    (x, y), (xt, yt) = datasets.load_mnist(tmp_path, standardize=False, add_bias=True)
    assert x.shape == (6, 785) and xt.shape == (3, 785)
    np.testing.assert_array_equal(x[:, :784], arrays["x_train"].reshape(6, 784))
    np.testing.assert_array_equal(yt, arrays["y_test"])


def test_load_mnist_from_npz(tmp_path):
    arrays = _tiny_mnist(np.random.default_rng(1))
    np.savez(tmp_path / "mnist.npz", **arrays)
    for path in (tmp_path, tmp_path / "mnist.npz"):
        (x, y), _ = datasets.load_mnist(path)
        assert x.shape == (6, 784) and np.abs(x.mean(axis=0)).max() < 1e-5
        np.testing.assert_array_equal(y, arrays["y_train"])


def test_load_mnist_missing_files_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_mnist(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist.npz") in message and "t10k-labels-idx1-ubyte" in message


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 3), np.uint8), False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="header says"):
        datasets.read_idx(tmp_path / "short")
