"""How many binary weights training flipped: the fraction of kernel signs that changed.

A binarised kernel computes with sign(W) (or B_r(W)), so a latent weight changes the network only
once it crosses zero. Under Adam a weight moves by at most about the learning rate per update, so
a budget of U updates cannot flip a weight initialised further than ``U x learning_rate`` from
zero: ``sign_changed_fraction`` tells whether a budget let training change the binary network at
all (Stamatescu et al. (2019) train means M whose signs are the deterministic binary network;
Sari et al. (2019) compare initial variances whose half-widths differ 30-fold).

Example:
    >>> import larq as lq, tensorflow as tf
    >>> layer = lq.layers.QuantDense(4, kernel_quantizer="ste_sign")
    >>> model = tf.keras.Sequential([tf.keras.Input((3,)), layer])
    >>> before = binary_kernel_signs(model)
    >>> layer.kernel.assign(-layer.kernel)  # doctest: +ELLIPSIS
    <...>
    >>> sign_changed_fraction(before, binary_kernel_signs(model))
    1.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["binary_kernel_signs", "sign_changed_fraction"]


def binary_kernel_signs(model, layers=None) -> list[np.ndarray]:
    """sign(W) of every kernel of ``layers`` (default: the layers of ``model`` with a Larq
    ``kernel_quantizer``), with sign(0) = +1."""
    if layers is None:
        layers = [layer for layer in model.layers if getattr(layer, "kernel_quantizer", None)]
    return [np.where(np.asarray(layer.kernel) >= 0, 1, -1).astype(np.int8) for layer in layers]


def sign_changed_fraction(before, after, *, stacked=False):
    """Fraction of all weights of the kernels ``before`` and ``after`` (`binary_kernel_signs`)
    whose sign differs: a float, or with ``stacked`` (kernels that hold K networks along their
    first axis, `bnn_init.experiments.stacked`) an array of K fractions, one per network."""
    if not stacked:
        changed = sum(int(np.sum(b != a)) for b, a in zip(before, after, strict=True))
        return changed / sum(b.size for b in before)
    changed = sum(
        np.sum(b != a, axis=tuple(range(1, b.ndim))) for b, a in zip(before, after, strict=True)
    )
    return changed / sum(b[0].size for b in before)
