"""Binary networks from a trained surrogate: the deterministic one and stochastic samples.

Stamatescu et al. (2019), end of sec. 2.3: training the surrogate yields the means M of the
stochastic binary weights; a deterministic binary network takes the most likely weights
W = sign(M) and sign neurons, a stochastic one samples S in {-1, +1} with P(S = +1) = (1 + M) / 2
and stochastic neurons, and an ensemble of such samples estimates the objective's expectation
(Stamatescu et al. 2019, eq. 3; Fig. 2 bottom compares 5 and 100 samples).

Every binary field is the paper's h = (1/sqrt(N)) sum_j W_ij x_j + b_i (Stamatescu et al. 2019, eqs. 1-2). sign(0) = +1
everywhere (erratum 4).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import tensorflow as tf

from bnn_init.primitives.checks import check_integer
from bnn_init.primitives.signs import sign, tf_sign
from bnn_init.quantizer_kinds import is_binary_input

from .deterministic import _DeterministicSurrogate
from .lrt import _LRTSurrogate
from .means import SurrogateLayer

__all__ = ["StochasticBinaryNetworks", "ensemble_accuracy", "sample_binary", "to_binary"]

# Layers without weights that commute with sign (shape changes, max pooling): a pending sign is
# applied after them, by the next binary layer's input quantizer.
_SHAPE_LAYERS = ("Flatten", "Reshape", "MaxPooling2D")
# Identity at inference.
_SKIPPED = ("Dropout",)


def _chain(model):
    """The layers of a single-input, single-output chain model, input layer excluded."""
    if not isinstance(model, tf.keras.Model):
        raise TypeError(f"model must be a tf.keras.Model, got {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    if isinstance(model, tf.keras.Sequential):
        return layers
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "binarisation needs a chain of layers with one of each"
        )
    previous = model.inputs[0]
    for layer in layers:
        if getattr(layer, "input", None) is not previous:
            raise ValueError(
                f"layer {layer.name!r} does not take the previous layer's output: binarisation "
                "needs a chain of layers (a Sequential model or a functional model without branches)"
            )
        previous = layer.output
    if previous is not model.outputs[0]:
        raise ValueError("the model's output is not its last layer's output")
    return layers


def _neuron_mode(layer):
    """What the binary counterpart of a surrogate layer outputs."""
    if layer.return_field:
        return "field"  # real: h = (1/sqrt(N)) W x + b
    if isinstance(layer, _LRTSurrogate):
        return "tanh" if layer.neurons == "continuous" else "stochastic_tanh"
    return "sign"


def _binary_outputs(layer):
    return _neuron_mode(layer) in ("sign", "stochastic_tanh")


def _weights(layer):
    """(M, b, N) of a built surrogate layer, numpy."""
    if not layer.built:
        raise ValueError(f"surrogate layer {layer.name!r} is not built; call the model once first")
    m = layer.means.numpy()
    b = layer.bias.numpy() if layer.use_bias else np.zeros(m.shape[-1], m.dtype)
    return m, b, layer.fan_in


def _quant_layer(layer, input_sign):
    import larq as lq

    common = dict(
        input_quantizer="ste_sign" if input_sign else None,
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=True,
        name=layer.name,
    )
    if layer.geometry == "dense":
        return lq.layers.QuantDense(layer.units, **common)
    return lq.layers.QuantConv2D(
        layer.filters,
        layer.kernel_size,
        strides=layer.strides,
        padding=layer.padding,
        pad_values=0.0,
        **common,
    )


def _clone(layer):
    return type(layer).from_config(layer.get_config())


def _quantizes_sign(layer):
    return is_binary_input(getattr(layer, "input_quantizer", None))


def to_binary(model):
    """The deterministic binary network of a surrogate model, as a Larq model for the exporter.

    Each surrogate layer becomes a ``QuantDense`` / ``QuantConv2D`` with kernel W = sign(M)
    (``kernel_quantizer="ste_sign"``) and bias sqrt(N) b, so that its output is
    sqrt(N) h with h = (1/sqrt(N)) W x + b (Stamatescu et al. 2019, eq. 1): sign neurons (deterministic surrogate and
    LRT binary neurons, whose most likely state is sign(h); Stamatescu et al. 2019, sec. 2.3) need no scale, the sign
    is the next binary layer's ``input_quantizer="ste_sign"``; continuous neurons get
    ``Rescaling(1/sqrt(N))`` and ``Activation("tanh")``, and a layer with ``return_field=True``
    (the logits) gets ``Rescaling(1/sqrt(N))``. Flatten, Reshape and MaxPooling2D commute with
    sign and are copied; Dropout is dropped; other layers (e.g. Larq layers) are copied with their
    weights. A model without surrogate layers is returned unchanged.

    Example:
        >>> binary = to_binary(surrogate_model)          # doctest: +SKIP
        >>> bnn_init.export.export_lce(binary, "model.tflite", sample_inputs=x)  # doctest: +SKIP

    Raises:
        ValueError: the model is not a chain, a surrogate layer is not built, or binary neurons
            reach a layer that cannot take sign inputs (or the model's output).
    """
    chain = _chain(model)
    if not any(isinstance(layer, SurrogateLayer) for layer in chain):
        return model
    new_layers, transfers = [], []
    pending_sign = False
    for layer in chain:
        name = type(layer).__name__
        if isinstance(layer, SurrogateLayer):
            m, b, n = _weights(layer)
            quant = _quant_layer(layer, input_sign=pending_sign)
            new_layers.append(quant)
            transfers.append((quant, [sign(m, np.float32), (math.sqrt(n) * b).astype(np.float32)]))
            mode = _neuron_mode(layer)
            if mode in ("field", "tanh"):
                scale = tf.keras.layers.Rescaling(1.0 / math.sqrt(n), name=f"{layer.name}_scale")
                new_layers.append(scale)
            if mode == "tanh":
                new_layers.append(tf.keras.layers.Activation("tanh", name=f"{layer.name}_tanh"))
            pending_sign = _binary_outputs(layer)
        elif name in _SKIPPED:
            continue
        elif name in _SHAPE_LAYERS:
            new_layers.append(_clone(layer))
        else:
            if pending_sign and not _quantizes_sign(layer):
                raise ValueError(
                    f"layer {layer.name!r} ({name}) follows binary neurons but does not take sign "
                    "inputs; give the surrogate layer before it return_field=True"
                )
            clone = _clone(layer)
            new_layers.append(clone)
            transfers.append((clone, layer.get_weights()))
            pending_sign = False
    if pending_sign:
        raise ValueError(
            "the model ends in binary neurons; give its last surrogate layer return_field=True "
            "(the logits) so that the binary network has a real output"
        )
    binary = tf.keras.Sequential(
        [tf.keras.Input(model.input_shape[1:]), *new_layers], name=f"{model.name}_binary"
    )
    for layer, weights in transfers:
        layer.set_weights(weights)
    return binary


class StochasticBinaryNetworks:
    """Stochastic binary networks drawn from a surrogate model (`sample_binary`), evaluated
    together: ``nets(x)`` returns the logits of every network, shape (len(nets), batch, ...);
    ``nets[k]`` is network k alone (a `StochasticBinaryNetworks` of length 1).

    Holds sampled weights S in {-1, +1}; every call samples the neurons afresh. Per surrogate
    layer, with a = sum_j S_ij x_j + sqrt(N) b_i (the field h = a / sqrt(N), Stamatescu et al. 2019, eq. 2):

    * deterministic surrogate, phi = erf(kappa h): x_i = sign(a_i + sqrt(nu V_i) z_i),
      V_i = sum_j (1 - M_ij^2) x_j^2, nu = max(0, 1/(2 kappa^2) - 1), z ~ N(0, 1): a sign neuron
      plus the Gaussian noise that makes P(x_i = +1 | x) = (1 + erf(kappa A_i / sqrt(V_i))) / 2 in
      the Gaussian approximation of a (Stamatescu et al. 2019, eqs. 6, 26-28); kappa = 1/sqrt(2) is a noiseless sign
      neuron, for kappa > 1/sqrt(2) no noise can sharpen it and sign neurons are used;
    * LRT, binary neurons: x_i = +1 with probability (1 + tanh(h_i)) / 2 (Stamatescu et al. 2019, sec. 2.2);
    * LRT, continuous neurons: x_i = tanh(h_i);
    * ``return_field=True``: the output h_i (logits).
    """

    def __init__(self, steps, kernels, seed):
        self._steps = steps  # ("keras", layer) or ("surrogate", layer, bias, 1 - M^2, nu)
        self._kernels = kernels  # one (n, *kernel_shape) float32 array per surrogate layer
        self._seed = seed
        self._generator = tf.random.Generator.from_seed(seed)

    def __len__(self):
        return len(self._kernels[0])

    def __getitem__(self, k):
        if (
            isinstance(k, bool)
            or not isinstance(k, numbers.Integral)
            or not -len(self) <= k < len(self)
        ):
            raise IndexError(
                f"network index must be an integer in [{-len(self)}, {len(self)}), got {k!r}"
            )
        k = int(k) % len(self)
        return StochasticBinaryNetworks(
            self._steps, [kernel[k : k + 1] for kernel in self._kernels], self._seed + [k]
        )

    @property
    def kernels(self):
        """The sampled +-1 kernels: one array of shape (len(self), *kernel_shape) per layer."""
        return list(self._kernels)

    def _contract(self, layer, h, kernel):
        """sum_j S_ij h_j for every network at once: h holds the networks' batches one after
        the other along axis 0."""
        n = len(kernel)
        if layer.geometry == "dense":
            out = tf.matmul(tf.reshape(h, (n, -1, h.shape[-1])), kernel)
            return tf.reshape(out, (-1, out.shape[-1]))
        parts = tf.split(h, n, axis=0)
        return tf.concat([layer._contract(p, k) for p, k in zip(parts, kernel, strict=True)], 0)

    def __call__(self, x):
        x = tf.convert_to_tensor(np.asarray(x, np.float32))
        n, batch = len(self), x.shape[0]
        h = tf.reshape(tf.tile(x[None], [n] + [1] * x.shape.rank), (n * batch, *x.shape[1:]))
        kernels = iter(self._kernels)
        for step in self._steps:
            if step[0] == "keras":
                h = step[1](h)
                continue
            _, layer, bias, variance_kernel, nu = step
            root_n = math.sqrt(layer.fan_in)
            a = self._contract(layer, h, tf.constant(next(kernels))) + root_n * bias
            mode = _neuron_mode(layer)
            if mode == "sign":
                if nu > 0:
                    v = layer._contract(tf.square(h), variance_kernel)
                    a += tf.sqrt(nu * v) * self._generator.normal(tf.shape(a))
                h = tf_sign(a)
            elif mode == "stochastic_tanh":
                p_plus = 0.5 * (1.0 + tf.tanh(a / root_n))
                h = tf.where(self._generator.uniform(tf.shape(a)) < p_plus, 1.0, -1.0)
            elif mode == "tanh":
                h = tf.tanh(a / root_n)
            else:
                h = a / root_n
        return tf.reshape(h, (n, batch, *h.shape[1:])).numpy()


def sample_binary(model, n, seed=0):
    """``n`` stochastic binary networks drawn from a surrogate ``model``
    (`StochasticBinaryNetworks`): weights S = +1 with probability (1 + M) / 2, else -1,
    independently (Stamatescu et al. 2019, sec. 2.2), and stochastic neurons as described there.

    Example:
        >>> nets = sample_binary(surrogate_model, 5, seed=0)     # doctest: +SKIP
        >>> nets(x).shape                                        # doctest: +SKIP
        (5, 32, 10)

    Raises:
        ValueError: ``n`` is not an integer >= 1, the model is not a chain of surrogate layers
            (with Flatten, Reshape, MaxPooling2D or Dropout between them), or a layer is not built.
    """
    n = check_integer("n", n)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    steps, kernels = [], []
    for layer in _chain(model):
        name = type(layer).__name__
        if isinstance(layer, SurrogateLayer):
            m, b, _ = _weights(layer)
            nu = 0.0
            if isinstance(layer, _DeterministicSurrogate):
                nu = max(0.0, 1.0 / (2.0 * layer.kappa**2) - 1.0)
            variance_kernel = tf.constant(1.0 - m**2, tf.float32)
            steps.append(("surrogate", layer, tf.constant(b, tf.float32), variance_kernel, nu))
            p_plus = 0.5 * (1.0 + m)
            kernels.append(
                np.where(rng.random((n, *m.shape)) < p_plus, 1.0, -1.0).astype(np.float32)
            )
        elif name in _SHAPE_LAYERS:
            steps.append(("keras", layer))
        elif name not in _SKIPPED:
            raise ValueError(
                f"layer {layer.name!r} ({name}) has no stochastic binary counterpart; sample_binary "
                f"takes surrogate layers and {list(_SHAPE_LAYERS + _SKIPPED)}"
            )
    if not kernels:
        raise ValueError("the model has no surrogate layers to sample")
    return StochasticBinaryNetworks(steps, kernels, seed=[int(seed)])


def ensemble_accuracy(model, x, y, samples, seed=0, batch_size=1024):
    """Accuracy of the ensemble of ``samples`` stochastic binary networks drawn from ``model``:
    the predicted class maximises the class probability averaged over the networks,
    (1/S) sum_s softmax(logits_s), the Monte Carlo estimate of E_{S, x} p(y | x) in Stamatescu et al. 2019, eq. 3.
    ``samples=1`` is the accuracy of a single stochastic network (Stamatescu et al. 2019, Fig. 2 bottom: 5 vs 100).

    Example:
        >>> ensemble_accuracy(surrogate_model, x_test, y_test, samples=100)   # doctest: +SKIP
        0.93
    """
    samples = check_integer("samples", samples)
    batch_size = check_integer("batch_size", batch_size)
    x = np.asarray(x, np.float32)
    y = np.asarray(y).reshape(-1)
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(
            f"x and y must hold the same number (>= 1) of examples, got {len(x)}, {len(y)}"
        )
    networks = sample_binary(model, samples, seed)
    correct = 0
    for start in range(0, len(y), batch_size):
        xb = x[start : start + batch_size]
        probabilities = tf.reduce_sum(tf.nn.softmax(networks(xb), axis=-1), axis=0).numpy()
        correct += int(np.sum(np.argmax(probabilities, axis=-1) == y[start : start + batch_size]))
    return correct / len(y)
