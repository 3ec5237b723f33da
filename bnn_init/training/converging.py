"""The two-layer converging architecture of Soudry & Meir (2013, Fig. 1, sec. 2), shared by
MFB-BackProp and the BackProp baseline: checks, label encoding, numpy forward passes and the
Keras / Larq model.

Architecture ``D x (K x O) x O``: the input (length ``D``) is fully connected to ``O * K`` hidden
neurons; hidden neuron ``(o, k)`` has fan-out 1 and feeds only output ``o``. Weights are stored as
``w1`` (O, K, D) and ``w2`` (O, K). The paper's MNIST network is ``785 x (301 x 10) x 10``
(|W| = 2,365,860) and its teacher-student network ``M x (M x 1) x 1`` (Soudry & Meir 2013, sec. 5).

In Keras the hidden layer is a ``Dense(O * K)`` whose kernel column ``o * K + k`` holds
``w1[o, k]``, so output ``o`` must see only hidden units ``o * K ... o * K + K - 1``. The real
network expresses this as a grouped 1 x 1 convolution (``groups = O``) over the hidden units laid
out as a 1 x 1 x (O * K) image (trainable, and exactly the architecture); the binary network, which
is meant for export, as a block-diagonal masked ``QuantDense`` (see ``to_keras_model``).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf  # bnn_init's __init__ has selected tf-keras

from bnn_init.primitives.signs import sign

LECUN_GAIN = (
    1.7159  # s(x) = 1.7159 tanh(2x/3), LeCun et al. (2012) as used in Soudry & Meir 2013, sec. 5
)


def check_architecture(input_dim, hidden_per_output, outputs):
    """Validate the three sizes; returns them as ints."""
    sizes = {"input_dim": input_dim, "hidden_per_output": hidden_per_output, "outputs": outputs}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an int >= 1, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(input_dim), int(hidden_per_output), int(outputs)


def encode_targets(y, outputs):
    """Targets as a float64 array (n, outputs) in {-1, +1}.

    Accepted ``y``: integer class labels (n,) in [0, outputs) when ``outputs >= 2`` (encoded as
    ``y_k = 2 delta_{k, label} - 1``, Soudry & Meir 2013, sec. 5); labels in {-1, +1} of shape (n,) or (n, 1) when
    ``outputs == 1``; or a {-1, +1} array of shape (n, outputs).
    """
    y = np.asarray(y)
    if y.ndim == 1 and outputs >= 2:
        if not np.issubdtype(y.dtype, np.integer) or y.size and (y.min() < 0 or y.max() >= outputs):
            raise ValueError(
                f"y must hold integer class labels in [0, {outputs}) for {outputs} outputs, got "
                f"dtype {y.dtype} with values in [{y.min() if y.size else None}, "
                f"{y.max() if y.size else None}]"
            )
        return np.where(np.arange(outputs)[None, :] == y[:, None], 1.0, -1.0)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != outputs:
        raise ValueError(f"y must have shape (n,) or (n, {outputs}), got shape {y.shape}")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError("y must hold labels in {-1, +1} when given as an (n, outputs) array")
    return y.astype(np.float64)


def check_inputs(x, input_dim, name="x"):
    """``x`` as a finite float64 array (n, input_dim)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != input_dim:
        raise ValueError(f"{name} must have shape (n, {input_dim}), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return x


def binary_preactivation(w1, w2, x):
    """Inputs of the output neurons of the binary network (Soudry & Meir 2013, eq. 1) for a batch x (n, D):
    ``u2[n, o] = sum_k w2[o, k] sign(sum_r w1[o, k, r] x[n, r])``."""
    v1 = sign(np.einsum("nd,okd->nok", x, w1))
    return np.einsum("nok,ok->no", v1, w2)


def lecun_forward(w1, w2, x):
    """Output ``v2 = s(W2 s(W1 x))`` of the real converging network (Soudry & Meir 2013, eq. 27) with
    ``s(u) = 1.7159 tanh(2u/3)``, for a batch x (n, D)."""
    v1 = LECUN_GAIN * np.tanh(np.einsum("nd,okd->nok", x, w1) * (2.0 / 3.0))
    return LECUN_GAIN * np.tanh(np.einsum("nok,ok->no", v1, w2) * (2.0 / 3.0))


def classification_error(scores, targets):
    """Error rate of scores (n, O) against {-1, +1} targets (n, O): sign mismatch for one output
    (sign(0) = +1), else the arg-max rule of Soudry & Meir 2013, sec. 5."""
    if scores.shape[1] == 1:
        return float(np.mean(sign(scores[:, 0]) != targets[:, 0]))
    return float(np.mean(np.argmax(scores, axis=1) != np.argmax(targets, axis=1)))


@tf.keras.utils.register_keras_serializable(package="bnn_init")
def lecun_tanh(x):
    """``s(x) = 1.7159 tanh(2x/3)`` (LeCun et al. 2012; Soudry & Meir 2013, sec. 5), a Keras activation."""
    return LECUN_GAIN * tf.tanh(x * (2.0 / 3.0))


def to_keras_model(w1, w2, *, binary, name="converging"):
    """Keras model of the converging network with weights ``w1`` (O, K, D) and ``w2`` (O, K).

    ``binary=True``: a Larq model of the binary network (Soudry & Meir 2013, eq. 1): a ``QuantDense`` with
    ``ste_sign`` kernel quantizer on the real input, then a ``QuantDense`` with ``ste_sign`` input
    quantizer (the hidden sign activations) whose kernel is the block-diagonal mask of the
    converging connectivity, ``kernel[o * K + k, o] = w2[o, k]`` and 0 elsewhere. (A grouped binary
    convolution expresses the same layer, but Larq Compute Engine's optimized kernels refuse
    grouped binary convolutions, so the mask keeps the model runnable after LCE conversion.) The
    model outputs the *inputs* of the output neurons (integers in [-K, K]); eq. 1's output is
    their sign (sign(0) = +1) and the class is their arg-max (Soudry & Meir 2013, sec. 5).

    ``binary=False``: the real network of eq. 27 with ``s = lecun_tanh`` on both layers.
    """
    w1 = np.asarray(w1, dtype=np.float32)
    w2 = np.asarray(w2, dtype=np.float32)
    outputs, k, d = w1.shape
    inputs = tf.keras.Input(shape=(d,), name="x")
    if binary:
        import larq as lq

        hidden = lq.layers.QuantDense(
            outputs * k, kernel_quantizer="ste_sign", use_bias=False, name="hidden"
        )
        a = hidden(inputs)
        # converging connectivity as a block-diagonal mask: kernel[o * K + k, o] = w2[o, k], the
        # rest 0; the hidden activations are binarised by the input quantizer
        out = lq.layers.QuantDense(
            outputs, input_quantizer="ste_sign", use_bias=False, name="converging_output"
        )
        a = out(a)
        kernel = np.zeros((outputs * k, outputs), dtype=np.float32)
        kernel[np.arange(outputs * k), np.repeat(np.arange(outputs), k)] = w2.reshape(-1)
    else:
        hidden = tf.keras.layers.Dense(
            outputs * k, activation=lecun_tanh, use_bias=False, name="hidden"
        )
        out = tf.keras.layers.Conv2D(
            outputs,
            1,
            groups=outputs,
            activation=lecun_tanh,
            use_bias=False,
            name="converging_output",
        )
        a = hidden(inputs)
        a = tf.keras.layers.Reshape((1, 1, outputs * k), name="to_groups")(a)
        a = tf.keras.layers.Reshape((outputs,), name="outputs")(out(a))
        kernel = w2.T.reshape(1, 1, k, outputs)
    model = tf.keras.Model(inputs, a, name=name)
    hidden.set_weights([w1.reshape(outputs * k, d).T])
    out.set_weights([kernel])
    return model


def uniform_weights(input_dim, hidden_per_output, outputs, rng):
    """``sqrt(K_l / 3) W ~ U[-1, 1]`` for both layers (Soudry & Meir 2013, sec. 5, LeCun's recommendation)."""
    a1 = math.sqrt(3.0 / input_dim)
    a2 = math.sqrt(3.0 / hidden_per_output)
    w1 = rng.uniform(-a1, a1, size=(outputs, hidden_per_output, input_dim))
    w2 = rng.uniform(-a2, a2, size=(outputs, hidden_per_output))
    return w1, w2
