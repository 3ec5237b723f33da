"""A compiled probe: the pre-activations h^l of the monitored layers, dLoss/dh^l and the kernel
gradients, from one forward and one backward pass on a fixed probe batch.

"Pre-activation" is z^l of Schoenholz et al. (2017), eq. 1: z^l = W^l y^l + b^l, the layer's output
before its activation. For Keras ``Dense``/``Conv2D`` with a built-in activation this is the linear
part; for Larq ``QuantDense``/``QuantConv2D`` it is the layer's output (the next layer's
``input_quantizer`` binarises it); for a layer that has no ``activation`` attribute (a surrogate
layer's field h) it is the layer's output. The error signal delta^l = dE/dz^l (Schoenholz et al. 2017, eq. 14) is
taken per example: the loss is the *sum* of per-example losses, so that E[(delta^l)^2] does not
depend on the probe batch size; the kernel gradients are those of the *mean* loss, the gradient
the optimiser sees.

The probe runs the model with ``training=False`` (no dropout noise) except that BatchNorm layers
normalise with the probe batch's own statistics, as in training, computed by the probe itself
(`bnn_init.graph.measure.recording`): no moving statistic or weight changes. With a graph theory,
the probe also records the moments of every tensor of the graph for its local and chained
predictions.
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from bnn_init.graph.measure import batch_statistics_call, recording, replaced

__all__ = ["Probe", "is_frozen", "kernel_of", "per_example_loss"]


def kernel_of(layer):
    """The layer's single weight kernel (the latent, real-valued variable for Larq layers),
    trainable or frozen (see :func:`is_frozen`)."""
    kernels = [w for w in layer.weights if len(w.shape) >= 2]
    if len(kernels) != 1:
        raise ValueError(
            f"layer {layer.name!r} has {len(kernels)} weight kernels (rank >= 2); "
            "the monitor needs layers with exactly one"
        )
    return kernels[0]


def is_frozen(layer):
    """True when the layer's kernel is not trained (e.g. QuickNet's blur-pool filters): it is
    measured without kernel-gradient statistics."""
    kernel = kernel_of(layer)
    return not any(w is kernel for w in layer.trainable_weights)


def per_example_loss(loss):
    """A function (y_true, y_pred) -> per-example losses, from a compiled Keras ``model.loss``.

    Returns None when ``loss`` is missing or has several outputs (the probe then measures the
    forward pass only).
    """
    if isinstance(loss, dict | list | tuple):
        values = list(loss.values()) if isinstance(loss, dict) else list(loss)
        if len(values) != 1:
            return None
        loss = values[0]
    if loss is None:
        return None
    loss = tf.keras.losses.get(loss)
    if isinstance(loss, tf.keras.losses.Loss):
        return loss.call  # unreduced, one value per example (and per position for dense outputs)
    return loss


@contextlib.contextmanager
def _capturing(layers, captured):
    """Record each layer's pre-activation in ``captured[i]`` while the model runs.

    A layer with an ``activation`` attribute gets its activation wrapped (the wrapper sees the
    linear part); any other layer gets its ``call`` wrapped (the wrapper sees the output). The
    first call of a shared layer is the one recorded.
    """
    restore = []
    try:
        for index, layer in enumerate(layers):

            def record(tensor, index=index):
                if captured[index] is None:
                    captured[index] = tensor
                return tensor

            if hasattr(layer, "activation"):
                original = layer.activation
                restore.append((layer, "activation", original))
                wrapped = _then(record, original)
                object.__setattr__(layer, "activation", wrapped)
            else:
                original = layer.call
                restore.append((layer, "call", None))
                object.__setattr__(layer, "call", _after(original, record))
        yield
    finally:
        for layer, name, original in reversed(restore):
            if name == "call":
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, name, original)


@contextlib.contextmanager
def _batch_statistics(model):
    """BatchNorm with batch statistics for models the graph theory cannot walk (every
    BatchNormalization layer among the model's layers, nested ones included)."""
    with contextlib.ExitStack() as stack:
        for layer in _all_layers(model):
            if type(layer).__name__ == "BatchNormalization":
                stack.enter_context(replaced(layer, "call", batch_statistics_call(layer)))
        yield


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


def _then(first, second):
    def composed(tensor):
        return second(first(tensor))

    return composed


def _after(call, record):
    def wrapped(*args, **kwargs):
        return record(call(*args, **kwargs))

    return wrapped


class Probe:
    """Pre-activations, their gradients and the kernel gradients of ``layers`` in one
    ``tf.function`` (traced once per probe batch shape).

    Example:
        >>> from bnn_init.theory.describe import monitored_layers
        >>> probe = Probe(model, monitored_layers(model), per_example_loss(model.loss))  # doctest: +SKIP
        >>> out = probe(x, y)        # doctest: +SKIP
        >>> out["h"][0].shape, out["delta"][0].shape, len(out["kernel_grad"])  # doctest: +SKIP
        ((128, 512), (128, 512), 10)

    Args:
        model: a built Keras model.
        layers: the monitored layers of ``model``, each with one weight kernel.
        loss: a per-example loss function (y_true, y_pred), or None for the forward pass only.
    """

    def __init__(self, model, layers, loss=None, graph_theory=None):
        self.model = model
        self.layers = list(layers)
        self.graph_theory = graph_theory
        self.moment_keys = [] if graph_theory is None else graph_theory.monitored_keys()
        self.kernels = [kernel_of(layer) for layer in self.layers]
        self.loss = loss
        # Under a tf.distribute strategy the variables can only be differentiated inside a replica:
        # every replica runs the whole probe batch and the first replica's result is kept.
        self._strategy = getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
        self._forward = tf.function(self._on_first_replica(self._forward_pass))
        self._backward = tf.function(self._on_first_replica(self._backward_pass))

    def _on_first_replica(self, function):
        strategy = self._strategy

        def run(*args):
            result = strategy.run(function, args=args)
            return tf.nest.map_structure(
                lambda t: strategy.experimental_local_results(t)[0], result
            )

        return run

    def _run(self, x, tensors=None):
        captured = [None] * len(self.layers)
        recorded = {}
        with contextlib.ExitStack() as stack:
            stack.enter_context(_capturing(self.layers, captured))
            if self.graph_theory is not None:
                theory = self.graph_theory
                stack.enter_context(
                    recording(theory.graph, theory.maps, recorded, tensors=tensors, inputs=x)
                )
            else:
                stack.enter_context(_batch_statistics(self.model))
            y_pred = self.model(x, training=False)
        missing = [layer.name for layer, h in zip(self.layers, captured, strict=True) if h is None]
        if missing:
            raise ValueError(f"layers {missing} are not called by the model's forward pass")
        absent = tf.fill([5], np.float32(np.nan))
        moments = [recorded.get(key, absent) for key in self.moment_keys]
        return captured, y_pred, moments

    def _forward_pass(self, x):
        captured, _, moments = self._run(x)
        return captured, moments

    def _backward_pass(self, x, y):
        tensors = {}
        with tf.GradientTape() as tape:
            captured, y_pred, moments = self._run(x, tensors)
            losses = tf.cast(self.loss(y, y_pred), tf.float32)
            total = tf.reduce_sum(losses)
            examples = tf.cast(tf.shape(losses)[0], tf.float32)
        graph_tensors = [tensors[key] for key in self.moment_keys if key in tensors]
        grads = tape.gradient(
            total,
            captured + self.kernels + graph_tensors,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        deltas = grads[: len(captured)]
        kernel_grads = [
            g / examples for g in grads[len(captured) : len(captured) + len(self.kernels)]
        ]
        tensor_grads = iter(grads[len(captured) + len(self.kernels) :])
        absent = tf.constant([np.float32(np.nan)])
        delta_squares = [
            _channel_mean_square(next(tensor_grads)) if key in tensors else absent
            for key in self.moment_keys
        ]
        return captured, deltas, kernel_grads, moments, delta_squares

    def __call__(self, x, y=None):
        """Run the probe; returns numpy arrays {"h": [...], "delta": [...] or None,
        "kernel_grad": [...] or None}, one entry per layer in order, and "moments": {tensor key:
        vector of `bnn_init.graph.measure.tensor_moments`} and "delta_square": {tensor key:
        per-channel E[delta^2]} (both empty without a graph theory; the second also without labels)."""
        x = tf.convert_to_tensor(x)
        with self._strategy.scope():
            if y is None or self.loss is None:
                h, moments = self._forward(x)
                deltas = kernel_grads = squares = None
            else:
                h, deltas, kernel_grads, moments, squares = self._backward(
                    x, tf.convert_to_tensor(y)
                )
        return {
            "h": _numpy(h),
            "delta": None if deltas is None else _numpy(deltas),
            "kernel_grad": None if kernel_grads is None else _numpy(kernel_grads),
            "moments": dict(zip(self.moment_keys, _numpy(moments), strict=True)),
            "delta_square": {}
            if squares is None
            else dict(zip(self.moment_keys, _numpy(squares), strict=True)),
        }

    def kernel_values(self):
        """The current latent kernels as numpy arrays (for sign-flip ratios)."""
        return [np.asarray(tf.convert_to_tensor(k)) for k in self.kernels]


def _channel_mean_square(tensor):
    """Per-channel (last axis) mean of tensor^2; a rank-1 tensor is one channel."""
    square = tf.square(tf.cast(tensor, tf.float32))
    if square.shape.rank == 1:
        return tf.reshape(tf.reduce_mean(square), [1])
    return tf.reduce_mean(square, axis=list(range(square.shape.rank - 1)))


def _numpy(tensors):
    return [np.asarray(t, dtype=np.float32) for t in tensors]
