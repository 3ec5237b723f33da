"""``MFBNetwork``: a binary-weight converging network trained by Mean Field Bayes BackProp
(Soudry & Meir, 2013, Algorithm 1), with MAP (eq. 24) and PMFB (eq. 25) predictors and export to a
Larq model."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from bnn_init.primitives.signs import sign

from . import mfb_update
from .converging import (
    binary_preactivation,
    check_architecture,
    check_inputs,
    classification_error,
    encode_targets,
    to_keras_model,
    uniform_weights,
)
from .online import OnlineTrainer

DTYPES = ("float32", "float64")  # the first is the default


class MFBNetwork(OnlineTrainer):
    """Posterior over the binary weights of a ``D x (K x O) x O`` converging network (Soudry & Meir 2013, Fig. 1).

    The input (``input_dim`` = D) is fully connected to ``outputs * hidden_per_output`` hidden sign
    neurons; each hidden neuron has fan-out 1 and feeds one output sign neuron, so output ``o``
    receives ``hidden_per_output`` (K) hidden neurons of its own. The paper's MNIST network is
    ``MFBNetwork(785, 301, 10)`` (784 pixels plus a constant 1) and its teacher-student student is
    ``MFBNetwork(M, M, 1)``.

    Every weight is an independent +-1 variable with ``P(W = +-1) = e^{+-h} / (e^h + e^-h)``; the
    log-odds fields ``h1`` (O, K, D) and ``h2`` (O, K) start from the paper's prior
    ``sqrt(K_l / 3) h ~ U[-1, 1]`` and are updated by Algorithm 1, one sample at a time, in
    O(|W|) per sample (see ``bnn_init.training.mfb_update`` for the formulas and the eps and
    asymptotic-G safeguards of eq. 26). Inputs that are mostly 0 (raw pixel intensities, one-hot
    features) learn faster: where at most half of a chunk's inputs are nonzero, the update visits
    only the nonzero ones, with the same result. On a CPU with AVX-512, starting Python with
    ``XLA_FLAGS=--xla_cpu_prefer_vector_width=512`` (XLA reads it once, before its first program)
    makes ``fit`` about 1.15 times faster at the paper's MNIST size (measured 394-411 against
    343-357 samples/s, float32); bnn-init leaves that flag to you, as it applies to every XLA
    program of the process.

    Args:
        input_dim: D, the number of inputs (an int >= 1).
        hidden_per_output: K, the hidden neurons that converge on each output (an int >= 1).
        outputs: O, the number of outputs (an int >= 1).
        seed: seed of the prior draw and of the per-epoch shuffling.
        dtype: "float32" (default) or "float64" (the precision the paper's eps = 2^-52
            presumes). float32 learns 1.7-2.8 times as many samples per second at the paper's
            MNIST size and, measured on the same seeds and data, reaches the same test errors:
            identical on MNIST-1D and digits (3 seeds, 10 epochs, K = 301) and teacher-student
            M = 101 (5 trials of 200,000 samples); at M = 21 and 51 single trials part after
            many samples and end up to 0.5 points apart either way (means 20.1 vs 20.3 % and
            26.35 vs 26.29 %, float32 vs float64).

    Example::

        >>> from bnn_init.datasets import teacher_student
        >>> x, y = teacher_student(9, 3000, seed=1, teacher_seed=0)
        >>> x_test, y_test = teacher_student(9, 2000, seed=2, teacher_seed=0)
        >>> net = MFBNetwork(9, 9, 1, seed=0)
        >>> history = net.fit(x, y, epochs=1, verbose=0)
        >>> errors = net.evaluate(x_test, y_test)  # {"error": MFB, "pmfb_error": PMFB}
        >>> model = net.to_keras()  # Larq model of the MAP network W* = sign(h)
    """

    # fit(...) (from OnlineTrainer) runs Algorithm 1 sample by sample; its history holds the MAP
    # (MFB) training error "error" and the PMFB one "pmfb_error".
    error_names = ("error", "pmfb_error")

    def __init__(self, input_dim, hidden_per_output, outputs, seed=None, dtype=DTYPES[0]):
        self.input_dim, self.hidden_per_output, self.outputs = check_architecture(
            input_dim, hidden_per_output, outputs
        )
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.dtype = dtype
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        h1, h2 = uniform_weights(input_dim, hidden_per_output, outputs, self._rng)
        self.set_fields(h1, h2)
        self.stop_training = False
        self.history = None
        self.training_curve_ = None

    # --- state -------------------------------------------------------------------------------
    @property
    def fields(self):
        """The log-odds fields ``(h1, h2)`` as float64 numpy arrays (copies)."""
        return self._h1.astype(np.float64), self._h2.astype(np.float64)

    def set_fields(self, h1, h2):
        """Replace the fields; ``h1`` must have shape (O, K, D) and ``h2`` (O, K), all finite."""
        o, k, d = self.outputs, self.hidden_per_output, self.input_dim
        h1 = np.asarray(h1, dtype=np.float64)
        h2 = np.asarray(h2, dtype=np.float64)
        if h1.shape != (o, k, d) or h2.shape != (o, k):
            raise ValueError(
                f"fields must have shapes {(o, k, d)} and {(o, k)}, got {h1.shape} and {h2.shape}"
            )
        if not (np.all(np.isfinite(h1)) and np.all(np.isfinite(h2))):
            raise ValueError("fields must be finite, got NaN or inf")
        self._h1 = h1.astype(self.dtype)
        self._h2 = h2.astype(self.dtype)

    @property
    def n_weights(self):
        """|W| = O K D + O K."""
        return self.outputs * self.hidden_per_output * (self.input_dim + 1)

    def map_weights(self):
        """The MAP binary weights ``W* = sign(h)`` (eq. 24; sign(0) = +1) as (w1, w2)."""
        return sign(self._h1.astype(np.float64)), sign(self._h2.astype(np.float64))

    # --- what OnlineTrainer trains -----------------------------------------------------------
    @property
    def _state(self):
        return self._h1, self._h2

    def _set_state(self, state):
        self._h1, self._h2 = state

    @property
    def _hyperparameters(self):
        return {}

    @staticmethod
    def _run_chunk(state, hyperparameters, xs, ys, n):
        h1, h2, mfb, pmfb = mfb_update.run_chunk(*state, xs, ys, n)
        return (h1, h2), {"error": mfb, "pmfb_error": pmfb}

    # --- prediction --------------------------------------------------------------------------
    def map_scores(self, x):
        """Inputs of the output neurons of the MAP network (integers in [-K, K]), shape (n, O)."""
        x = check_inputs(x, self.input_dim)
        w1, w2 = self.map_weights()
        return binary_preactivation(w1, w2, x)

    def predict_map(self, x):
        """MFB prediction: the output ``v_L = sign(W2* sign(W1* x))`` (eqs. 1, 24) of the
        deterministic binary network, in {-1, +1}, shape (n, O)."""
        return sign(self.map_scores(x))

    def predict_proba(self, x, batch_size=1024):
        """PMFB prediction: the mean output ``nu_L = <v_L>`` under the factorised posterior
        (eq. 25; ``sign(nu_L)`` is the MAP output), in [-1, 1], shape (n, O). ``P(v_L = +1) =
        (1 + nu_L) / 2``. Uses the forward phase of Algorithm 1 (eqs. 17-18)."""
        x = check_inputs(x, self.input_dim)
        h1, h2 = self.fields
        t1, t2 = np.tanh(h1), np.tanh(h2)
        s1 = 1.0 - t1 * t1
        d, k = self.input_dim, self.hidden_per_output
        out = np.empty((x.shape[0], self.outputs))
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]
            mu1 = np.einsum("nd,okd->nok", xb, t1) / math.sqrt(d)
            var1 = np.einsum("nd,okd->nok", xb * xb, s1) / d + mfb_update.EPS
            nu1 = erf(mu1 / np.sqrt(2.0 * var1))
            mu2 = np.einsum("nok,ok->no", nu1, t2) / math.sqrt(k)
            var2 = (
                np.sum((1.0 - nu1 * nu1) + nu1 * nu1 * (1.0 - t2 * t2), axis=-1) / k
                + mfb_update.EPS
            )
            out[start : start + batch_size] = erf(mu2 / np.sqrt(2.0 * var2))
        return out

    def evaluate(self, x, y):
        """Test errors ``{"error": MFB (MAP network), "pmfb_error": PMFB}``; the class of a
        multi-output network is the arg-max of its output inputs (Soudry & Meir 2013, sec. 5)."""
        targets = encode_targets(y, self.outputs)
        return {
            "error": classification_error(self.map_scores(x), targets),
            "pmfb_error": classification_error(self.predict_proba(x), targets),
        }

    def to_keras(self):
        """The MAP network as a Larq model (``QuantDense`` + grouped ``QuantConv2D`` with
        ``ste_sign`` weights and activations; see ``converging.to_keras_model``). Its outputs are
        the inputs of the output neurons, equal to ``map_scores``."""
        w1, w2 = self.map_weights()
        return to_keras_model(w1, w2, binary=True, name="mfb_map")
