"""The fraction of binary kernel signs that training changed (bnn_init.experiments.flips)."""

import larq as lq
import numpy as np
import tensorflow as tf

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.experiments.flips import binary_kernel_signs, sign_changed_fraction


def test_counts_flipped_weights_of_binarised_layers_only():
    binary = lq.layers.QuantDense(8, kernel_quantizer="ste_sign", kernel_initializer="ones")
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(4), binary])
    before = binary_kernel_signs(model)
    assert [s.shape for s in before] == [(4, 8)]  # the float Dense layer is not counted
    kernel = np.ones((4, 8), "float32")
    kernel[:, :2] = -0.5  # 8 of 32 weights cross zero
    binary.kernel.assign(kernel)
    assert sign_changed_fraction(before, binary_kernel_signs(model)) == 0.25
    binary.kernel.assign(np.zeros((4, 8), "float32"))  # sign(0) = +1: nothing flipped
    assert sign_changed_fraction(before, binary_kernel_signs(model)) == 0.0


def test_stacked_kernels_give_one_fraction_per_network():
    before = [np.ones((3, 4, 5), np.int8), np.ones((3, 5), np.int8)]  # K = 3 networks
    after = [b.copy() for b in before]
    after[0][1, :2] = -1  # network 1: 10 of its 25 weights
    after[1][2, :] = -1  # network 2: 5 of its 25
    np.testing.assert_allclose(sign_changed_fraction(before, after, stacked=True), [0.0, 0.4, 0.2])
    assert sign_changed_fraction(before, after) == 15 / 75
