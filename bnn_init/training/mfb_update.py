"""Algorithm 1 of Soudry & Meir (2013): the Mean Field Bayes BackProp update, compiled with XLA.

The network is the paper's two-layer *converging* binary network (Soudry & Meir 2013, Fig. 1 and sec. 2): the
input ``x`` (length ``D``) is fully connected to ``outputs * hidden_per_output`` hidden sign
neurons, and every hidden neuron has fan-out 1: hidden neuron ``(o, k)`` feeds only output ``o``.
So the fan-ins are ``K_1 = D`` and ``K_2 = hidden_per_output`` (``K``), and the log-odds fields are

* ``h1`` with shape ``(outputs, K, D)``: ``h1[o, k, r]`` is ``h_{ij,1}`` for hidden neuron
  ``i = (o, k)`` and input ``j = r``;
* ``h2`` with shape ``(outputs, K)``: ``h2[o, k]`` is ``h_{ij,2}`` for output ``i = o`` and hidden
  neuron ``j = (o, k)``.

``P(W = +-1) = exp(+-h) / (exp(h) + exp(-h))``, so ``<W> = tanh(h)`` and ``Var W = sech^2(h)``
(Soudry & Meir 2013, sec. 4). One update (Algorithm 1, eqs. 17-18 and 20-23), with ``nu_0 = x``:

forward, for m = 1, 2::

    mu_{k,m}      = K_m^{-1/2} sum_r tanh(h_{kr,m}) nu_{r,m-1}
    sigma^2_{k,m} = K_m^{-1}  sum_r [(1 - nu_{r,m-1}^2)(1 - delta_{1m})
                                      + nu_{r,m-1}^2 sech^2(h_{kr,m}) + eps]
    nu_{k,m}      = 2 Phi(mu_{k,m} / sigma_{k,m}) - 1

backward, for l = 2, 1 (with the "cavity" mean ``mu_{i(j),l}`` that leaves weight ij out)::

    mu_{i(j),l} = mu_{i,l} - K_l^{-1/2} tanh(h_{ij,l}) nu_{j,l-1}
    G_{ij,l}    = 2 K_l^{-1/2} N(0 | mu_{i(j),l}, sigma^2_{i,l})
                  / (1 + [Phi(y_i mu_{i(j),L} / sigma_{i,L}) - 1] delta_{Ll})          (eq. 20)
    Delta_{ij,l} = Delta_{i'i,l+1} tanh(G_{ij,l}) tanh(h_{ij,l}),  Delta_{i,L+1} = y_i  (eq. 21)
    R_{ij,l}     = Delta_{i'i,l+1} tanh(G_{ij,l} x_j)            if l = 1
                   Delta_{i'i,l+1} tanh(G_{ij,l}) nu_{j,l-1}      if l > 1             (eq. 22)
    h_{ij,l}    <- h_{ij,l} + R_{ij,l} / 2                                           (eq. 23)

Safeguards (Soudry & Meir 2013, end of sec. 4): ``sigma^2_{i(j),l} ~ sigma^2_{i,l} + eps`` with ``eps = 2^-52``,
and wherever ``G_{ij,L}`` is not a finite number its asymptotic form (eq. 26) is used. The output
layer's ratio is written as ``G = 2 / (sqrt(K_L) sigma) * M(y a)`` with ``a = mu_{i(j),L} / sigma``
and the inverse Mills ratio ``M(b) = phi(b) / Phi(b)``; for ``b < -5`` ``M`` comes from Laplace's
continued fraction, so ``G`` stays accurate where ``phi`` and ``Phi`` both underflow (in float64
beyond ``|a| ~ 37``, in float32 beyond ``|a| ~ 13``) and tends to eq. 26 as ``sigma -> 0``.

Erratum (Soudry & Meir 2013, eq. 26 and Algorithm 1): the printed asymptotic form
``G = -2 mu_{i(j),L} / (sigma^2_{i,L} sqrt(K_L)) theta(-y_i mu_{i(j),L})`` has the sign of ``y_i``,
while eq. 20 is a ratio of a density and a probability and so is never negative. The limit of
eq. 20 for ``sigma -> 0`` (``M(b) ~ -b`` for ``b -> -inf``) is
``G = 2 |mu_{i(j),L}| / (sigma^2_{i,L} sqrt(K_L)) theta(-y_i mu_{i(j),L})``, i.e. the printed form
times ``y_i``; that is what is implemented. With the printed sign a surprising sample with
``y_i = -1`` would push the weights *towards* the wrong output.

Why TensorFlow + XLA: the update is strictly sequential over samples and costs a dozen elementwise
passes over all weights. Compiling the whole per-sample loop (``tf.while_loop`` inside a
``tf.function(jit_compile=True)``) fuses those passes into a few sweeps over memory and removes the
per-operation dispatch cost that dominates small networks. Measured on 2 shared CPU cores, float64,
update only: 70 us/sample for a 101 x (101 x 1) x 1 network and 13 ms/sample for the paper's
785 x (301 x 10) x 10 MNIST network, against 300 us and 85 ms with in-place numpy and 225 us and
30 ms with TensorFlow without XLA (float32 + XLA: 32 us and 3.6 ms), when this loop was first
written; ``make bench`` now measures 7.4 ms (float64) and 2.7 ms (float32) per MNIST sample,
``MFBNetwork.fit`` included. At that size a float32 step is compute-bound: leaving out the
Gaussian of the cavity mean saves 0.9 ms and leaving out tanh of the gain 0.8 ms (timing only);
the rest is tanh of the fields and the three sums over the inputs (mu, sigma^2 and the MAP
network's input). Padding each row of fields to whole 256- and 512-bit vectors
(`DENSE_ALIGNMENT`) made ``fit`` 14-18 % faster at 785 inputs (15 % at 21, 4 % at 65 and 18 % at
101). The same code runs on a GPU.

Sparse inputs: a weight whose input ``x_j`` is 0 adds nothing to ``mu`` or ``sigma^2`` and its
field does not move (``R = Delta tanh(G * 0) = 0``). Where every sample of a chunk has at most
half of its inputs nonzero (raw pixel intensities with a black background, one-hot features;
not the centred MNIST of Soudry & Meir 2013, sec. 5), `run_chunk` visits only the
nonzero columns, in blocks of `SPARSE_BLOCK`; the result is the same up to the order of the sums.
A visited weight costs about 1.5 times a weight of the dense loop (gathering and scattering the
rows), so the gain is about 0.6 D / (nonzero inputs, rounded up to whole blocks): at 150 of 785
nonzero, measured 2.1x in float64 and 1.7x in float32 (``make bench``).

Every array carries a leading axis of T networks, each learning its own sample at every step
(`bnn_init.training.online.fit_side_by_side`; a single network is T = 1). On 2 CPU cores the cost
of a step grows almost linearly with T (the elementwise transcendentals dominate, not the
per-step overhead): side by side, 10 teacher-student networks learn about 1.3 times as many
samples per second as one after the other at M = 21, and as many at M = 101.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf  # bnn_init's __init__ has selected tf-keras

from bnn_init.primitives.signs import tf_sign

EPS = 2.0**-52  # Soudry & Meir 2013, sec. 4: sigma^2_{i(j),l} ~ sigma^2_{i,l} + eps
_MILLS_SWITCH = 5.0  # below b = -5 the inverse Mills ratio comes from the continued fraction
_MILLS_TERMS = 16
SPARSE_FRACTION = 0.5  # at most this fraction of nonzero inputs: visit only the nonzero columns
SPARSE_BLOCK = 64  # nonzero columns visited per inner step of `_sparse_chunk`
DENSE_ALIGNMENT = 16  # `_dense_chunk` pads the inputs to a multiple of this many


def _normal_cdf(b):
    return 0.5 * tf.math.erfc(-b / math.sqrt(2.0))


def inverse_mills_ratio(b):
    """``M(b) = phi(b) / Phi(b)`` for a float tensor, accurate for all finite b.

    For ``b >= -5`` the quotient is evaluated directly (``Phi`` via ``erfc``, accurate in the
    tail); for ``b < -5`` Laplace's continued fraction for ``Phi(-t) / phi(t)``,
    ``1 / (t + 1 / (t + 2 / (t + 3 / ...)))`` with ``t = -b``, truncated after 16 terms
    (relative error < 1e-12 at t = 5, smaller beyond). ``M(b) -> -b`` as ``b -> -inf``.
    """
    direct_b = tf.maximum(b, -_MILLS_SWITCH)
    direct = tf.exp(-0.5 * direct_b * direct_b) / (math.sqrt(2.0 * math.pi) * _normal_cdf(direct_b))
    t = tf.maximum(-b, _MILLS_SWITCH)
    tail = t
    for n in range(_MILLS_TERMS, 0, -1):
        tail = t + n / tail
    return tf.where(b >= -_MILLS_SWITCH, direct, tail)


def output_gain(mu_cav, var, y, fan_in):
    """``G_{ij,L}`` of eq. 20 for the output layer, with eq. 26 (sign corrected, see the module
    docstring) wherever eq. 20 is not a finite number.

    ``mu_cav`` is ``mu_{i(j),L}``, ``var`` is ``sigma^2_{i,L}`` (eps included) and ``y`` is ``y_i``,
    all float tensors broadcastable to one shape; ``fan_in`` is ``K_L``.
    """
    sigma = tf.sqrt(var)
    gain = (2.0 / math.sqrt(fan_in)) / sigma * inverse_mills_ratio(y * mu_cav / sigma)
    surprising = y * mu_cav < 0  # theta(-y_i mu_{i(j),L})
    asymptotic = tf.where(
        surprising, 2.0 * tf.abs(mu_cav) / (var * math.sqrt(fan_in)), tf.zeros_like(gain)
    )
    return tf.where(tf.math.is_finite(gain), gain, asymptotic)


def _mean_output(mu, var):
    """``nu = 2 Phi(mu / sigma) - 1 = erf(mu / sqrt(2 sigma^2))`` (Soudry & Meir 2013, eq. 18)."""
    return tf.math.erf(mu / tf.sqrt(2.0 * var))


def _output_layer(h2, nu1, y):
    """The output layer's part of one update (eqs. 17-18 for m = 2, then eqs. 20 with 26, 21, 22
    and 23 for l = 2, with ``Delta_{i,3} = y_i``), given the hidden mean outputs ``nu1`` (T, O, K)
    and the targets ``y`` (T, O). Returns ``(h2_next, delta2, nu2)``: the updated ``h2``,
    ``Delta_{ij,2}`` (T, O, K), and the PMFB output ``nu2`` (T, O) before the update (eq. 25)."""
    k = float(h2.shape[-1])
    t2 = tf.tanh(h2)
    mu2 = tf.reduce_sum(t2 * nu1, axis=-1) / math.sqrt(k)
    nu1_sq = nu1 * nu1
    var2 = tf.reduce_sum((1.0 - nu1_sq) + nu1_sq * (1.0 - t2 * t2), axis=-1) / k + EPS
    mu2_cav = mu2[..., None] - t2 * nu1 / math.sqrt(k)
    g2 = output_gain(mu2_cav, var2[..., None], y[..., None], k)
    back = y[..., None] * tf.tanh(g2)
    return h2 + 0.5 * back * nu1, back * t2, _mean_output(mu2, var2)


def _hidden_fields_next(h1, t1, x, mu1, var1, delta2, input_dim):
    """``h_{ij,1} + R_{ij,1} / 2`` (eqs. 20-23 for l = 1), elementwise over broadcastable arrays:
    ``G = 2 K_1^{-1/2} N(0 | mu_{i(j),1}, sigma^2_{i,1})`` with the cavity mean
    ``mu_{i(j),1} = mu_{i,1} - K_1^{-1/2} tanh(h_{ij,1}) x_j`` and
    ``R = Delta_{i'i,2} tanh(G x_j)``; ``t1`` is ``tanh(h1)``. Where ``x_j = 0``, R is exactly 0."""
    root = math.sqrt(input_dim)
    mu_cav = mu1 - t1 * (x / root)
    # per neuron, so that a weight costs no division: 2 K^-1/2 / sqrt(2 pi sigma^2), -1 / (2 sigma^2)
    scale = (2.0 / root) * tf.math.rsqrt(2.0 * math.pi * var1)
    exponent = -0.5 / var1
    gain = scale * tf.exp(mu_cav * mu_cav * exponent)
    return h1 + (0.5 * delta2) * tf.tanh(gain * x)


def _update(h1, h2, x, y, input_dim):
    """One BayesUpdateStep (Algorithm 1) of T networks at once, each on its own sample: ``h1``
    (T, O, K, W), ``h2`` (T, O, K), ``x`` (T, W), ``y`` (T, O), where the last W - ``input_dim``
    inputs are 0 (padding). Returns ``(h1_next, h2_next, nu2)`` where ``nu2`` (T, O) is the PMFB
    output (eq. 25) for ``x`` before the update."""
    d = float(input_dim)
    rows = x[:, None, :]  # (T, 1, W): one input per network, shared by its O x K hidden neurons
    t1 = tf.tanh(h1)
    mu1 = tf.linalg.matvec(t1, rows) / math.sqrt(d)
    var1 = tf.linalg.matvec(1.0 - t1 * t1, rows * rows) / d + EPS  # delta_{1m} = 1: x^2 sech^2
    h2_next, delta2, nu2 = _output_layer(h2, _mean_output(mu1, var1), y)
    h1_next = _hidden_fields_next(
        h1, t1, x[:, None, None, :], mu1[..., None], var1[..., None], delta2[..., None], d
    )
    return h1_next, h2_next, nu2


def _map_preactivation(h1, h2, x):
    """Inputs (T, O) of the output neurons of the MAP networks ``W* = sign(h)`` (eqs. 1 and 24),
    one sample per network: ``u2[o] = sum_k sign(h2[o, k]) sign(sum_r sign(h1[o, k, r]) x[r])``."""
    hidden = tf.linalg.matvec(tf_sign(h1), x[:, None, :])
    return tf.reduce_sum(tf_sign(h2) * tf_sign(hidden), axis=-1)


def online_errors(scores, y):
    """Per-sample classification error of output scores (n, O) against targets y in {-1, +1}:
    sign mismatch for one output (sign(0) = +1), else the arg-max rule of Soudry & Meir 2013, sec. 5 ("the output
    neuron which has the highest input indicates the label")."""
    if scores.shape[-1] == 1:
        predicted = tf.where(scores[:, 0] >= 0, 1.0, -1.0)
        return tf.cast(tf.not_equal(predicted, tf.cast(y[:, 0], predicted.dtype)), tf.float32)
    return tf.cast(tf.not_equal(tf.argmax(scores, -1), tf.argmax(y, -1)), tf.float32)


def _learn_samples(step, state, xs, ys, n):
    """Apply ``step(state, i) -> (state, map_scores, pmfb_output)`` to samples i = 0 ... n - 1 of
    a chunk (``xs`` and ``ys`` give its size) and collect the per-sample errors (chunk, T) of the
    MAP network (eq. 24) and of the PMFB output (eq. 25), measured before each sample was learnt
    (zeros for the padding rows from n on). Returns ``(state, mfb_errors, pmfb_errors)``."""
    size = tf.shape(xs)[0]

    def body(i, state, mfb, pmfb):
        state, u2, nu2 = step(state, i)
        mfb = mfb.write(i, online_errors(u2, ys[i]))
        pmfb = pmfb.write(i, online_errors(nu2, ys[i]))
        return i + 1, state, mfb, pmfb

    errors = (tf.TensorArray(tf.float32, size=size), tf.TensorArray(tf.float32, size=size))
    i, state, mfb, pmfb = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), state, *errors))
    zeros = tf.zeros(tf.shape(xs)[1:2], tf.float32)
    _, mfb, pmfb = tf.while_loop(
        lambda j, *_: j < size,
        lambda j, a, b: (j + 1, a.write(j, zeros), b.write(j, zeros)),
        (i, mfb, pmfb),
    )
    return state, mfb.stack(), pmfb.stack()


@tf.function(jit_compile=True)
def _dense_chunk(h1, h2, xs, ys, n):
    """`run_chunk` over every input column.

    Inside, the inputs are padded with zero columns to a multiple of `DENSE_ALIGNMENT`: a zero
    input changes neither mu, sigma^2 nor its own fields, so the padding computes nothing new,
    and every row of fields becomes whole vectors with no scalar remainder.
    """
    d = h1.shape[-1]
    padding = -d % DENSE_ALIGNMENT
    h1 = tf.pad(h1, [[0, 0], [0, 0], [0, 0], [0, padding]])
    xs = tf.pad(xs, [[0, 0], [0, 0], [0, padding]])
    last = tf.shape(xs)[0] - 1

    def step(state, i):
        h1, h2, u2 = state
        h1, h2, nu2 = _update(h1, h2, xs[i], ys[i], d)
        # the MAP scores of the next sample, from the fields it will meet: with every read of the
        # old fields ahead of their update, XLA updates them in place instead of copying them
        return (h1, h2, _map_preactivation(h1, h2, xs[tf.minimum(i + 1, last)])), u2, nu2

    state = (h1, h2, _map_preactivation(h1, h2, xs[0]))
    (h1, h2, _), mfb, pmfb = _learn_samples(step, state, xs, ys, n)
    return h1[..., :d], h2, mfb, pmfb


@tf.function(jit_compile=True)
def _sparse_chunk(h1, h2, columns, values, ys, blocks, n):
    """`run_chunk` over each sample's nonzero input columns only, in blocks of `SPARSE_BLOCK`.

    ``columns`` (chunk, T, W) lists for every sample and network the input columns with the
    nonzero ones first (a permutation of ``range(W)``, W >= D a multiple of the block; columns
    from D on are padding whose input is 0), ``values`` (chunk, T, W) the inputs in that order
    and ``blocks`` (chunk,) how many leading blocks of ``columns`` hold every network's nonzero
    inputs. A column whose input is 0 adds nothing to mu or sigma^2 and its fields do not change
    (R = 0), so this computes what `_dense_chunk` does, in time proportional to the nonzero
    inputs. Inside, the fields are laid out (T, W, O, K): a block of columns is a block of rows.
    """
    networks, outputs, hidden, d = h1.shape
    width = columns.shape[-1]
    fields = tf.pad(tf.transpose(h1, (0, 3, 1, 2)), [[0, 0], [0, width - d], [0, 0], [0, 0]])
    owner = tf.broadcast_to(tf.range(networks)[:, None], (networks, SPARSE_BLOCK))

    def block(i, b):
        """The columns (T, B) of block b of sample i and their inputs (T, B)."""
        at, size = [0, b * SPARSE_BLOCK], [networks, SPARSE_BLOCK]
        return tf.slice(columns[i], at, size), tf.slice(values[i], at, size)

    def step(state, i):
        fields, h2 = state
        zeros = tf.zeros((networks, outputs, hidden), h2.dtype)

        def moments(b, mu, var, map_inputs):
            cols, x = block(i, b)
            rows = tf.gather(fields, cols, batch_dims=1)  # (T, B, O, K)
            t1 = tf.tanh(rows)
            x = x[..., None, None]
            return (
                b + 1,
                mu + tf.reduce_sum(t1 * x, axis=1),
                var + tf.reduce_sum((1.0 - t1 * t1) * (x * x), axis=1),
                map_inputs + tf.reduce_sum(tf_sign(rows) * x, axis=1),
            )

        _, mu1, var1, map_inputs = tf.while_loop(
            lambda b, *_: b < blocks[i], moments, (0, zeros, zeros, zeros)
        )
        mu1 = mu1 / math.sqrt(d)
        var1 = var1 / d + EPS
        u2 = tf.reduce_sum(tf_sign(h2) * tf_sign(map_inputs), axis=-1)
        h2_next, delta2, nu2 = _output_layer(h2, _mean_output(mu1, var1), ys[i])

        def learn(b, fields):
            cols, x = block(i, b)
            rows = tf.gather(fields, cols, batch_dims=1)
            t1 = tf.tanh(rows)
            rows_next = _hidden_fields_next(
                rows, t1, x[..., None, None], mu1[:, None], var1[:, None], delta2[:, None], d
            )
            return b + 1, tf.tensor_scatter_nd_update(
                fields, tf.stack([owner, cols], axis=-1), rows_next
            )

        _, fields = tf.while_loop(lambda b, _: b < blocks[i], learn, (0, fields))
        return (fields, h2_next), u2, nu2

    (fields, h2), mfb, pmfb = _learn_samples(step, (fields, h2), values, ys, n)
    return tf.transpose(fields[:, :d], (0, 2, 3, 1)), h2, mfb, pmfb


def run_chunk(h1, h2, xs, ys, n):
    """Algorithm 1 applied sample after sample to T networks side by side: network t learns rows
    ``xs[:n, t]`` (xs: chunk, T, D) with targets ``ys[:n, t]`` (ys: chunk, T, O, in {-1, +1});
    ``h1`` is (T, O, K, D) and ``h2`` (T, O, K), all numpy arrays of one float dtype. Rows beyond
    ``n`` are padding, so one compiled program serves every chunk of the same size. Returns
    ``(h1, h2, mfb_errors, pmfb_errors)`` with the errors (chunk, T) of the MAP network (eq. 24)
    and of the PMFB output (eq. 25) on each sample *before* it was learnt (zeros for padding).

    Where every sample of the chunk has at most a fraction `SPARSE_FRACTION` of nonzero inputs
    (e.g. raw pixel intensities with a black background), the update visits only the nonzero columns
    (`_sparse_chunk`): a zero input neither moves mu and sigma^2 nor changes its weights' fields,
    so the result is the same up to the order of the sums.
    """
    xs = np.asarray(xs)
    d = xs.shape[-1]
    nonzero = np.count_nonzero(xs[:n], axis=-1)  # (n, T)
    if n == 0 or nonzero.max() > SPARSE_FRACTION * d:
        return _dense_chunk(h1, h2, xs, ys, np.int32(n))
    width = -(-d // SPARSE_BLOCK) * SPARSE_BLOCK
    padded = np.zeros((*xs.shape[:-1], width), xs.dtype)
    padded[..., :d] = xs
    columns = np.argsort(padded == 0, axis=-1, kind="stable").astype(np.int32)
    blocks = np.zeros(xs.shape[0], np.int32)
    blocks[:n] = -(-nonzero.max(axis=1) // SPARSE_BLOCK)
    values = np.take_along_axis(padded, columns, axis=-1)
    return _sparse_chunk(h1, h2, columns, values, ys, blocks, np.int32(n))


def bayes_update_step(h1, h2, x, y):
    """``H_next = BayesUpdateStep(x, y, H)`` of Algorithm 1 (Soudry & Meir 2013), a pure function on numpy arrays.

    ``h1`` (O, K, D) and ``h2`` (O, K) are the log-odds fields, ``x`` one input of length D and
    ``y`` its label in {-1, +1}^O. Returns new float64 arrays ``(h1_next, h2_next)``.

    Example::

        >>> import numpy as np
        >>> from bnn_init.training.converging import uniform_weights
        >>> h1, h2 = uniform_weights(5, 3, 1, np.random.default_rng(0))  # the paper's prior
        >>> h1n, h2n = bayes_update_step(h1, h2, np.array([1.0, -1, 1, 1, -1]), np.array([1.0]))
        >>> h1n.shape, h2n.shape
        ((1, 3, 5), (1, 3))
    """
    h1, h2, x, y = (np.asarray(a, dtype=np.float64)[None] for a in (h1, h2, x, y))
    h1n, h2n, _, _ = run_chunk(h1, h2, x[None], y[None], 1)
    return h1n.numpy()[0], h2n.numpy()[0]
