"""Data that works offline: the teacher-student task of Soudry & Meir (2013, sec. 5),
scikit-learn's handwritten digits, MNIST-1D (generated procedurally by ``mnist1d``), and MNIST read
from files the user already has. Nothing here downloads.

The real-data loaders return ``(x_train, y_train), (x_test, y_test)`` with float32 inputs of shape
(n, features) and integer labels. ``standardize=True`` centres every feature and scales it to unit
standard deviation using training-set statistics (Soudry & Meir 2013, sec. 5, after LeCun et al. 2012; constant
features become 0); ``add_bias=True`` appends a constant 1 feature (Soudry & Meir 2013: "we added a constant 1
component to the input", giving the 785 inputs of the MNIST network).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from bnn_init.primitives.checks import check_integer
from bnn_init.primitives.signs import sign


def teacher_weights(M, seed=None):
    """The random binary teacher of Soudry & Meir 2013, sec. 5: an ``M x M x 1`` network with weights
    ``w1`` (M, M) and ``w2`` (M,) drawn uniformly from {-1, +1}."""
    M = check_integer("M", M, 1)
    rng = np.random.default_rng(seed)
    w1 = rng.choice([-1.0, 1.0], size=(M, M))
    w2 = rng.choice([-1.0, 1.0], size=M)
    return w1, w2


def teacher_student(M, n, seed=None, teacher_seed=None):
    """``n`` samples of the synthetic task of Soudry & Meir 2013, sec. 5: inputs ``x`` uniform on {-1, +1}^M,
    labels ``y = sign(w2 . sign(w1 x))`` from the random binary teacher
    ``teacher_weights(M, teacher_seed)`` (sign(0) = +1; with odd M there are no ties).

    ``seed`` draws the inputs and ``teacher_seed`` (default: ``seed``) the teacher, so a training
    set and a fresh test set from the same teacher are
    ``teacher_student(M, n, seed=1, teacher_seed=0)`` and ``teacher_student(M, 10_000, seed=2,
    teacher_seed=0)``. Returns ``x`` float32 (n, M) and ``y`` float32 (n,) in {-1, +1}.

    Example::

        >>> x, y = teacher_student(5, 4, seed=0)
        >>> x.shape, y.shape, set(np.unique(y)) <= {-1.0, 1.0}
        ((4, 5), (4,), True)
    """
    M = check_integer("M", M, 1)
    n = check_integer("n", n, 0)
    w1, w2 = teacher_weights(M, seed if teacher_seed is None else teacher_seed)
    rng = np.random.default_rng(None if seed is None else [int(seed), 1])
    x = rng.choice([-1.0, 1.0], size=(n, M))
    hidden = sign(x @ w1.T)
    y = sign(hidden @ w2)
    return x.astype(np.float32), y.astype(np.float32)


def _prepare(x_train, x_test, standardize, add_bias):
    x_train = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)
    x_test = np.asarray(x_test, dtype=np.float64).reshape(len(x_test), -1)
    if standardize:
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
        std[std == 0] = 1.0
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
    if add_bias:
        x_train = np.hstack([x_train, np.ones((len(x_train), 1))])
        x_test = np.hstack([x_test, np.ones((len(x_test), 1))])
    return x_train.astype(np.float32), x_test.astype(np.float32)


def load_digits(test_fraction=0.25, seed=0, standardize=True, add_bias=False):
    """scikit-learn's 8 x 8 handwritten digits (1797 images, shipped with scikit-learn) as
    64 features, split at random into train and test (``test_fraction`` of the images, stratified
    by class, drawn with ``seed``)."""
    from sklearn.datasets import load_digits as sk_load_digits

    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    data = sk_load_digits()
    x, y = data.data, data.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = int(round(float(test_fraction) * len(members)))
        test[rng.choice(members, size=take, replace=False)] = True
    x_train, x_test = _prepare(x[~test], x[test], standardize, add_bias)
    return (x_train, y[~test]), (x_test, y[test])


def load_mnist1d(seed=42, num_samples=5000, standardize=True, add_bias=False):
    """MNIST-1D (Greydanus 2020): 10 classes of length-40 signals, generated offline by
    ``mnist1d.data.make_dataset(get_dataset_args())`` (4000 train + 1000 test by default).
    ``mnist1d`` seeds numpy's global generator; its state is restored afterwards."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = int(seed)
    args.num_samples = check_integer("num_samples", num_samples, 10)
    state = np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(state)
    x_train, x_test = _prepare(data["x"], data["x_test"], standardize, add_bias)
    return (x_train, data["y"].astype(np.int64)), (x_test, data["y_test"].astype(np.int64))


_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one IDX file (LeCun's MNIST format; gzip-compressed if the name ends in .gz)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = 4 + 4 * ndim + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: header says {expected} bytes, file has {len(raw)}")
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)


def _find_idx(directory, stem):
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_mnist(path, standardize=True, add_bias=False):
    """MNIST from local files: ``path`` is a ``mnist.npz`` (keys ``x_train``, ``y_train``,
    ``x_test``, ``y_test``, as Keras saves it) or a directory holding that file or the four IDX
    files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, optionally ``.gz``). Raises FileNotFoundError listing every place
    it looked. Images become 784 features (row-major 28 x 28); ``standardize`` and ``add_bias``
    as in
    the module docstring (the paper's 785-input network uses both).

    Example::

        >>> (x, y), (x_test, y_test) = load_mnist("~/data/mnist", add_bias=True)  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        (60000, 785)
    """
    path = Path(os.path.expanduser(str(path)))
    looked = []
    npz = path if path.suffix == ".npz" else path / "mnist.npz"
    looked.append(str(npz))
    if npz.is_file():
        with np.load(npz) as data:
            arrays = {key: data[key] for key in _IDX_FILES}
    else:
        arrays = {}
        if path.is_dir():
            for key, stem in _IDX_FILES.items():
                found = _find_idx(path, stem)
                if found is None:
                    looked.append(str(path / (stem + "[.gz]")))
                else:
                    arrays[key] = read_idx(found)
        else:
            looked.append(f"{path} (not a directory, so no IDX files)")
        if len(arrays) != len(_IDX_FILES):
            raise FileNotFoundError(
                "MNIST files not found; looked for: " + ", ".join(looked) + ". bnn-init never "
                "downloads: put mnist.npz or the four IDX files there and call load_mnist again."
            )
    y_train = arrays["y_train"].astype(np.int64)
    y_test = arrays["y_test"].astype(np.int64)
    x_train, x_test = _prepare(arrays["x_train"], arrays["x_test"], standardize, add_bias)
    return (x_train, y_train), (x_test, y_test)
