"""Schoenholz et al. (2017), secs. 4-5: depth scales decide which deep tanh networks train.

* `depth_experiment` (``bnn-init reproduce schoenholz-depth``, Schoenholz et al. 2017, Figs. 5-6): fully connected tanh
  networks over a depth x sigma_w2 grid (sigma_b2 = 0.05), training accuracy after a fixed number
  of steps, with the curves n xi_c (n = 1..6) of `bnn_init.theory.ContinuousNet` overlaid; then
  the same with dropout at keep rates rho = 0.99, 0.98, 0.94 (Keras ``Dropout(1 - rho)`` after
  every hidden layer), where xi_c stays finite at every sigma_w2 and so bounds the trainable depth.
  The paper finds networks trainable when L <~ 6 xi_c (sec. 5).
* `gradient_experiment` (``bnn-init reproduce schoenholz-gradients``, Schoenholz et al. 2017, Fig. 4): per-layer squared
  gradient norm ||dE/dW^l||^2 of a deep random tanh network against depth, and the depth scale of
  exponential fits to it against xi_grad = -1 / log chi_1 (Schoenholz et al. 2017, eq. 16).

Data: scikit-learn digits by default (MNIST-1D or a local MNIST with ``dataset=``), inputs
standardised. Optimiser: RMSProp (Schoenholz et al. 2017, Fig. 5d; plain SGD with ``optimizer="sgd"``).

Budget: the paper's (Fig. 5d): width 300, depths 10 to 300, 300 RMSProp steps at 1e-5; the
paper states no batch size, we use 16. Two seeds; a cell is trained when the seeds' mean training
accuracy reaches the threshold. A column is not trained deeper than its first failed depth (the
monotone boundary rule makes those cells irrelevant to L_max; ``prune=False`` trains them all).
The deep cells are the costly ones (on one CPU core about 0.1 s per network and layer for the 300
steps): without dropout the default run measured 65 of the 110 cells, 28 % of the full grid's
network-layers, and took about 9 minutes for its two seeds.
"""

from __future__ import annotations

import math

import numpy as np

from bnn_init.primitives import Timer, check_integer, new_figure, pick_size, progress
from bnn_init.theory import ContinuousNet

from .boundary import boundary, one_decimal
from .data import load_dataset
from .heatmap import heatmap_figure
from .loop import run_seed, train_depth_grid
from .result import ExperimentResult

__all__ = ["DEPTH_SIZES", "GRADIENT_SIZES", "depth_experiment", "gradient_experiment"]

SIGMA_B2 = 0.05  # Schoenholz et al. 2017, sec. 5
PAPER_UPDATES = 300  # Schoenholz et al. 2017, Fig. 5d: 300 RMSProp steps at lr 1e-5 on MNIST
PAPER_N = 6.0  # Schoenholz et al. 2017, sec. 5: "trainable when L <~ 6 xi_c"
PAPER_DROPOUT_MAX_DEPTH = (
    100  # Schoenholz et al. 2017, sec. 5: dropout limits the trainable depth to about L = 100
)

DEFAULT_DEPTH_SIZE = dict(
    depths=(10, 20, 30, 45, 60, 80, 100, 150, 200, 300),
    sigma_w2=(1.0, 1.25, 1.5, 1.65, 1.76, 1.9, 2.2, 2.5, 3.0, 3.5, 4.0),
    keep_rates=(0.99, 0.98, 0.94),
    width=300,
    steps=PAPER_UPDATES,
    batch_size=16,
    n_train=None,
    learning_rate=1e-5,
    seeds=2,  # each cell's training accuracy is the mean over the seeds
    prune=True,  # no cell deeper than its column's first failure is trained
    dropout_depths=(10, 20, 35, 50, 70, 100, 150),
    dropout_sigma_w2=(1.0, 1.25, 1.5, 1.76, 2.2, 3.0, 4.0),
)
DEPTH_SIZES = {
    "quick": dict(  # about 40 s on 2 cores
        DEFAULT_DEPTH_SIZE,
        depths=(10, 20, 50),
        sigma_w2=(0.6, 1.0, 1.4, 1.76, 2.5, 4.0),
        keep_rates=(0.94,),
        width=64,
        steps=200,
        batch_size=64,
        n_train=800,
        learning_rate=3e-4,
        seeds=1,
        dropout_depths=None,
        dropout_sigma_w2=None,
    ),
    "default": DEFAULT_DEPTH_SIZE,
}
GRADIENT_SIZES = {
    "quick": dict(depth=120, width=200, sigma_w2=(1.0, 1.2, 1.5, 2.2, 3.0, 4.0), examples=32),
    "default": dict(
        depth=240,
        width=500,
        sigma_w2=(1.0, 1.1, 1.2, 1.35, 1.5, 1.76, 2.1, 2.5, 3.0, 3.5, 4.0),
        examples=64,
    ),
}


def tanh_mlps(depth, width, n_in, n_out, sigma_w2, dropout_rate=0.0, seed=0):
    """One tanh network per value of ``sigma_w2``, stacked (`bnn_init.experiments.stacked`):
    ``depth`` hidden tanh layers of ``width`` units and a linear readout, weights
    N(0, sigma_w2 / fan_in), biases N(0, sigma_b2 = 0.05) (Schoenholz et al. 2017, sec. 2), ``Dropout(dropout_rate)``
    after every hidden layer when ``dropout_rate > 0`` (Schoenholz et al. 2017, sec. 3.1)."""
    from .stacked import stacked_mlp

    return stacked_mlp(
        depth,
        width,
        n_in,
        n_out,
        sigma_w2,
        bias_variance=SIGMA_B2,
        activation="tanh",
        dropout_rate=dropout_rate,
        seed=seed,
    )


def _optimizer(name, learning_rate):
    import tensorflow as tf

    if name == "rmsprop":
        return tf.keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return tf.keras.optimizers.SGD(learning_rate)
    raise ValueError(f"optimizer must be 'rmsprop' or 'sgd', got {name!r}")


def _panel(data, s, *, depths, sigma_w2, keep_rate, optimizer, seed, threshold, bar):
    """Train the (depth, sigma_w2) grid of one keep rate with each of ``s["seeds"]`` seeds (with
    ``s["prune"]``, no column deeper than its first failed depth); return the training
    accuracy[depth, sigma_w2] averaged over the seeds (NaN where not trained), the mean-field
    theory of its columns (`ContinuousNet`) and the rows (one per seed and trained cell)."""
    x, y = data
    _optimizer(optimizer, s["learning_rate"])  # a bad name fails before any training
    theory = ContinuousNet(
        phi="tanh", sigma_w2=np.asarray(sigma_w2), sigma_b2=SIGMA_B2, dropout_rate=1.0 - keep_rate
    )
    columns = np.asarray(sigma_w2, dtype=float)
    accuracy, loss = train_depth_grid(
        data,
        depths,
        lambda depth, model_seed, chosen: tanh_mlps(
            depth,
            s["width"],
            x.shape[1],
            int(y.max()) + 1,
            columns[chosen],
            dropout_rate=1.0 - keep_rate,
            seed=model_seed,
        ),
        steps=s["steps"],
        batch_size=s["batch_size"],
        optimizer=lambda: _optimizer(optimizer, s["learning_rate"]),
        seed=seed,
        bar=bar,
        label=f"rho={keep_rate:g}",
        seeds=s["seeds"],
        n_columns=len(columns),
        stop_below=threshold if s["prune"] else None,
    )
    rows = [
        {
            "keep_rate": keep_rate,
            "seed": run_seed(seed, rep),
            "depth": depth,
            "sigma_w2": w2,
            "train_accuracy": accuracy[rep, i, j],
            "final_loss": loss[rep, i, j],
            "updates": s["steps"],
            "paper_updates": PAPER_UPDATES,
            "xi_c": theory.xi_c[j],
            "chi1": theory.chi1[j],
            "depth_over_xi_c": depth / theory.xi_c[j],
        }
        for rep in range(s["seeds"])
        for i, depth in enumerate(depths)
        for j, w2 in enumerate(sigma_w2)
        if np.isfinite(accuracy[rep, i, j])
    ]
    return np.mean(accuracy, axis=0), theory, rows


def depth_experiment(
    size="default",
    dataset="digits",
    data_path=None,
    seed=0,
    progress_bar=True,
    optimizer="rmsprop",
    threshold=0.5,
    **overrides,
) -> ExperimentResult:
    """Training accuracy over depth x sigma_w2 for tanh networks, without and with dropout, against
    n xi_c (Schoenholz et al. (2017), Figs. 5-6).

    A cell counts as trained when its training accuracy, averaged over the size's ``seeds``,
    reaches ``threshold`` (chance is 0.1).
    Per sigma_w2 the measured maximum trainable depth L_max is the deepest trained cell; the
    verdict reports the median of L_max / xi_c over the columns whose boundary lies inside the
    grid (the paper's answer is 6), the fraction of the measured cells where "trained" agrees with
    L <= 6 xi_c, and with dropout the largest trained depth against the largest 6 xi_c over
    sigma_w2. With the size's ``prune``, cells deeper than their column's first failure are not
    measured (``summary["panels"][...]["measured_cells"]`` of ``"cells"``).

    Example:
        >>> res = depth_experiment(size="quick", progress_bar=False)  # doctest: +SKIP
        >>> res.summary["panels"]["rho=1"]["agreement"]  # doctest: +SKIP
        1.0
    """
    s = pick_size(DEPTH_SIZES, size, overrides)
    timer = Timer()
    data, _ = load_dataset(dataset, data_path, n_train=s["n_train"], seed=seed)
    panels = [(1.0, s["depths"], s["sigma_w2"])]
    panels += [
        (rho, s["dropout_depths"] or s["depths"], s["dropout_sigma_w2"] or s["sigma_w2"])
        for rho in s["keep_rates"]
    ]
    check_integer("seeds", s["seeds"])
    bar = progress(s["seeds"] * sum(len(d) for _, d, _ in panels), "schoenholz-depth", progress_bar)
    rows = []
    summary = {
        "updates": s["steps"],
        "paper_updates": PAPER_UPDATES,
        "learning_rate": s["learning_rate"],
        "optimizer": optimizer,
        "threshold": threshold,
        "seeds": s["seeds"],
        "width": s["width"],
        "batch_size": s["batch_size"],
        "pruned": bool(s["prune"]),
        "max_depth": max(max(d) for _, d, _ in panels),
        "panels": {},
    }
    fig, axes = new_figure(ncols=len(panels))
    try:
        for k, (rho, depths, sigma_w2) in enumerate(panels):
            grid, theory, panel_rows = _panel(
                data,
                s,
                depths=depths,
                sigma_w2=sigma_w2,
                keep_rate=rho,
                optimizer=optimizer,
                seed=seed,
                threshold=threshold,
                bar=bar,
            )
            rows += panel_rows
            xi = theory.xi_c
            found = boundary(depths, grid, xi, threshold, n=PAPER_N)
            l_max, n_fit, agreement = (
                found[key] for key in ("max_trained_depth", "fitted_n", "agreement")
            )
            fine = np.linspace(min(sigma_w2), max(sigma_w2), 200)
            xi_fine = ContinuousNet(
                phi="tanh", sigma_w2=fine, sigma_b2=SIGMA_B2, dropout_rate=1.0 - rho
            ).xi_c
            curves = [
                (f"{n} xi_c" if n in (1, 6) else None, fine, n * xi_fine, "w--" if n == 6 else "c:")
                for n in range(1, 7)
            ]
            curves = [(label or "_", cx, cy, st) for label, cx, cy, st in curves]
            mesh = heatmap_figure(
                axes[0, k],
                depths,
                sigma_w2,
                grid,
                xlabel=r"$\sigma_w^2$",
                title=("no dropout" if rho == 1.0 else f"dropout, keep rate rho={rho}")
                + f"\n{s['steps']} steps, width {s['width']}",
                curves=curves,
            )
            axes[0, k].plot(
                sigma_w2, np.where(l_max > 0, l_max, np.nan), "g^", ms=5, label="measured L_max"
            )
            sides = _sides(l_max, theory, max(depths))
            summary["panels"][f"rho={rho:g}"] = {
                "keep_rate": rho,
                "sigma_w2": list(sigma_w2),
                "max_trained_depth": l_max.tolist(),
                "xi_c": xi.tolist(),
                "censored_sigma_w2": [
                    w for w, d in zip(sigma_w2, l_max, strict=True) if d >= max(depths)
                ],
                "fitted_n": n_fit,
                "cells": grid.size,
                "measured_cells": int(np.isfinite(grid).sum()),
                **sides,
                "agreement": agreement,
                "measured_max_depth": float(l_max.max()),
                "predicted_max_depth": float(
                    PAPER_N * np.nanmax(np.where(np.isinf(xi), np.nan, xi))
                )
                if rho < 1.0
                else math.inf,
            }
        fig.colorbar(mesh, ax=axes[0, -1], label="training accuracy")
    finally:
        bar.close()
    fig.suptitle(f"Schoenholz et al. (2017) Figs. 5-6 on {dataset}: tanh nets, sigma_b2=0.05")
    result = ExperimentResult("schoenholz_depth", rows, {"heatmap": fig}, summary=summary)
    result.seconds = timer.seconds
    summary["ratio_ordered"] = summary["panels"]["rho=1"]["ratio_ordered"]
    summary["ratio_chaotic"] = summary["panels"]["rho=1"]["ratio_chaotic"]
    result.verdict = _depth_verdict(summary, dataset)
    result.headline = _depth_headline(summary)
    return result


def _sides(l_max, theory, max_depth):
    """Median L_max / xi_c over the columns whose boundary lies inside the grid, on the ordered
    (chi_1 < 1) and the chaotic (chi_1 > 1) side separately (NaN where no column has one);
    ``theory`` is the columns' `ContinuousNet`."""
    xi, chi1 = theory.xi_c, theory.chi1
    inside = (l_max > 0) & (l_max < max_depth) & np.isfinite(xi)
    out = {}
    for side, mask in (("ordered", chi1 < 1.0), ("chaotic", chi1 > 1.0)):
        chosen = inside & mask
        out[f"ratio_{side}"] = (
            float(np.median(l_max[chosen] / xi[chosen])) if chosen.any() else math.nan
        )
        out[f"columns_{side}"] = int(chosen.sum())
    return out


def _depth_headline(summary):
    panels = summary["panels"].values()
    plain = summary["panels"]["rho=1"]
    text = ", ".join(
        one_decimal(p["fitted_n"]) + f" (keep rate {p['keep_rate']:g})"
        for p in panels
        if p["keep_rate"] < 1.0
    )
    line = (
        f"after {summary['updates']} {summary['optimizer']} updates at lr "
        f"{summary['learning_rate']:g} (paper: {summary['paper_updates']} at 1e-5), width "
        f"{summary['width']} (paper: 300), batch {summary['batch_size']}, depths to "
        f"{summary['max_depth']} (paper: 300), {summary['seeds']} seed(s), "
        f"{plain['measured_cells']} of {plain['cells']} cells measured"
        + (" (the rest lie deeper than their column's first failure)" if summary["pruned"] else "")
        + ", measured trainable depth L_max / xi_c without "
        f"dropout {one_decimal(plain['ratio_ordered'])} on the ordered side "
        f"({plain['columns_ordered']} columns) and {one_decimal(plain['ratio_chaotic'])} on the "
        f"chaotic side ({plain['columns_chaotic']}), {len(plain['censored_sigma_w2'])} columns "
        f"censored at L = {summary['max_depth']}"
        + (f"; with dropout {text}" if text else "")
        + "; paper: L <~ 6 xi_c"
    )
    dropout = [p for p in panels if p["keep_rate"] < 1.0]
    if dropout:
        line += "; with dropout the deepest trained network vs the theory's largest 6 xi_c: " + (
            ", ".join(
                f"{p['measured_max_depth']:g} vs {p['predicted_max_depth']:.0f}" for p in dropout
            )
        )
    return line


def _depth_verdict(summary, dataset):
    lines = [
        f"schoenholz-depth ({dataset}), {summary['updates']} {summary['optimizer']} updates at lr "
        f"{summary['learning_rate']:g}, batch {summary['batch_size']}, width {summary['width']} "
        f"(paper: {summary['paper_updates']} RMSProp steps at 1e-5, width 300, depths to 300); a "
        f"cell counts as trained at training accuracy (mean over {summary['seeds']} seed(s)) >= "
        f"{summary['threshold']:g}, its column's L_max is the depth up to which every cell trained"
        + (
            "; no cell deeper than its column's first failure is trained"
            if summary["pruned"]
            else ""
        )
        + ":"
    ]
    for name, p in summary["panels"].items():
        n = p["fitted_n"]
        n_text = f"{n:.1f}" if math.isfinite(n) else "n/a (no boundary inside the grid)"
        line = (
            f"  {name}: measured L_max / xi_c = {n_text} (ordered side "
            f"{one_decimal(p['ratio_ordered'])}, chaotic side {one_decimal(p['ratio_chaotic'])}; "
            f"paper: L <~ {PAPER_N:g} xi_c); trained <=> L <= 6 xi_c holds in "
            f"{100 * p['agreement']:.0f}% of the {p['measured_cells']} measured cells (of "
            f"{p['cells']}); censored (trained at the deepest L) at "
            f"sigma_w2 = {p['censored_sigma_w2']}"
        )
        if p["keep_rate"] < 1.0:
            line += (
                f"; deepest trained network L = {p['measured_max_depth']:g} vs theory's "
                f"max 6 xi_c = {p['predicted_max_depth']:.0f} (paper: about "
                f"{PAPER_DROPOUT_MAX_DEPTH} on MNIST)"
            )
        lines.append(line)
    return "\n".join(lines)


# ------------------------------------------------------------------ gradients (Schoenholz et al. 2017, Fig. 4)


def layer_gradient_norms(model, x, y):
    """Per-example squared gradient norms ||dE_a/dW^l||^2 = ||delta^l_a||^2 ||x^(l-1)_a||^2 of every
    layer of stacked tanh networks (`tanh_mlps`, Schoenholz et al. 2017, eq. 14), averaged over the examples;
    cross-entropy loss. Returns ``norms[layer, network]``."""
    import tensorflow as tf

    from .stacked import StackedDense

    dense = [layer for layer in model.layers if isinstance(layer, StackedDense)]
    inputs, pre = [], []
    with tf.GradientTape() as tape:
        h = tf.convert_to_tensor(x)
        for layer in dense:
            inputs.append(h)
            z = layer.preactivation(h)
            tape.watch(z)
            pre.append(z)
            h = layer.activation(z)
        labels = tf.broadcast_to(tf.reshape(y, (-1, 1)), tf.shape(h)[:-1])
        loss = tf.reduce_sum(
            tf.keras.losses.sparse_categorical_crossentropy(labels, h, from_logits=True)
        )
    deltas = tape.gradient(loss, pre)
    norms = []
    for delta, a in zip(deltas, inputs, strict=True):
        a2 = tf.reduce_sum(a**2, axis=-1)
        a2 = a2[:, None] if a2.shape.rank == 1 else a2  # the data, shared by all networks
        norms.append(tf.reduce_mean(tf.reduce_sum(delta**2, axis=-1) * a2, axis=0))
    return np.array([n.numpy() for n in norms])


def fit_depth_scale(norms, skip=0.1):
    """Depth scale of the exponential ||dE/dW^l||^2 ~ exp(l / xi) (Schoenholz et al. 2017, eq. 16): 1 / slope of a
    least-squares line through log norms, leaving out ``skip`` of the layers at both ends
    (the transient of q^l and the readout). Positive: gradients vanish towards the input."""
    norms = np.asarray(norms, dtype=float)
    n = len(norms)
    lo, hi = int(skip * n), n - int(skip * n)
    layers = np.arange(n)[lo:hi]
    slope = np.polyfit(layers, np.log(norms[lo:hi]), 1)[0]
    return math.inf if slope == 0 else 1.0 / slope


def gradient_experiment(
    size="default", dataset="digits", data_path=None, seed=0, progress_bar=True, **overrides
) -> ExperimentResult:
    """Per-layer squared gradient norms of deep random tanh networks and their fitted depth scale
    against xi_grad = -1 / log chi_1 (Schoenholz et al. (2017), Fig. 4, eqs. 15-16).

    The verdict gives, for the sigma_w2 whose |xi_grad| is below a third of the depth (where an
    exponential is measurable), the median ratio of measured to predicted depth scale and whether
    the sign (vanishing in the ordered phase, exploding in the chaotic one) matches everywhere.
    All sigma_w2 are one stacked network and one backward pass, so ``progress_bar`` (kept for the
    signature every experiment shares) has nothing to show.
    """
    import tensorflow as tf

    s = pick_size(GRADIENT_SIZES, size, overrides)
    timer = Timer()
    (x, y), _ = load_dataset(dataset, data_path, seed=seed)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(y), s["examples"], replace=False)
    x, y = x[pick], y[pick]
    sigma_w2 = np.asarray(s["sigma_w2"], dtype=float)
    tf.keras.utils.set_random_seed(seed)
    model = tanh_mlps(s["depth"], s["width"], x.shape[1], 10, sigma_w2, seed=seed)
    norms = layer_gradient_norms(model, x, y)[:-1]  # hidden layers (the readout is apart)
    theory = ContinuousNet(phi="tanh", sigma_w2=sigma_w2, sigma_b2=SIGMA_B2)
    curves = {float(w2): norms[:, j] for j, w2 in enumerate(sigma_w2)}
    rows = [
        {
            "sigma_w2": w2,
            "layer": layer,
            "grad_norm2": value,
            "xi_grad": theory.xi_grad[j],
            "measured_xi": fit_depth_scale(curves[w2]),
        }
        for j, w2 in enumerate(curves)
        for layer, value in enumerate(curves[w2], start=1)
    ]
    # gradients of the untrained network (Fig. 4 measures them at initialisation)
    summary = {"updates": 0, "paper_updates": 0, **_gradient_summary(curves, s["depth"])}
    fig = _gradient_figure(curves, summary, s)
    result = ExperimentResult("schoenholz_gradients", rows, {"gradients": fig}, summary=summary)
    result.seconds = timer.seconds
    result.verdict = _gradient_verdict(summary, s, dataset)
    measurable = sum(p["measurable"] for p in summary["points"])
    result.headline = (
        "in the untrained network (as the paper's Fig. 4), fitted gradient depth scale / "
        f"theory's xi_grad: median {summary['median_ratio']:.2f} over "
        f"{measurable} sigma_w2 from ordered to chaotic (vanishing vs exploding: "
        f"{'as predicted' if summary['signs_agree'] else 'NOT as predicted'})"
    )
    return result


def _gradient_summary(curves, depth):
    points = []
    for w2, norms in curves.items():
        theory = ContinuousNet(phi="tanh", sigma_w2=w2, sigma_b2=SIGMA_B2).xi_grad
        measured = fit_depth_scale(norms)
        points.append(
            {
                "sigma_w2": w2,
                "xi_grad": theory,
                "measured_xi": measured,
                "measurable": abs(theory) < depth / 3,
            }
        )
    good = [p for p in points if p["measurable"]]
    ratios = [p["measured_xi"] / p["xi_grad"] for p in good]
    return {
        "points": points,
        "median_ratio": float(np.median(ratios)) if ratios else math.nan,
        "signs_agree": all(np.sign(p["measured_xi"]) == np.sign(p["xi_grad"]) for p in good),
    }


def _gradient_figure(curves, summary, s):
    from matplotlib import colormaps

    fig, axes = new_figure(ncols=2)
    cmap = colormaps["coolwarm"]
    lo, hi = min(curves), max(curves)
    for w2, norms in curves.items():
        axes[0, 0].semilogy(
            np.arange(1, len(norms) + 1),
            norms,
            color=cmap((w2 - lo) / max(hi - lo, 1e-12)),
            lw=1,
            label=f"{w2:g}",
        )
    axes[0, 0].set_xlabel("layer l")
    axes[0, 0].set_ylabel(r"$\|\nabla_{W^l} E\|_2^2$")
    axes[0, 0].set_title(f"(a) random tanh net, L={s['depth']}, N={s['width']}", fontsize=9)
    axes[0, 0].legend(title=r"$\sigma_w^2$", fontsize=6, ncol=2)
    fine = np.linspace(lo, hi, 300)
    theory = np.abs(
        [ContinuousNet(phi="tanh", sigma_w2=w, sigma_b2=SIGMA_B2).xi_grad for w in fine]
    )
    axes[0, 1].semilogy(fine, theory, "k--", label=r"theory $|\xi_\nabla|$")
    pts = summary["points"]
    axes[0, 1].semilogy(
        [p["sigma_w2"] for p in pts], [abs(p["measured_xi"]) for p in pts], "ro", label="measured"
    )
    axes[0, 1].set_xlabel(r"$\sigma_w^2$")
    axes[0, 1].set_ylabel("gradient depth scale")
    axes[0, 1].set_ylim(0.5, 10 * s["depth"])
    axes[0, 1].set_title("(b) fitted depth scale vs theory", fontsize=9)
    axes[0, 1].legend(fontsize=7)
    fig.suptitle("Schoenholz et al. (2017) Fig. 4: gradients of deep random tanh networks")
    return fig


def _gradient_verdict(summary, s, dataset):
    lines = [f"schoenholz-gradients ({dataset}, depth {s['depth']}, width {s['width']}):"]
    for p in summary["points"]:
        mark = "" if p["measurable"] else "  (|xi_grad| > depth/3: too flat to fit)"
        lines.append(
            f"  sigma_w2={p['sigma_w2']:<5g} xi_grad={p['xi_grad']:9.2f}  measured "
            f"{p['measured_xi']:9.2f}{mark}"
        )
    lines.append(
        f"  measured / predicted depth scale: median {summary['median_ratio']:.2f} (paper: "
        f"'good quantitative agreement'); vanishing in the ordered and exploding in the chaotic "
        f"phase: {'yes' if summary['signs_agree'] else 'NO'}"
    )
    return "\n".join(lines)
