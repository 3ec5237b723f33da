"""Stamatescu et al. (2019), sec. 4.2 and Fig. 2: which surrogate networks train, over depth x
sigma_m2, against the correlation depth scale xi_c; and their binary counterparts.

`experiment` (``bnn-init trainability``, also ``bnn-init reproduce trainability``) trains surrogate
MLPs of stochastic binary networks without BatchNorm or dropout, all layers of one width, means
``BinaryMeans(sigma_m2)`` (+-sqrt(sigma_m2)) and zero biases (sigma_b2 = 0, as in Stamatescu et al. 2019, Fig. 2), on
offline real data (scikit-learn digits and MNIST-1D; a local MNIST with ``dataset="mnist"``), for a
fixed small budget of epochs with Adam, and draws the training accuracy over (sigma_m2, depth)
with the curves 3 xi_c and 6 xi_c of the theory overlaid:

* ``"deterministic"``: `DeterministicSurrogateDense`, phi = erf(kappa h) (Stamatescu et al. 2019, eq. 12; Fig. 2 top
  left), theory `DeterministicSurrogate(sigma_m2, 0, kappa)`. The default kappa = sqrt(pi)/2 is the
  tanh-matched neuron (Stamatescu et al. 2019, eq. 34), the only one whose chi_1 reaches 1 (at sigma_m2 = 1; erratum 7).
  With kappa = 1/sqrt(2) (sign neurons) chi_1 <= 2/pi and xi_c <= 2.2 at every sigma_m2.
* ``"lrt"``: `LRTSurrogateDense` with binary weights and continuous tanh neurons (Stamatescu et al. 2019, eq. 21;
  Fig. 2 top right), theory `LRTSurrogate(sigma_m2, 0, "continuous")`, critical at sigma_m2 = 1.

For the deterministic surrogate the binary counterparts are evaluated as in Stamatescu et al. 2019, Fig. 2 bottom:
the deterministic binary network (`bnn_init.layers.to_binary`) and ensembles of 5 and 100
stochastic binary networks (`bnn_init.layers.ensemble_accuracy`), on the training examples.

The paper (MNIST, 10 epochs, L < 70) finds the trainable region bounded by about 3 xi_c and the
deepest trainable networks at sigma_m2 -> 1. The verdict reports, per dataset and surrogate, the
deepest trained depth per sigma_m2, the median ratio L_max / xi_c where the boundary lies inside
the grid, the agreement of "trained" with L <= 3 xi_c and L <= 6 xi_c, and where sigma_m2 trains
deepest.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from bnn_init.cli_support import (
    add_data_options,
    add_out_option,
    add_size_option,
    announce,
    check_data_options,
    output_folder,
    plain_help,
)
from bnn_init.nets import surrogate_mlp, surrogate_theory
from bnn_init.primitives import Timer, new_figure, pick_size, progress
from bnn_init.theory.activations import TANH_KAPPA

from .boundary import boundary
from .data import DATASETS, load_dataset
from .heatmap import heatmap_figure
from .loop import accuracy
from .result import ExperimentResult

__all__ = ["SIZES", "SURROGATES", "add_parser", "experiment", "run"]

SURROGATES = ("deterministic", "lrt")
PAPER_N = 3.0  # Stamatescu et al. 2019, sec. 4.2: "a proportion of 3 xi_c ... before trainability becomes difficult"
CURVES = (3.0, 6.0)
CHANCE = 0.1  # ten classes

DEFAULT_SIZE = dict(
    surrogates=("deterministic", "lrt"),
    datasets=("digits", "mnist1d"),
    depths=(5, 10, 15, 20, 25, 30, 35, 40, 45),
    sigma_m2=(0.1, 0.3, 0.5, 0.7, 0.9, 0.99),
    width=128,
    epochs=6,
    n_train=1200,
    batch_size=64,
    learning_rate=1e-3,
    samples=(5, 100),
    n_eval=500,
)
SIZES = {
    "test": dict(
        DEFAULT_SIZE,
        datasets=("digits",),
        depths=(3, 12),
        sigma_m2=(0.1, 0.99),
        width=32,
        epochs=2,
        n_train=320,
        batch_size=32,
        learning_rate=3e-3,
        samples=(5, 20),
        n_eval=160,
    ),
    "quick": dict(
        DEFAULT_SIZE,
        datasets=("digits",),
        depths=(5, 15, 30, 45),
        sigma_m2=(0.1, 0.5, 0.9, 0.99),
        width=64,
        n_train=None,
        n_eval=300,
    ),
    "default": DEFAULT_SIZE,
}


def theory(surrogate, sigma_m2, kappa=TANH_KAPPA):
    """The mean-field model of a random surrogate MLP with zero biases (Stamatescu et al. 2019, sec. 3)."""
    return surrogate_theory(surrogate, sigma_m2=sigma_m2, kappa=kappa)


class _Trainer:
    """One compiled model per (surrogate, depth), re-initialised for every sigma_m2 (tracing a deep
    model costs seconds; re-initialising costs nothing)."""

    def __init__(self, surrogate, depth, settings, n_inputs, kappa):
        import tensorflow as tf

        self.model = surrogate_mlp(
            surrogate, depth, settings["width"], n_inputs, 10, kappa=kappa
        ).model
        self.optimizer = tf.keras.optimizers.Adam(settings["learning_rate"])
        self.optimizer.build(self.model.trainable_variables)
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model, optimizer, variables = self.model, self.optimizer, self.model.trainable_variables

        # XLA fuses the deterministic surrogate's elementwise work (about 3x faster on CPU); the
        # LRT's random numbers are slower under XLA on CPU.
        @tf.function(jit_compile=surrogate == "deterministic", reduce_retracing=True)
        def step(xb, yb):
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        self.step = step

    def initialise(self, sigma_m2, seed):
        """Means BinaryMeans(sigma_m2) (a fresh draw per layer), zero biases, fresh Adam state."""
        import tensorflow as tf

        from bnn_init.initializers import BinaryMeans

        for index, layer in enumerate(self.model.layers):
            layer.kernel.assign(BinaryMeans(sigma_m2, seed=seed * 1000 + index)(layer.kernel.shape))
            layer.bias.assign(tf.zeros_like(layer.bias))
        for variable in self.optimizer.variables:
            variable.assign(tf.zeros_like(variable))

    def train(self, data, epochs, batch_size, seed):
        """``epochs`` shuffled passes of mini-batches; the mean loss of the last epoch."""
        x, y = data
        rng = np.random.default_rng(seed)
        losses = []
        for _ in range(epochs):
            order = rng.permutation(len(y))
            losses = []
            for start in range(0, len(y) - batch_size + 1, batch_size):
                idx = order[start : start + batch_size]
                losses.append(float(self.step(x[idx], y[idx])))
            if not math.isfinite(losses[-1]):
                return math.inf
        return float(np.mean(losses))


def _train_grid(dataset, data, surrogate, s, kappa, seed, bar):
    from bnn_init.layers import ensemble_accuracy, to_binary

    x_eval, y_eval = data[0][: s["n_eval"]], data[1][: s["n_eval"]]
    rows = []
    for depth in s["depths"]:
        trainer = _Trainer(surrogate, depth, s, data[0].shape[1], kappa)
        for sigma_m2 in s["sigma_m2"]:
            timer = Timer()
            trainer.initialise(sigma_m2, seed)
            loss = trainer.train(data, s["epochs"], s["batch_size"], seed)
            row = dict(
                dataset=dataset,
                surrogate=surrogate,
                kappa=kappa if surrogate == "deterministic" else math.nan,
                depth=depth,
                sigma_m2=sigma_m2,
                xi_c=theory(surrogate, sigma_m2, kappa).xi_c,
                loss=loss,
                train_accuracy=accuracy(trainer.model, *data),
            )
            if surrogate == "deterministic":
                binary = to_binary(trainer.model)
                row["binary_accuracy"] = accuracy(binary, x_eval, y_eval)
                for n in s["samples"]:
                    row[f"ensemble_{n}"] = ensemble_accuracy(
                        trainer.model, x_eval, y_eval, n, seed=seed
                    )
            row["seconds"] = timer.seconds
            rows.append(row)
            bar.update(1)
    return rows


def _grid(rows, depths, sigma_m2, key):
    table = {(r["depth"], r["sigma_m2"]): r[key] for r in rows}
    return np.array([[table[(d, s)] for s in sigma_m2] for d in depths], dtype=float)


def _panel_summary(rows, s, surrogate, kappa, threshold):
    depths, sigma_m2 = s["depths"], s["sigma_m2"]
    grid = _grid(rows, depths, sigma_m2, "train_accuracy")
    if threshold is None:  # half-way from chance to the panel's best cell
        threshold = CHANCE + 0.5 * max(float(grid.max()) - CHANCE, 0.0)
    xi = np.array([theory(surrogate, v, kappa).xi_c for v in sigma_m2])
    found = {n: boundary(depths, grid, xi, threshold, n=n) for n in CURVES}
    l_max = found[CURVES[0]]["max_trained_depth"]
    inside = (l_max > 0) & (l_max < max(depths))
    deepest = float(np.max(l_max))
    return {
        "grid": grid,
        "threshold": threshold,
        "xi_c": xi,
        "max_trained_depth": l_max,
        "fitted_n": found[CURVES[0]]["fitted_n"],
        "agreement": {n: found[n]["agreement"] for n in CURVES},
        "boundary_columns": int(np.sum(inside)),
        "deepest_at_sigma_m2": [v for v, d in zip(sigma_m2, l_max, strict=True) if d == deepest],
        "largest_sigma_m2_trains_deepest": bool(l_max[-1] == deepest and deepest > 0),
        "mean_accuracy_by_sigma_m2": grid.mean(axis=0),
    }


def _draw(ax, summary, s, surrogate, kappa, title):
    fine = np.linspace(min(s["sigma_m2"]), max(s["sigma_m2"]), 200)
    xi_fine = np.array([theory(surrogate, v, kappa).xi_c for v in fine])
    top = 2 * max(s["depths"])
    curves = [
        (f"{n:g} xi_c", fine, np.minimum(n * xi_fine, top), "w--" if n == 3 else "c:")
        for n in CURVES
    ]
    return heatmap_figure(
        ax,
        s["depths"],
        s["sigma_m2"],
        summary["grid"],
        xlabel="sigma_m2",
        title=title,
        curves=curves,
    )


def _binary_figure(rows_by_panel, s):
    """Stamatescu et al. 2019, Fig. 2 bottom: surrogate, deterministic binary, 5 and 100 stochastic samples."""
    panels = [(key, rows) for key, rows in rows_by_panel.items() if key[1] == "deterministic"]
    keys = ["train_accuracy", "binary_accuracy", *[f"ensemble_{n}" for n in s["samples"]]]
    names = [
        "surrogate (train set)",
        "deterministic binary",
        *[f"{n} samples" for n in s["samples"]],
    ]
    fig, axes = new_figure(ncols=len(keys), nrows=len(panels))
    mesh = None
    for i, ((dataset, _), rows) in enumerate(panels):
        for j, (key, name) in enumerate(zip(keys, names, strict=True)):
            grid = _grid(rows, s["depths"], s["sigma_m2"], key)
            mesh = heatmap_figure(
                axes[i, j],
                s["depths"],
                s["sigma_m2"],
                grid,
                xlabel="sigma_m2",
                title=f"{dataset}: {name}",
            )
    fig.colorbar(mesh, ax=axes, shrink=0.6, label="accuracy")
    return fig


def _verdict(summaries, rows_by_panel, s, threshold, seconds):
    lines = [
        "Stamatescu et al. (2019) Fig. 2: surrogate MLPs, sigma_b2 = 0, no BatchNorm/dropout, "
        f"width {s['width']}, {s['epochs']} epochs of Adam (lr {s['learning_rate']:g}); "
        "a cell is trained when its training accuracy reaches the panel's threshold "
        + (
            "(half-way from chance, 0.1, to the panel's best cell). "
            if threshold is None
            else f"{threshold:g} (chance 0.1). "
        )
        + "Paper: trainable region bounded by ~3 xi_c, sigma_m2 -> 1 trains deepest.",
    ]
    for (dataset, surrogate), summary in summaries.items():
        l_max = ", ".join(
            f"{v:g}: {int(d)}"
            for v, d in zip(s["sigma_m2"], summary["max_trained_depth"], strict=True)
        )
        xi = ", ".join(f"{v:.3g}" for v in summary["xi_c"])
        agreement = ", ".join(f"L <= {n:g} xi_c {a:.0%}" for n, a in summary["agreement"].items())
        fitted = summary["fitted_n"]
        fitted_text = (
            f"median L_max / xi_c = {fitted:.2g} over {summary['boundary_columns']} column(s) with "
            "the boundary inside the grid"
            if math.isfinite(fitted)
            else "no column has its boundary inside the grid, so no multiple of xi_c is measured"
        )
        deepest = "yes" if summary["largest_sigma_m2_trains_deepest"] else "no"
        lines.append(
            f"[{dataset}, {surrogate}] threshold {summary['threshold']:.2f}; "
            f"deepest trained L per sigma_m2 ({l_max}); xi_c = ({xi}); "
            f"{fitted_text}; agreement of trained cells with {agreement}; largest sigma_m2 trains "
            f"deepest: {deepest} (deepest at sigma_m2 = {summary['deepest_at_sigma_m2']}); "
            "mean accuracy per sigma_m2: "
            + ", ".join(f"{a:.2f}" for a in summary["mean_accuracy_by_sigma_m2"])
            + "."
        )
        if surrogate == "deterministic":
            rows = rows_by_panel[(dataset, surrogate)]
            keys = ["train_accuracy", "binary_accuracy", *[f"ensemble_{n}" for n in s["samples"]]]
            means = {k: float(np.mean([r[k] for r in rows])) for k in keys}
            lines.append(
                f"[{dataset}, binary counterparts] mean accuracy over the grid: surrogate "
                f"{means['train_accuracy']:.2f}, deterministic binary {means['binary_accuracy']:.2f}, "
                + ", ".join(f"{n} samples {means[f'ensemble_{n}']:.2f}" for n in s["samples"])
                + " (Stamatescu et al. 2019: more samples approach the surrogate; a single deterministic binary "
                "network resembles one sample)."
            )
    lines.append(f"({seconds:.0f} s)")
    return "\n".join(lines)


def experiment(
    size="default",
    dataset=None,
    data_path=None,
    seed=0,
    progress_bar=True,
    kappa=TANH_KAPPA,
    threshold=None,
    **overrides,
) -> ExperimentResult:
    """Training accuracy of surrogate MLPs over depth x sigma_m2 against 3 xi_c and 6 xi_c
    (Stamatescu et al. (2019), Fig. 2), and of the deterministic surrogate's binary counterparts.

    ``size``: "test" (seconds), "quick" (minutes) or "default" (under 20 minutes on 2 CPU cores);
    ``dataset``: one of "digits", "mnist1d", "mnist" (needs ``data_path``), or None for the
    size's datasets (default: digits and MNIST-1D); ``kappa``: of the deterministic surrogate's
    phi = erf(kappa h); ``threshold``: the training accuracy of a trained cell, or None for
    half-way from chance to the best cell of each panel (so that a harder dataset, e.g.
    MNIST-1D within the small budget, is judged on its own scale); ``overrides``: any setting of
    `SIZES` (e.g. ``depths=(5, 50)``).

    Example:
        >>> result = experiment(size="test", progress_bar=False)      # doctest: +SKIP
        >>> result.summary["digits/deterministic"]["max_trained_depth"]  # doctest: +SKIP
    """
    import tensorflow as tf

    s = pick_size(SIZES, size, overrides)
    datasets = s["datasets"] if dataset is None else (dataset,)
    for name in datasets:
        if name not in DATASETS:
            raise ValueError(f"dataset must be one of {list(DATASETS)}, got {name!r}")
    for surrogate in s["surrogates"]:
        if surrogate not in SURROGATES:
            raise ValueError(f"surrogates must be drawn from {list(SURROGATES)}, got {surrogate!r}")
    theory("deterministic", 0.5, kappa)  # validates kappa
    if threshold is not None and not CHANCE < float(threshold) < 1.0:
        raise ValueError(f"threshold must be None or lie in (0.1, 1), got {threshold!r}")
    timer = Timer()
    tf.random.set_seed(seed)
    total = len(datasets) * len(s["surrogates"]) * len(s["depths"]) * len(s["sigma_m2"])
    bar = progress(total, "trainability", progress_bar)
    rows_by_panel, summaries = {}, {}
    fig, axes = new_figure(ncols=len(s["surrogates"]), nrows=len(datasets))
    mesh = None
    try:
        for i, name in enumerate(datasets):
            data, _ = load_dataset(name, data_path, n_train=s["n_train"], seed=seed)
            for j, surrogate in enumerate(s["surrogates"]):
                rows = _train_grid(name, data, surrogate, s, kappa, seed, bar)
                rows_by_panel[(name, surrogate)] = rows
                summary = _panel_summary(rows, s, surrogate, kappa, threshold)
                summaries[(name, surrogate)] = summary
                label = f"kappa={kappa:.3g}" if surrogate == "deterministic" else "tanh neurons"
                mesh = _draw(
                    axes[i, j], summary, s, surrogate, kappa, f"{name}: {surrogate} ({label})"
                )
    finally:
        bar.close()
    fig.colorbar(mesh, ax=axes, shrink=0.6, label="training accuracy")
    figures = {"heatmap": fig}
    if "deterministic" in s["surrogates"]:
        figures["binary"] = _binary_figure(rows_by_panel, s)
    rows = [row for panel in rows_by_panel.values() for row in panel]
    verdict = _verdict(summaries, rows_by_panel, s, threshold, timer.seconds)
    summary = {
        f"{d}/{g}": {k: v for k, v in value.items() if k != "grid"}
        for (d, g), value in summaries.items()
    }
    summary["threshold"] = threshold
    panels = list(summaries.values())
    fitted = [p["fitted_n"] for p in panels if math.isfinite(p["fitted_n"])]
    headline = (
        f"sigma_m2 -> 1 trains deepest in {sum(p['largest_sigma_m2_trains_deepest'] for p in panels)}"
        f" of {len(panels)} panels (paper: yes); measured L_max / xi_c "
        + (f"{min(fitted):.1f} to {max(fitted):.1f}" if fitted else "not measurable")
        + " (paper: ~3)"
    )
    return ExperimentResult(
        "trainability", rows, figures, verdict, summary, timer.seconds, headline
    )


def add_parser(subparsers):
    """Add the ``trainability`` command to an argparse ``subparsers`` (for ``bnn-init
    trainability`` and ``bnn-init reproduce trainability``); it runs `run`."""
    parser = subparsers.add_parser(
        "trainability",
        help="train surrogate MLPs over depth x sigma_m2 against xi_c (Stamatescu Fig. 2)",
        description=plain_help(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_size_option(parser, SIZES)
    add_data_options(parser, None, "one dataset (default: digits and mnist1d)")
    parser.add_argument(
        "--surrogate",
        choices=SURROGATES,
        action="append",
        default=None,
        help="train only this surrogate (repeatable; default: both)",
    )
    parser.add_argument(
        "--kappa",
        type=float,
        default=TANH_KAPPA,
        help="phi = erf(kappa h) of the deterministic surrogate (default sqrt(pi)/2)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    add_out_option(parser, "runs/trainability")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Run `experiment` from parsed ``args``; write CSV, PNGs and the verdict into ``args.out``."""
    check_data_options(args)
    out = output_folder(args.out)  # refused before minutes of work, not after
    overrides = {"surrogates": tuple(args.surrogate)} if args.surrogate else {}
    result = experiment(
        size=args.size,
        dataset=args.dataset,
        data_path=args.data_path,
        seed=args.seed,
        progress_bar=not args.no_progress,
        kappa=args.kappa,
        **overrides,
    )
    paths = result.save(out)
    print(result.verdict)
    announce(paths)
    return 0
