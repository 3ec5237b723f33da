"""What the ``bnn-init reproduce`` experiments share: sizes, data, a seeded training loop,
trainable-depth boundaries, heatmaps, and writing results (CSV, PNG, verdict).

An experiment returns an `ExperimentResult`: tidy ``rows`` (one dict per trained network or
measured point), matplotlib ``figures``, a printed ``verdict`` that sets the measurement against the
theory and the paper, and ``summary`` numbers that tests and the README generator read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnn_init.primitives import write_csv
from bnn_init.theory.errors import check_choice

__all__ = [
    "DATASETS",
    "ExperimentResult",
    "accuracy",
    "boundary",
    "heatmap_figure",
    "load_dataset",
    "one_decimal",
    "pick_size",
    "progress",
    "Timer",
    "trainable_depths",
    "train",
    "train_depth_grid",
]

DATASETS = ("digits", "mnist1d", "mnist")
# Image shape (height, width, channels) of each dataset's flat feature vector, for conv nets.
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist1d": (40, 1, 1), "mnist": (28, 28, 1)}


@dataclass
class ExperimentResult:
    """Tidy results of one experiment.

    ``rows``: list of dicts (one per trained network or measured point), written as ``NAME.csv``;
    ``figures``: name -> `matplotlib.figure.Figure`, written as ``NAME.png`` (or
    ``NAME_<key>.png`` when there are several); ``verdict``: the printed comparison with theory and
    paper; ``summary``: the key numbers of the verdict (for tests and the README); ``headline``:
    the one-line gist of the verdict that opens the experiment's part of the README's Results.
    """

    name: str
    rows: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    verdict: str = ""
    summary: dict = field(default_factory=dict)
    seconds: float = 0.0
    headline: str = ""

    def save(self, out) -> list[Path]:
        """Write the CSV, the PNG figures and ``NAME.txt`` (the verdict) into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [write_csv(self.rows, out / f"{self.name}.csv", float_format=".6g")]
        for key, fig in self.figures.items():
            stem = self.name if len(self.figures) == 1 else f"{self.name}_{key}"
            path = out / f"{stem}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            paths.append(path)
        text = out / f"{self.name}.txt"
        text.write_text(self.verdict + "\n")
        paths.append(text)
        return paths


def pick_size(presets: Mapping, size, overrides: Mapping | None = None) -> dict:
    """The settings of preset ``size`` (e.g. "quick", "default") updated with the
    ``overrides`` that are not None; ValueError for an unknown size or setting."""
    check_choice("size", size, presets)
    settings = dict(presets[size])
    for key, value in (overrides or {}).items():
        if key not in settings:
            raise ValueError(f"unknown setting {key!r}; allowed: {sorted(settings)}")
        if value is not None:
            settings[key] = value
    return settings


def load_dataset(dataset="digits", data_path=None, n_train=None, seed=0):
    """``(x_train, y_train), (x_test, y_test)`` of an offline dataset, standardised, flat float32.

    ``dataset``: "digits" (scikit-learn, 1347 + 450), "mnist1d" (4000 + 1000) or "mnist" (read from
    ``data_path`` by `bnn_init.datasets.load_mnist`); ``n_train`` keeps a random subset of that many
    training examples (drawn with ``seed``).
    """
    from bnn_init import datasets

    check_choice("dataset", dataset, DATASETS)
    if dataset == "digits":
        train_set, test_set = datasets.load_digits(seed=seed)
    elif dataset == "mnist1d":
        train_set, test_set = datasets.load_mnist1d()
    else:
        if data_path is None:
            raise ValueError("dataset='mnist' needs data_path (a mnist.npz or IDX directory)")
        train_set, test_set = datasets.load_mnist(data_path)
    x, y = train_set
    if n_train is not None:
        if not 10 <= int(n_train):
            raise ValueError(f"n_train must be >= 10, got {n_train!r}")
        if n_train < len(y):
            keep = np.sort(np.random.default_rng(seed).choice(len(y), int(n_train), replace=False))
            x, y = x[keep], y[keep]
    return (x, y), test_set


def progress(total: int, desc: str, enabled: bool):
    """A tqdm progress bar (to stderr) when ``enabled``, else a silent stand-in with ``update``."""
    if enabled:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, leave=False)
    return _Silent()


class _Silent:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass


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


def train(model, data, *, steps, batch_size, optimizer, seed, eval_every=None, test=None):
    """Train ``model`` (logits out) on ``data = (x, y)`` with softmax cross-entropy for ``steps``
    mini-batch steps (shuffled epochs drawn with ``seed``); return the history, a list of dicts
    ``{"step", "train_accuracy"[, "test_accuracy"], "loss"}`` every ``eval_every`` steps (default:
    only at the end). ``loss`` is the mean training loss since the previous record; a network whose
    loss turns non-finite reports inf from then on, and training stops when every network has.

    A model of K stacked networks (logits ``(batch, K, classes)``) is trained on the sum of their
    mean losses, so each network gets the gradient of its own loss; its records hold arrays of K
    accuracies and losses.
    """
    import tensorflow as tf

    x, y = data
    variables = model.trainable_variables

    @tf.function
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


def train_depth_grid(data, depths, build, *, steps, batch_size, optimizer, seed, bar, label=""):
    """Train one stacked model per depth, ``build(depth, seed)`` (its K networks are the columns
    of a grid, e.g. K values of sigma_w2), for ``steps`` steps with a fresh ``optimizer()``;
    return the final training ``accuracy[depth, column]`` and ``loss[depth, column]``."""
    import tensorflow as tf

    accuracies, losses = [], []
    for i, depth in enumerate(depths):
        depth_seed = seed * 1_000_003 + 1_009 * i
        tf.keras.utils.set_random_seed(depth_seed)
        history = train(
            build(depth, depth_seed),
            data,
            steps=steps,
            batch_size=batch_size,
            optimizer=optimizer(),
            seed=depth_seed,
        )
        accuracies.append(history[-1]["train_accuracy"])
        losses.append(history[-1]["loss"])
        bar.update()
        bar.set_postfix_str(f"{label} L={depth} best acc={np.max(accuracies[-1]):.2f}")
    return np.array(accuracies), np.array(losses)


def one_decimal(value) -> str:
    """``value`` with one decimal, or "n/a" where it is not finite (e.g. no boundary measured)."""
    return f"{value:.1f}" if math.isfinite(value) else "n/a"


def trainable_depths(depths, accuracy_grid, threshold) -> np.ndarray:
    """Per column of ``accuracy_grid[depth, x]``, the largest depth whose accuracy reaches
    ``threshold`` (0 where none does): the measured boundary of the trainable region."""
    depths = np.asarray(depths, dtype=float)
    trained = np.asarray(accuracy_grid) >= threshold
    return np.array([depths[col].max() if col.any() else 0.0 for col in trained.T])


def boundary(depths, accuracy_grid, xi_c, threshold, n=6.0) -> dict:
    """Measured trainable boundary of ``accuracy_grid[depth, x]`` against the theory's depth
    scale ``xi_c[x]`` (Schoenholz et al. (2017), sec. 5: trainable when L <~ n xi_c, n = 6).

    Returns ``max_trained_depth`` (per x, `trainable_depths`), ``fitted_n`` (median of
    max_trained_depth / xi_c over the columns whose boundary lies strictly inside the grid; NaN
    when none does) and ``agreement`` (fraction of cells where "accuracy >= threshold" equals
    "L <= n xi_c").
    """
    depths = np.asarray(depths, dtype=float)
    grid, xi = np.asarray(accuracy_grid, dtype=float), np.asarray(xi_c, dtype=float)
    l_max = trainable_depths(depths, grid, threshold)
    inside = (l_max > 0) & (l_max < depths.max()) & np.isfinite(xi)
    fitted = float(np.median(l_max[inside] / xi[inside])) if inside.any() else math.nan
    predicted = depths[:, None] <= n * xi[None, :]
    agreement = float(np.mean(predicted == (grid >= threshold)))
    return {"max_trained_depth": l_max, "fitted_n": fitted, "agreement": agreement}


def heatmap_figure(ax, depths, xs, grid, *, xlabel, title, curves=(), vmin=0.0, vmax=1.0):
    """Draw ``grid[depth, x]`` (training accuracy) on ``ax`` as a heatmap over the (x, depth)
    cells, with ``curves``: (label, x values, depth values, style) lines, e.g. n xi_c."""
    from matplotlib import colors

    xs, depths = np.asarray(xs, float), np.asarray(depths, float)
    mesh = ax.pcolormesh(
        _edges(xs),
        _edges(depths),
        np.asarray(grid),
        cmap="inferno",
        norm=colors.Normalize(vmin, vmax),
        shading="flat",
    )
    for label, cx, cy, style in curves:
        ax.plot(cx, cy, style, lw=1.2, label=label)
    ax.set_xlim(_edges(xs)[0], _edges(xs)[-1])
    ax.set_ylim(_edges(depths)[0], _edges(depths)[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("depth L")
    ax.set_title(title, fontsize=9)
    if curves:
        ax.legend(fontsize=6, loc="upper right")
    return mesh


def _edges(centres):
    """Cell edges around sorted centres (midpoints, extended by half a step at both ends)."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


class Timer:
    """Wall-clock seconds since creation (``Timer().seconds``)."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
