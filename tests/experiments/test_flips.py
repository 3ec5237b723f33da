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
