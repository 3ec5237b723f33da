"""The BackProp baseline of Soudry & Meir (2013, sec. 4 "Comparison with Backpropagation", sec. 5):
a real-weight network with the same converging architecture, trained online (batch size 1) by
gradient descent, and its clipped version ``W_CBP = sign(W_BP)``.

Network (eq. 27): ``v2 = s(W2 s(W1 x))`` with ``s(u) = 1.7159 tanh(2u/3)`` (LeCun et al. 2012),
initial weights ``sqrt(K_l / 3) W ~ U[-1, 1]``, error ``E = 1/2 sum_o (v2_o - y_o)^2`` and the
updates of eqs. 30-31::

    dE/du2_o      = (v2_o - y_o) s'(u2_o)
    W2_ok        -= eta dE/du2_o v1_ok
    W1_okr       -= eta dE/du2_o W2_ok s'(u1_ok) x_r

The learning rate is chosen by a scan (``learning_rate_scan``), as in the paper.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf  # bnn_init's __init__ has selected tf-keras

from bnn_init.primitives.signs import sign

from .converging import (
    LECUN_GAIN,
    binary_preactivation,
    check_architecture,
    check_inputs,
    classification_error,
    encode_targets,
    lecun_forward,
    to_keras_model,
    uniform_weights,
)
from .mfb_update import online_errors
from .online import OnlineTrainer, fit_side_by_side


def _lecun(u):
    t = tf.tanh(u * (2.0 / 3.0))
    return LECUN_GAIN * t, LECUN_GAIN * (2.0 / 3.0) * (1.0 - t * t)


def _sgd_step(w1, w2, x, y, lr):
    """One gradient step of eqs. 30-31 for T networks at once, each on its own sample: ``w1``
    (T, O, K, D), ``w2`` (T, O, K), ``x`` (T, D), ``y`` (T, O), learning rates ``lr`` (T,).
    Returns (w1, w2, v2 before the step)."""
    v1, ds1 = _lecun(tf.linalg.matvec(w1, x[:, None, :]))  # (T, O, K)
    v2, ds2 = _lecun(tf.reduce_sum(w2 * v1, axis=-1))  # (T, O)
    d2 = (v2 - y) * ds2
    w1_next = (
        w1 - lr[:, None, None, None] * (d2[..., None] * w2 * ds1)[..., None] * x[:, None, None, :]
    )
    w2_next = w2 - lr[:, None, None] * d2[..., None] * v1
    return w1_next, w2_next, v2


@tf.function(jit_compile=True)
def _run_chunk(state, hyperparameters, xs, ys, n):
    """Eqs. 30-31 applied sample after sample to T networks side by side (``state = (w1, w2)``,
    ``hyperparameters = (learning_rate,)`` of shape (T,), xs (chunk, T, D), ys (chunk, T, O));
    returns the new state and ``{"error": (chunk, T)}``, each sample's error before its step."""
    (w1, w2), (lr,) = state, hyperparameters
    size = tf.shape(xs)[0]
    errors = tf.TensorArray(tf.float32, size=size)

    def body(i, w1, w2, errors):
        w1, w2, v2 = _sgd_step(w1, w2, xs[i], ys[i], lr)
        return i + 1, w1, w2, errors.write(i, online_errors(v2, ys[i]))

    i, w1, w2, errors = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), w1, w2, errors))
    zeros = tf.zeros(tf.shape(xs)[1:2], tf.float32)
    _, errors = tf.while_loop(
        lambda j, _: j < size, lambda j, e: (j + 1, e.write(j, zeros)), (i, errors)
    )
    return (w1, w2), {"error": errors.stack()}


class BackPropNetwork(OnlineTrainer):
    """Real-weight converging ``D x (K x O) x O`` network trained by online BackProp (Soudry & Meir 2013, eq. 27),
    the paper's baseline for MFB-BackProp, with its clipped binary version.

    Example::

        >>> from bnn_init.datasets import teacher_student
        >>> x, y = teacher_student(9, 3000, seed=1, teacher_seed=0)
        >>> net = BackPropNetwork(9, 9, 1, learning_rate=0.03, seed=0)
        >>> history = net.fit(x, y, verbose=0)
        >>> errors = net.evaluate(x, y)  # {"error": BackProp, "clipped_error": clipped BackProp}
        >>> clipped = net.to_keras(clipped=True)  # Larq model with W = sign(W_BP)
    """

    error_names = ("error",)

    def __init__(self, input_dim, hidden_per_output, outputs, learning_rate=0.01, seed=None):
        self.input_dim, self.hidden_per_output, self.outputs = check_architecture(
            input_dim, hidden_per_output, outputs
        )
        lr = float(learning_rate)
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"learning_rate must lie in (0, inf), got {learning_rate!r}")
        self.learning_rate = lr
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.w1, self.w2 = uniform_weights(input_dim, hidden_per_output, outputs, self._rng)
        self.stop_training = False
        self.history = None
        self.training_curve_ = None

    # --- what OnlineTrainer trains -----------------------------------------------------------
    _run_chunk = staticmethod(_run_chunk)

    @property
    def _state(self):
        return self.w1, self.w2

    def _set_state(self, state):
        self.w1, self.w2 = state

    @property
    def _hyperparameters(self):
        return {"learning_rate": self.learning_rate}

    def predict(self, x):
        """Output ``v2`` of the real network (eq. 27), shape (n, O)."""
        return lecun_forward(self.w1, self.w2, check_inputs(x, self.input_dim))

    def predict_clipped(self, x):
        """Output inputs of the clipped network ``W = sign(W_BP)`` (binary, eq. 1), shape (n, O)."""
        return binary_preactivation(sign(self.w1), sign(self.w2), check_inputs(x, self.input_dim))

    def evaluate(self, x, y):
        """Test errors ``{"error": BackProp, "clipped_error": clipped BackProp}``."""
        targets = encode_targets(y, self.outputs)
        return {
            "error": classification_error(self.predict(x), targets),
            "clipped_error": classification_error(self.predict_clipped(x), targets),
        }

    def to_keras(self, clipped=False):
        """The trained network as a Keras model (``Dense`` + grouped ``Conv2D`` with
        ``lecun_tanh``), or with ``clipped=True`` the binary Larq model of ``sign(W_BP)``."""
        if clipped:
            return to_keras_model(sign(self.w1), sign(self.w2), binary=True, name="clipped_bp")
        return to_keras_model(self.w1, self.w2, binary=False, name="backprop")


def learning_rate_scan(
    x, y, x_val, y_val, hidden_per_output, outputs, learning_rates, *, epochs=1, seed=None
):
    """Train one ``BackPropNetwork`` per learning rate, side by side on the same data
    (`fit_side_by_side`), and keep the one with the lowest validation error (Soudry & Meir 2013,
    sec. 5: "we select the learning rate eta by a parameter scan"). Rates that diverge are
    skipped. Returns ``(best_network, {rate: validation_error})``."""
    networks = [
        BackPropNetwork(x.shape[1], hidden_per_output, outputs, rate, seed=seed)
        for rate in _rates(learning_rates)
    ]
    fit_side_by_side(networks, [(x, y)] * len(networks), epochs=epochs)
    return best_by_validation(networks, x_val, y_val)


def _rates(learning_rates):
    """The rates as floats, at least one (each is checked by `BackPropNetwork`)."""
    rates = [float(r) for r in learning_rates]
    if not rates:
        raise ValueError("learning_rates must hold at least one rate, got an empty sequence")
    return rates


def best_by_validation(networks, x_val, y_val):
    """Of trained ``BackPropNetwork``s, the one with the lowest validation error, skipping those
    that diverged: ``(best_network, {learning_rate: validation_error})`` (NaN for a diverged
    one). Raises ``FloatingPointError`` when every network diverged."""
    scores = {
        net.learning_rate: float("nan") if net.diverged else net.evaluate(x_val, y_val)["error"]
        for net in networks
    }
    finite = [net for net in networks if not net.diverged]
    if not finite:
        raise FloatingPointError(f"BackProp diverged for every learning rate in {list(scores)}")
    return min(finite, key=lambda net: scores[net.learning_rate]), scores
