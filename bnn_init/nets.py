"""Networks and their mean-field theory from one description.

Each builder takes a network's architecture and initialisation once and returns a `Net`: the
Keras model and the `bnn_init.theory` family that describes its hidden layers. The parameters
the quantizer, the initializer and the theory share (r, sigma_w2, sigma_b2, sigma_m2) are given
once, so they cannot disagree. ``depth`` counts weight layers, the readout included; the first
layer reads the real inputs (no input quantizer), the last returns logits.

Example:
    >>> net = hard_tanh_mlp(depth=5, width=64, inputs=20, outputs=10, r=0.5)
    >>> round(net.theory.chi1, 12), net.theory.sigma_w2, len(net.model.layers)
    (1.0, 0.25, 5)
    >>> tanh_mlp(depth=3, width=32, inputs=8, outputs=2, sigma_w2=1.5, sigma_b2=0.05).theory
    ContinuousNet(phi='tanh', sigma_w2=1.5, sigma_b2=0.05, dropout_rate=0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from bnn_init import theory
from bnn_init.primitives.checks import check_choice, check_integer
from bnn_init.theory.activations import TANH_KAPPA

__all__ = ["Net", "hard_tanh_mlp", "surrogate_mlp", "surrogate_theory", "tanh_mlp"]

# Seeds of layer i: kernel KERNEL_SEED + seed + i, bias BIAS_SEED + seed + i (every layer its own
# draw: a seeded Keras initializer gives the same tensor for the same shape on every call).
KERNEL_SEED, BIAS_SEED = 0, 1000


@dataclass(frozen=True)
class Net:
    """A Keras model and the mean-field theory of its hidden layers."""

    model: object
    theory: object


def _check_sizes(depth, width, inputs, outputs):
    check_integer("depth", depth, low=2)
    for name, value in (("width", width), ("inputs", inputs), ("outputs", outputs)):
        check_integer(name, value, low=1)


def _bias(sigma_b2, seed):
    from bnn_init.initializers import CriticalBias

    return CriticalBias(sigma_b2, seed=seed) if sigma_b2 > 0 else "zeros"


def hard_tanh_mlp(
    depth,
    width,
    inputs,
    outputs,
    *,
    r=1.0,
    sigma_w2=None,
    sigma_b2=0.0,
    kernel="normal",
    weight_clip=False,
    seed=0,
    name="hard_tanh_bnn",
) -> Net:
    """Larq ``QuantDense`` layers with ``HardTanh(r)`` (Wang 2018's B_r) on the kernels and on the
    inputs of every layer but the first, no BatchNorm.

    Kernels: ``kernel="normal"`` draws N(0, r^2 sigma_w2 / fan_in), `CriticalHardTanhNormal` when
    ``sigma_w2`` is None (the edge of chaos); ``"uniform"`` draws from `HardTanhUniform` (its
    variance matched through B_r); ``"glorot_uniform"`` is Keras' default (``sigma_w2`` must be
    None: the theory reads the effective sigma_w2 = fan_in E[B_r(W)^2] off the model with
    `theory.describe`). Biases N(0, sigma_b2) (`CriticalBias`), zeros at sigma_b2 = 0.
    ``weight_clip`` adds Larq's ``WeightClip(r)`` constraint. Theory: `theory.HardTanhBNN` at the
    same r, sigma_w2 (the critical one when None) and sigma_b2.
    """
    import larq as lq
    import tensorflow as tf

    from bnn_init.initializers import CriticalHardTanhNormal, HardTanhUniform
    from bnn_init.quantizers import HardTanh

    _check_sizes(depth, width, inputs, outputs)
    check_choice("kernel", kernel, ("normal", "uniform", "glorot_uniform"))
    if kernel == "glorot_uniform" and sigma_w2 is not None:
        raise ValueError("sigma_w2 must be None with kernel='glorot_uniform' (Glorot sets it)")
    if sigma_w2 is None:
        model_theory = theory.HardTanhBNN.critical(r=r, sigma_b2=sigma_b2)
    else:
        model_theory = theory.HardTanhBNN(r=r, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    layers = [tf.keras.Input((inputs,))]
    for i in range(depth):
        kernel_seed = KERNEL_SEED + seed + i
        if kernel == "uniform":
            initializer = HardTanhUniform(r, sigma_w2, sigma_b2, seed=kernel_seed)
        elif kernel == "glorot_uniform":
            initializer = tf.keras.initializers.GlorotUniform(seed=kernel_seed)
        elif sigma_w2 is None:
            initializer = CriticalHardTanhNormal(r=r, sigma_b2=sigma_b2, seed=kernel_seed)
        else:
            initializer = tf.keras.initializers.VarianceScaling(
                r**2 * sigma_w2, "fan_in", "untruncated_normal", seed=kernel_seed
            )
        layers.append(
            lq.layers.QuantDense(
                outputs if i == depth - 1 else width,
                input_quantizer=HardTanh(r) if i else None,
                kernel_quantizer=HardTanh(r),
                kernel_initializer=initializer,
                bias_initializer=_bias(sigma_b2, BIAS_SEED + seed + i),
                kernel_constraint=lq.constraints.WeightClip(r) if weight_clip else None,
                name=f"binary_dense_{i + 1:02d}",
            )
        )
    model = tf.keras.Sequential(layers, name=name)
    if kernel == "glorot_uniform":
        model_theory = theory.describe(model).theory
    return Net(model, model_theory)


def tanh_mlp(
    depth, width, inputs, outputs, *, sigma_w2, sigma_b2, dropout_rate=0.0, seed=0, name="tanh_mlp"
) -> Net:
    """Dense tanh layers and a linear readout, kernels N(0, sigma_w2 / fan_in), biases
    N(0, sigma_b2), ``Dropout(dropout_rate)`` after every hidden layer when it is > 0
    (Schoenholz et al. 2017, secs. 2 and 3.1). Theory: `theory.ContinuousNet` with phi = tanh."""
    import tensorflow as tf

    _check_sizes(depth, width, inputs, outputs)
    model_theory = theory.ContinuousNet(
        phi="tanh", sigma_w2=sigma_w2, sigma_b2=sigma_b2, dropout_rate=dropout_rate
    )
    layers = [tf.keras.Input((inputs,))]
    for i in range(depth):
        last = i == depth - 1
        layers.append(
            tf.keras.layers.Dense(
                outputs if last else width,
                activation=None if last else "tanh",
                kernel_initializer=tf.keras.initializers.VarianceScaling(
                    sigma_w2, "fan_in", "untruncated_normal", seed=KERNEL_SEED + seed + i
                ),
                bias_initializer=_bias(sigma_b2, BIAS_SEED + seed + i),
            )
        )
        if dropout_rate > 0 and not last:
            layers.append(tf.keras.layers.Dropout(dropout_rate, seed=seed + i))
    return Net(tf.keras.Sequential(layers, name=name), model_theory)


def surrogate_theory(kind, *, sigma_m2, sigma_b2=0.0, kappa=TANH_KAPPA, neurons="continuous"):
    """The theory of `surrogate_mlp` alone (no model): `theory.DeterministicSurrogate` for
    ``kind="deterministic"``, `theory.LRTSurrogate` for ``"lrt"``."""
    check_choice("kind", kind, ("deterministic", "lrt"))
    if kind == "deterministic":
        return theory.DeterministicSurrogate(sigma_m2=sigma_m2, sigma_b2=sigma_b2, kappa=kappa)
    return theory.LRTSurrogate(sigma_m2=sigma_m2, sigma_b2=sigma_b2, neurons=neurons)


def surrogate_mlp(
    kind,
    depth,
    width,
    inputs,
    outputs,
    *,
    sigma_m2=0.99,
    sigma_b2=0.0,
    kappa=TANH_KAPPA,
    neurons="continuous",
    seed=0,
) -> Net:
    """A surrogate MLP of a stochastic binary network (Stamatescu et al. 2019):
    ``kind="deterministic"`` (`DeterministicSurrogateDense`, phi = erf(kappa h); kappa =
    sqrt(pi) / 2 matches tanh's slope) or ``"lrt"`` (`LRTSurrogateDense` with ``neurons``).
    Means drawn by `BinaryMeans(sigma_m2)` (two-point, +-sqrt(sigma_m2)), biases N(0, sigma_b2);
    the last layer returns its field (logits). Theory: `theory.DeterministicSurrogate` or
    `theory.LRTSurrogate` at the same parameters."""
    import tensorflow as tf

    from bnn_init.initializers import BinaryMeans
    from bnn_init.layers import DeterministicSurrogateDense, LRTSurrogateDense

    model_theory = surrogate_theory(
        kind, sigma_m2=sigma_m2, sigma_b2=sigma_b2, kappa=kappa, neurons=neurons
    )
    _check_sizes(depth, width, inputs, outputs)
    layers = [tf.keras.Input((inputs,))]
    for i in range(depth):
        last = i == depth - 1
        common = dict(
            kernel_initializer=BinaryMeans(sigma_m2, seed=KERNEL_SEED + seed + i),
            bias_initializer=_bias(sigma_b2, BIAS_SEED + seed + i),
            return_field=last,
        )
        units = outputs if last else width
        if kind == "deterministic":
            kind_of_input = "real" if i == 0 else "means"
            layer = DeterministicSurrogateDense(
                units, kappa=kappa, input_kind=kind_of_input, **common
            )
        else:
            layer = LRTSurrogateDense(units, neurons=neurons, **common)
        layers.append(layer)
    return Net(tf.keras.Sequential(layers, name=f"{kind}_surrogate_{depth}"), model_theory)
