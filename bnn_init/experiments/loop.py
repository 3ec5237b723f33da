"""The experiments' seeded training loop: softmax cross-entropy on mini-batches, for one network
or K stacked ones (`bnn_init.experiments.stacked`), and accuracy in inference mode."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["accuracy", "run_seed", "train", "train_depth_grid"]


def accuracy(model, x, y, batch_size=1024):
    """Fraction of ``x`` whose argmax output equals the integer label ``y`` (inference mode): a
    float, or an array of K fractions for K stacked networks (logits ``(batch, K, classes)``,
    `bnn_init.experiments.stacked`)."""
    correct = 0
    for start in range(0, len(y), batch_size):
        logits = np.asarray(model(x[start : start + batch_size], training=False))
        labels = y[start : start + batch_size].reshape((-1,) + (1,) * (logits.ndim - 2))
        correct = correct + np.sum(np.argmax(logits, axis=-1) == labels, axis=0)
    return _float_or_array(correct / len(y))


def _float_or_array(value):
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value


def train(
    model,
    data,
    *,
    steps,
    batch_size,
    optimizer,
    seed,
    eval_every=None,
    test=None,
    jit_compile=False,
):
    """Train ``model`` (logits out) on ``data = (x, y)`` with softmax cross-entropy for ``steps``
    mini-batch steps (shuffled epochs drawn with ``seed``); return the history, a list of dicts
    ``{"step", "train_accuracy"[, "test_accuracy"], "loss"}`` every ``eval_every`` steps (default:
    only at the end). ``loss`` is the mean training loss since the previous record; a network whose
    loss turns non-finite reports inf from then on, and training stops when every network has.

    A model of K stacked networks (logits ``(batch, K, classes)``) is trained on the sum of their
    mean losses, so each network gets the gradient of its own loss; its records hold arrays of K
    accuracies and losses.

    ``jit_compile``: compile the training step with XLA: on 2 CPU cores 1.3-1.7x faster per
    update for the stacked MLPs of a depth grid, but compiling costs seconds to a minute per
    model, so it pays off only over long runs.
    """
    import tensorflow as tf

    x, y = data
    variables = model.trainable_variables

    @tf.function(jit_compile=jit_compile)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            labels = tf.reshape(yb, [-1] + [1] * (logits.shape.rank - 2))
            labels = tf.broadcast_to(labels, tf.shape(logits)[:-1])
            per_example = tf.keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True
            )
            losses = tf.reduce_mean(per_example, axis=0)
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return losses

    rng = np.random.default_rng(seed)
    eval_every = eval_every or steps
    history, order, cursor, losses, finite = [], rng.permutation(len(y)), 0, [], True
    for i in range(1, steps + 1):
        if cursor + batch_size > len(y):
            order, cursor = rng.permutation(len(y)), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        losses.append(np.asarray(step(x[idx], y[idx])))
        finite = finite & np.isfinite(losses[-1])
        stop = not np.any(finite)
        if i % eval_every == 0 or i == steps or stop:
            with np.errstate(invalid="ignore"):
                mean_loss = np.where(finite, np.mean(losses, axis=0), np.inf)
            record = {"step": i, "loss": _float_or_array(mean_loss)}
            record["train_accuracy"] = accuracy(model, x, y)
            if test is not None:
                record["test_accuracy"] = accuracy(model, *test)
            history.append(record)
            losses = []
        if stop:
            break
    return history


def run_seed(seed, rep):
    """The seed of repetition ``rep`` of a run seeded ``seed`` (`train_depth_grid`'s seeds)."""
    return seed * 1_000 + rep


def train_depth_grid(
    data,
    depths,
    build,
    *,
    steps,
    batch_size,
    optimizer,
    seed,
    bar,
    n_columns,
    label="",
    jit_compile=False,
    seeds=1,
    stop_below=None,
):
    """Train one stacked model per depth and seed, ``build(depth, model_seed, columns)`` (its
    networks are the listed ``columns`` of a grid, e.g. values of sigma_w2), for ``steps`` steps
    with a fresh ``optimizer()``; return the final training ``accuracy[seed, depth, column]`` and
    ``loss[seed, depth, column]`` (``jit_compile`` as `train`); the r-th of ``seeds`` seeds is
    ``run_seed(seed, r)``.

    ``n_columns`` is the number of columns of the grid. With ``stop_below``, a column whose accuracy averaged
    over the seeds falls below it at one depth is not trained at the deeper ones (their cells are
    NaN): under the monotone boundary rule (`bnn_init.experiments.boundary.trainable_depths`)
    those cells cannot move the boundary, and the deep cells are the costly ones."""
    import tensorflow as tf

    accuracies = np.full((seeds, len(depths), n_columns), np.nan)
    losses = np.full_like(accuracies, np.nan)
    alive = np.ones(n_columns, dtype=bool)
    for i, depth in enumerate(depths):
        chosen = np.flatnonzero(alive)
        for rep in range(seeds):
            if chosen.size:
                depth_seed = run_seed(seed, rep) * 1_000_003 + 1_009 * i
                tf.keras.utils.set_random_seed(depth_seed)
                history = train(
                    build(depth, depth_seed, chosen),
                    data,
                    steps=steps,
                    batch_size=batch_size,
                    optimizer=optimizer(),
                    seed=depth_seed,
                    jit_compile=jit_compile,
                )
                accuracies[rep, i, chosen] = history[-1]["train_accuracy"]
                losses[rep, i, chosen] = history[-1]["loss"]
            bar.update()
        if stop_below is not None:
            alive[chosen] = np.mean(accuracies[:, i, chosen], axis=0) >= stop_below
        best = np.nanmax(accuracies[:, i]) if chosen.size else math.nan
        bar.set_postfix_str(f"{label} L={depth} best acc={best:.2f}, {chosen.size} columns")
    return accuracies, losses
