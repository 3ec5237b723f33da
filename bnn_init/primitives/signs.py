"""sign with sign(0) = +1, for numpy arrays and TensorFlow tensors.

Wang (2018) defines Sign(0) = +1, and so do Larq's ``ste_sign`` and Larq Compute Engine's
bitpacked ops; ``np.sign`` and ``tf.sign`` give 0, which biases q by about 1 % at even widths
(erratum 4, docs/errata.md). Every sign in bnn-init is one of these two functions.

Example:
    >>> sign([-0.5, 0.0, 2.0])
    array([-1.,  1.,  1.])
"""

from __future__ import annotations

import numpy as np

__all__ = ["sign", "tf_sign"]


def sign(x, dtype=np.float64) -> np.ndarray:
    """+1 where x >= 0, else -1, as a numpy array of ``dtype``."""
    return np.where(np.asarray(x) >= 0, 1.0, -1.0).astype(dtype)


def tf_sign(x):
    """+1 where x >= 0, else -1, as a tensor of x's dtype (TensorFlow is imported on first use).

    >>> import tensorflow as tf
    >>> tf_sign(tf.constant([-0.5, 0.0])).numpy().tolist()
    [-1.0, 1.0]
    """
    import tensorflow as tf

    return tf.where(x >= 0, tf.ones_like(x), -tf.ones_like(x))
