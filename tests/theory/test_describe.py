"""describe(): the one place that maps a Keras/Larq model to its mean-field theory."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bnn_init.initializers import BinaryMeans, CriticalBias, CriticalHardTanhNormal
from bnn_init.quantizers import HardTanh
from bnn_init.theory import ContinuousNet, HardTanhBNN, SignNet, describe


def _hard_tanh_mlp(kernel_initializer, r=0.4, depth=5, width=64, bias_initializer=None):
    layers = [tf.keras.Input((20,))]
    for i in range(depth):
        layers.append(
            lq.layers.QuantDense(
                width,
                input_quantizer=HardTanh(r) if i else None,
                kernel_quantizer=HardTanh(r),
                kernel_initializer=kernel_initializer,
                use_bias=bias_initializer is not None,
                bias_initializer=bias_initializer or "zeros",
            )
        )
    layers.append(tf.keras.layers.Dense(10))
    return tf.keras.Sequential(layers)


def test_critical_hard_tanh_net_is_described_by_its_critical_theory():
    init = CriticalHardTanhNormal(r=0.4, sigma_b2=0.01)
    description = describe(_hard_tanh_mlp(init, bias_initializer=CriticalBias(0.01)))
    assert isinstance(description.theory, HardTanhBNN)
    assert description.theory.sigma_w2 == pytest.approx(init.sigma_w2, rel=1e-9)
    assert description.theory.sigma_b2 == pytest.approx(0.01)
    assert description.theory.chi1 == pytest.approx(1.0, abs=1e-6)
    assert description.widths == [64] * 5 + [10]
    assert description.linear_range == 0.4


def test_glorot_uniform_hard_tanh_net_gets_the_variance_matched_sigma_w2():
    # Var(W) = 2 / (64 + 64) for hidden layers; B_r(W) = W / r inside (-r, r): sigma_w2 = N Var / r^2
    description = describe(_hard_tanh_mlp("glorot_uniform", r=0.4))
    assert description.theory.sigma_w2 == pytest.approx(64 * (1 / 64) / 0.16)
    assert description.theory.chi1 > 1.0  # chaotic, as the initializer issue predicts for r = 0.4


def test_ste_sign_with_batchnorm_is_a_sign_net():
    layers = [tf.keras.Input((20,))]
    for i in range(4):
        layers += [
            lq.layers.QuantDense(
                32,
                input_quantizer="ste_sign" if i else None,
                kernel_quantizer="ste_sign",
                kernel_initializer=BinaryMeans(0.5),
                use_bias=False,
            ),
            tf.keras.layers.BatchNormalization(),
        ]
    description = describe(tf.keras.Sequential(layers))
    assert isinstance(description.theory, SignNet)
    assert [layer.name for layer in description.layers] == [quant.name for quant in layers[1::2]]


def test_float_tanh_net_is_a_continuous_net():
    model = tf.keras.Sequential(
        [tf.keras.Input((16,))]
        + [
            tf.keras.layers.Dense(
                32,
                activation="tanh",
                kernel_initializer=tf.keras.initializers.RandomNormal(stddev=np.sqrt(1.5 / 32)),
                bias_initializer=tf.keras.initializers.RandomNormal(stddev=np.sqrt(0.05)),
            )
            for _ in range(4)
        ]
        + [tf.keras.layers.Dense(3)]
    )
    theory = describe(model).theory
    assert isinstance(theory, ContinuousNet)
    assert theory.sigma_w2 == pytest.approx(1.5)
    assert theory.sigma_b2 == pytest.approx(0.05)


def test_no_theory_says_why():
    model = tf.keras.Sequential(
        [tf.keras.Input((8,))] + [tf.keras.layers.Dense(8, activation="relu") for _ in range(3)]
    )
    description = describe(model)
    assert description.theory is None
    assert "relu" in description.reason
    assert len(description.layers) == 3
