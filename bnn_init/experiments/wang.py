"""Wang (2018): hard-tanh binarised MLPs at and away from the edge of chaos
(``bnn-init reproduce wang-bnn``).

Three parts, all rows of one `ExperimentResult` (column ``table``), each trained for a number of
updates stated beside the paper's (Wang trains 4 MNIST epochs at batch 64, 3,748 updates, for the
Tables and 1 epoch at batch 16, 3,750 updates, for Figs. 7-8):

* Table 1 (Wang 2018, Table 1), width 300, 10 layers, batch 64, Adam: case 1 in two readings,
  ``sign_literal`` (Larq's ``ste_sign`` on weights and activations, Glorot kernels, no
  normalisation: what Wang's sec. 3.1 describes, whose pre-activations grow as sqrt(width) per
  layer, Wang 2018, eq. 16) and ``sign_batchnorm`` (BatchNorm before every sign, readout included:
  the BinaryNet pipeline of Wang's Fig. 2, Courbariaux et al. 2016); case 2, ``hard_tanh``
  (B_r = `bnn_init.quantizers.HardTanh`, r = 1, critical `CriticalHardTanhNormal` kernels); and
  ``float`` (float Glorot kernels, hard-tanh activations: Wang's "DNN"). At r = 1 the critical
  kernels have |W| << r, so B_r(W) = W: case 2 computes the function of a float network with
  those kernels until training pushes weights past r.
* Table 2 (Wang 2018, Table 2): r = 0.1 vs r = 1, each at its critical sigma_w2 (r^2 at
  sigma_b2 = 0, errata 1-2), plus r = 0.1 at the sigma_w = 0.01 printed in Table 2; with Adam and
  with plain SGD at the learning rate that trains r = 1 best (tuned on a short run). Wang's
  mechanism for freezing at small r is the 1/r factor of the gradient under SGD (Wang 2018,
  eq. 15), which Adam's per-weight step normalises away.
* the depth grid (Wang 2018, Figs. 7-8): training accuracy over depth x sigma_w2 for the r = 1
  network (``plain``; a float hard-tanh MLP at initialisation, see above), for the genuinely
  binary ``sign_batchnorm`` network, and optionally with BatchNorm and dropout after every hidden
  layer (``batchnorm_dropout``) and one dropout after the first (``dropout_first``). The measured
  deepest trained depth L_max of each sigma_w2 column is set against the correlation depth
  xi_c: `bnn_init.theory.HardTanhBNN` for the r = 1 networks (it describes the plain one only) and
  `bnn_init.theory.SignNet` for the sign network (xi_c = 2.2 at every sigma_w2: the sign of a
  kernel does not depend on its scale; BatchNorm is not in the theory).

Kernels of binarised layers are N(0, r^2 sigma_w2 / fan_in), seen through B_r (Wang 2018,
eq. 7); biases are zero (sigma_b2 = 0). The first layer's input (the data) is not binarised,
every later layer's is.
"""

from __future__ import annotations

import math

import numpy as np

from bnn_init.primitives import Timer, new_figure, pick_size, progress
from bnn_init.primitives.checks import check_choice
from bnn_init.theory import HardTanhBNN, SignNet

from .boundary import boundary, one_decimal
from .data import load_dataset
from .heatmap import heatmap_figure
from .loop import train, train_depth_grid
from .result import ExperimentResult, span

__all__ = ["CASES", "GRID_VARIANTS", "SIZES", "binary_mlp", "experiment"]

CASES = ("sign_literal", "sign_batchnorm", "hard_tanh", "float")
GRID_VARIANTS = ("plain", "sign_batchnorm", "batchnorm_dropout", "dropout_first")
# Wang 2018, Table 1 (MNIST, width 300, 10 layers, batch 64): training accuracy after epochs 1-4;
# his case 1 ("sign") is the row both sign readings are compared with.
PAPER_TABLE1 = {
    "sign": (0.8361, 0.9330, 0.9234, 0.9473),
    "hard_tanh": (0.9421, 0.9516, 0.9560, 0.9609),
    "float": (0.8990, 0.9379, 0.9526, 0.9630),
}
PAPER_TABLE2 = {"r=0.1": (0.0974,) * 4, "r=1": PAPER_TABLE1["hard_tanh"]}
PAPER_TABLE_UPDATES = 4 * (60_000 // 64)  # 4 MNIST epochs at batch 64
PAPER_GRID_UPDATES = 60_000 // 16  # 1 MNIST epoch at batch 16
CHANCE = 0.1
TABLE2_CONFIGS = {  # label -> (r, sigma_w2)
    "r=1 (critical)": (1.0, HardTanhBNN.critical(r=1.0).sigma_w2),
    "r=0.1 (critical)": (0.1, HardTanhBNN.critical(r=0.1).sigma_w2),
    "r=0.1, sigma_w=0.01 (as printed)": (0.1, 1e-4),
}

DEFAULT_SIZE = dict(
    width=300,
    depth=10,
    batch_size=64,
    n_train=None,
    updates=PAPER_TABLE_UPDATES // 2,  # half the paper's (2 epochs' worth), for the time budget
    records=4,  # training accuracy recorded 4 times, as Wang's 4 epochs
    learning_rate=1e-3,  # Adam
    sgd_learning_rates=(0.01, 0.03, 0.1, 0.3),
    tune_updates=300,
    grid_depths=(5, 10, 20, 35, 50, 70),
    grid_sigma_w2=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0),
    grid_variants=("plain", "sign_batchnorm"),
    grid_updates=PAPER_GRID_UPDATES // 2,  # half the paper's, for the time budget
    grid_batch_size=16,
    grid_width=64,
    dropout_rate=0.1,
    jit_compile=True,  # XLA for the depth grid: compiling costs up to a minute per depth
)
SIZES = {
    "quick": dict(  # the tests run it: ordered, critical and chaotic columns, short budgets
        DEFAULT_SIZE,
        width=64,
        depth=6,
        updates=300,
        records=2,
        sgd_learning_rates=(0.03, 0.3),
        tune_updates=100,
        grid_depths=(5, 15, 30),
        grid_sigma_w2=(0.25, 1.0, 4.0),
        grid_updates=250,
        grid_variants=("plain",),
        grid_width=32,
        jit_compile=False,
    ),
    "default": DEFAULT_SIZE,
}


def binary_mlp(depth, width, n_in, n_out, *, case="hard_tanh", r=1.0, sigma_w2=None, seed=0):
    """An MLP of ``depth`` hidden layers of Larq ``QuantDense`` and a readout, one of `CASES`.

    ``"sign_literal"``: ``ste_sign`` weights and activations, Glorot kernels clipped to [-1, 1]
    (Larq's default for sign kernels), no normalisation (Wang 2018, sec. 3.1);
    ``"sign_batchnorm"``: the same with BatchNorm before every sign and on the logits (BinaryNet,
    Courbariaux et al. 2016); ``"hard_tanh"``: ``HardTanh(r)`` weights and activations, kernels
    N(0, r^2 sigma_w2 / fan_in), ``sigma_w2=None`` meaning `CriticalHardTanhNormal`;
    ``"float"``: float kernels (Glorot uniform, or N(0, sigma_w2 / fan_in)) and hard-tanh
    activations. (The depth grid trains its networks side by side with
    `bnn_init.experiments.stacked.stacked_mlp`.)
    """
    import larq as lq
    import tensorflow as tf

    from bnn_init.initializers import CriticalHardTanhNormal
    from bnn_init.quantizers import HardTanh

    check_choice("case", case, CASES)
    sign = case.startswith("sign")
    layers = [tf.keras.Input((n_in,))]
    for i in range(depth + 1):
        layer_seed = seed * 10_007 + i
        if sign or (case == "float" and sigma_w2 is None):
            kernel_init = tf.keras.initializers.GlorotUniform(layer_seed)
        elif sigma_w2 is None:
            kernel_init = CriticalHardTanhNormal(r=r, seed=layer_seed)
        else:
            kernel_init = tf.keras.initializers.VarianceScaling(
                sigma_w2 * (r**2 if case == "hard_tanh" else 1.0),
                "fan_in",
                "untruncated_normal",
                seed=layer_seed,
            )
        quantizer = "ste_sign" if sign else HardTanh(r)
        layers.append(
            lq.layers.QuantDense(
                n_out if i == depth else width,
                input_quantizer=None if i == 0 else quantizer,
                kernel_quantizer=None if case == "float" else quantizer,
                kernel_initializer=kernel_init,
                kernel_constraint="weight_clip" if sign else None,
                use_bias=case != "sign_batchnorm",  # BatchNorm's offset takes its place
            )
        )
        if case == "sign_batchnorm":
            layers.append(tf.keras.layers.BatchNormalization())
    return tf.keras.Sequential(layers)


def _optimizer(name, learning_rate):
    import tensorflow as tf

    return {"adam": tf.keras.optimizers.Adam, "sgd": tf.keras.optimizers.SGD}[name](learning_rate)


def _train_table_network(data, s, *, case, seed, r=1.0, sigma_w2=None, optimizer, learning_rate):
    """Train one ``binary_mlp`` of the Tables' size for ``s["updates"]`` updates; its history
    (``s["records"]`` evenly spaced records)."""
    import tensorflow as tf

    x, y = data
    tf.keras.utils.set_random_seed(seed)
    model = binary_mlp(
        s["depth"],
        s["width"],
        x.shape[1],
        int(y.max()) + 1,
        case=case,
        r=r,
        sigma_w2=sigma_w2,
        seed=seed,
    )
    return train(
        model,
        data,
        steps=s["updates"],
        batch_size=s["batch_size"],
        optimizer=_optimizer(optimizer, learning_rate),
        seed=seed,
        eval_every=math.ceil(s["updates"] / s["records"]),
    )


def _table_rows(table, label, history, *, optimizer, learning_rate, r, sigma_w2):
    return [
        {
            "table": table,
            "config": label,
            "optimizer": optimizer,
            "learning_rate": learning_rate,
            "updates": record["step"],
            "paper_updates": PAPER_TABLE_UPDATES,
            "r": r,
            "sigma_w2": sigma_w2,
            "train_accuracy": record["train_accuracy"],
            "loss": record["loss"],
        }
        for record in history
    ]


def experiment(
    size="default",
    dataset="digits",
    data_path=None,
    seed=0,
    progress_bar=True,
    threshold=0.5,
    **overrides,
) -> ExperimentResult:
    """Run Wang's Tables 1-2 and Figs. 7-8 (see the module docstring); one result with all rows
    (column ``table`` = "table1", "table2", "sgd_tuning" or "grid"), a figure and the verdict.
    A grid cell counts as trained at training accuracy >= ``threshold``.

    Example:
        >>> res = experiment(size="quick", progress_bar=False)  # doctest: +SKIP
        >>> sorted(res.summary["table1"])  # doctest: +SKIP
        ['float', 'hard_tanh', 'sign_batchnorm', 'sign_literal']
    """
    s = pick_size(SIZES, size, overrides)
    for variant in s["grid_variants"]:
        check_choice("grid_variants", variant, GRID_VARIANTS)
    timer = Timer()
    data, _ = load_dataset(dataset, data_path, n_train=s["n_train"], seed=seed)
    n_tables = len(CASES) + 2 * len(TABLE2_CONFIGS) - 1 + len(s["sgd_learning_rates"])
    n_grid = len(s["grid_variants"]) * len(s["grid_depths"])
    bar = progress(n_tables + n_grid, "wang-bnn", progress_bar)
    rows, history = [], {"table1": {}, "adam": {}, "sgd": {}}
    try:
        adam = dict(optimizer="adam", learning_rate=s["learning_rate"])
        for case in CASES:  # Table 1
            history["table1"][case] = _train_table_network(data, s, case=case, seed=seed, **adam)
            rows += _table_rows(
                "table1", case, history["table1"][case], r=1.0, sigma_w2=None, **adam
            )
            bar.update()
        sgd_rate = _tune_sgd(data, s, seed, rows, bar)
        for name, settings in (
            ("adam", adam),
            ("sgd", dict(optimizer="sgd", learning_rate=sgd_rate)),
        ):
            for label, (r, w2) in TABLE2_CONFIGS.items():  # Table 2
                if name == "adam" and r == 1.0:  # the same network as Table 1's hard_tanh
                    run = history["table1"]["hard_tanh"]
                else:
                    run = _train_table_network(
                        data, s, case="hard_tanh", seed=seed, r=r, sigma_w2=w2, **settings
                    )
                    bar.update()
                history[name][label] = run
                rows += _table_rows("table2", label, run, r=r, sigma_w2=w2, **settings)
        grid = {}
        for variant in s["grid_variants"]:  # Figs. 7-8
            grid_rows, grid[variant] = _depth_grid(data, s, seed, variant, threshold, bar)
            rows += grid_rows
    finally:
        bar.close()

    def accuracies(runs):
        return {label: [record["train_accuracy"] for record in run] for label, run in runs.items()}

    summary = {
        "updates": s["updates"],
        "paper_updates": PAPER_TABLE_UPDATES,
        "grid_updates": s["grid_updates"],
        "paper_grid_updates": PAPER_GRID_UPDATES,
        "table1": {case: acc[-1] for case, acc in accuracies(history["table1"]).items()},
        "table1_history": accuracies(history["table1"]),
        "table2": {name: accuracies(history[name]) for name in ("adam", "sgd")},
        "sgd_learning_rate": sgd_rate,
        "grid": grid,
        "threshold": threshold,
    }
    result = ExperimentResult(
        "wang_bnn", rows, {"wang": _figure(summary, s, dataset)}, summary=summary
    )
    result.seconds = timer.seconds
    result.verdict = _verdict(summary, s, dataset)
    result.headline = _headline(summary)
    return result


def _tune_sgd(data, s, seed, rows, bar):
    """The plain-SGD learning rate of `SIZES` ``sgd_learning_rates`` under which the critical
    r = 1 network reaches the highest training accuracy in ``tune_updates`` updates."""
    short = dict(s, updates=s["tune_updates"], records=1)
    final = {}
    for rate in s["sgd_learning_rates"]:
        run = _train_table_network(
            data, short, case="hard_tanh", seed=seed, optimizer="sgd", learning_rate=rate
        )
        final[rate] = run[-1]["train_accuracy"]
        rows += _table_rows(
            "sgd_tuning",
            "r=1 (critical)",
            run,
            optimizer="sgd",
            learning_rate=rate,
            r=1.0,
            sigma_w2=None,
        )
        bar.update()
    return max(final, key=final.get)


def _grid_theory_xi(variant, sigma_w2):
    """xi_c per sigma_w2 column: the sign network's (scale-free) or the r = 1 BNN's."""
    if variant == "sign_batchnorm":
        return np.full(len(sigma_w2), SignNet(sigma_b2=0.0).xi_c)
    return np.asarray(HardTanhBNN(r=1.0, sigma_w2=sigma_w2, sigma_b2=0.0).xi_c, dtype=float)


def _depth_grid(data, s, seed, variant, threshold, bar):
    """Figs. 7-8: one grid variant over depth x sigma_w2 (one stacked model per depth); its rows
    and the measured boundary per column against 6 xi_c."""
    import tensorflow as tf

    from bnn_init.quantizers import HardTanh

    from .stacked import stacked_mlp

    x, y = data
    sigma_w2 = np.asarray(s["grid_sigma_w2"], dtype=float)
    sign = variant == "sign_batchnorm"
    accuracy, loss = train_depth_grid(
        data,
        s["grid_depths"],
        lambda depth, model_seed, columns: stacked_mlp(
            depth,
            s["grid_width"],
            x.shape[1],
            int(y.max()) + 1,
            sigma_w2[columns],  # kernels N(0, r^2 sigma_w2 / fan_in) at r = 1
            quantizer="ste_sign" if sign else HardTanh(1.0),
            batchnorm=variant in ("sign_batchnorm", "batchnorm_dropout"),
            readout_batchnorm=sign,
            dropout_rate=s["dropout_rate"] if variant.endswith(("dropout", "first")) else 0.0,
            dropout_layers="first" if variant == "dropout_first" else "all",
            seed=model_seed,
        ),
        steps=s["grid_updates"],
        batch_size=s["grid_batch_size"],
        optimizer=lambda: tf.keras.optimizers.Adam(s["learning_rate"]),
        seed=seed,
        bar=bar,
        label=variant,
        jit_compile=s["jit_compile"],
        n_columns=len(sigma_w2),
    )
    accuracy, loss = accuracy[0], loss[0]
    xi = _grid_theory_xi(variant, sigma_w2)
    found = boundary(s["grid_depths"], accuracy, xi, threshold)
    l_max = found["max_trained_depth"]
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isfinite(xi), l_max / xi, np.nan)  # xi_c = inf at criticality
    rows = [
        {
            "table": "grid",
            "config": variant,
            "updates": s["grid_updates"],
            "paper_updates": PAPER_GRID_UPDATES,
            "depth": depth,
            "r": 1.0,
            "sigma_w2": w2,
            "train_accuracy": accuracy[i, j],
            "loss": loss[i, j],
            "xi_c": xi[j],
            "l_max_over_xi_c": ratio[j],
        }
        for i, depth in enumerate(s["grid_depths"])
        for j, w2 in enumerate(sigma_w2)
    ]
    return rows, {
        "accuracy": accuracy.tolist(),
        "xi_c": xi.tolist(),
        "max_trained_depth": l_max.tolist(),
        "l_max_over_xi_c": ratio.tolist(),
        "censored": (l_max >= max(s["grid_depths"])).tolist(),
        "fitted_n": found["fitted_n"],
        "agreement": found["agreement"],
    }


def _grid_text(variant, g):
    """The boundary of one grid variant in words: per-column L_max (and / xi_c), or the spread."""
    l_max, ratios = g["max_trained_depth"], g["l_max_over_xi_c"]
    if variant == "sign_batchnorm":
        return f"sign + BatchNorm L_max {span(l_max)} over sigma_w2"
    inside = [
        q
        for q, c, d in zip(ratios, g["censored"], l_max, strict=True)
        if not c and d > 0 and math.isfinite(q)
    ]
    return (
        f"{variant} r = 1 L_max / xi_c median {one_decimal(g['fitted_n'])} "
        f"({len(inside)} of {len(ratios)} columns with the boundary inside the grid)"
    )


def _headline(summary):
    t1, adam, sgd = summary["table1"], summary["table2"]["adam"], summary["table2"]["sgd"]
    crit_small, crit_one = "r=0.1 (critical)", "r=1 (critical)"
    line = (
        f"Table 1 after {summary['updates']} updates (paper {summary['paper_updates']}): final "
        f"training accuracy hard-tanh B_r {t1['hard_tanh']:.2f}, sign + BatchNorm "
        f"{t1['sign_batchnorm']:.2f}, literal sign {t1['sign_literal']:.2f}, float "
        f"{t1['float']:.2f} (paper: 0.96, sign 0.95, float 0.96); Table 2, r = 0.1 vs r = 1 at "
        f"their critical sigma_w: Adam {adam[crit_small][-1]:.2f} vs {adam[crit_one][-1]:.2f}, "
        f"SGD (lr {summary['sgd_learning_rate']:g}) {sgd[crit_small][-1]:.2f} vs "
        f"{sgd[crit_one][-1]:.2f} (paper: 0.10 vs 0.96)"
    )
    if summary["grid"]:
        parts = [_grid_text(v, g) for v, g in summary["grid"].items()]
        line += (
            f"; depth grid after {summary['grid_updates']} updates (paper "
            f"{summary['paper_grid_updates']}): "
            + ", ".join(parts)
            + f" (theory: trainable to ~6 xi_c; sign network 6 xi_c = "
            f"{6 * SignNet(sigma_b2=0.0).xi_c:.0f} at every sigma_w2)"
        )
    return line


def _plot_runs(ax, every, runs, style="o-", name=None):
    """Training accuracy per record of each run ``{label: accuracies}`` (``every`` updates
    apart), run k in colour Ck; ``name`` (an optimiser) is added to the labels."""
    for k, (label, accs) in enumerate(runs.items()):
        steps = every * np.arange(1, len(accs) + 1)
        text = label if name is None else f"{label}, {name}"
        ax.plot(steps, accs, style, ms=3, color=f"C{k}", label=text)


def _label_history_axes(ax, title, s, summary):
    ax.axhline(CHANCE, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(f"updates (paper: {summary['paper_updates']})")
    ax.set_ylabel("training accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}: width {s['width']}, depth {s['depth']}", fontsize=8)
    ax.legend(fontsize=5)


def _figure(summary, s, dataset):
    variants = list(summary["grid"])
    fig, axes = new_figure(ncols=len(variants) + 2)
    every = math.ceil(s["updates"] / s["records"])
    _plot_runs(axes[0, 0], every, summary["table1_history"])
    _label_history_axes(axes[0, 0], "Table 1 (Adam)", s, summary)
    for name, style in (("adam", "o-"), ("sgd", "s--")):
        _plot_runs(axes[0, 1], every, summary["table2"][name], style, name)
    title = f"Table 2: Adam (solid), SGD lr {summary['sgd_learning_rate']:g} (dashed)"
    _label_history_axes(axes[0, 1], title, s, summary)
    w2 = np.asarray(s["grid_sigma_w2"], float)
    fine = np.geomspace(w2.min(), w2.max(), 300)
    mesh = None
    for k, variant in enumerate(variants):
        xi = _grid_theory_xi(variant, fine)
        mesh = heatmap_figure(
            axes[0, k + 2],
            s["grid_depths"],
            np.arange(len(w2)),
            summary["grid"][variant]["accuracy"],
            xlabel=r"$\sigma_w^2$",
            title=f"Figs. 7-8: {variant}, {s['grid_updates']} updates",
            curves=[("6 xi_c (theory)", np.interp(fine, w2, np.arange(len(w2))), 6 * xi, "w--")],
        )
        axes[0, k + 2].set_xticks(np.arange(len(w2)), [f"{v:g}" for v in w2], fontsize=7)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes[0, -1], label="training accuracy")
    fig.suptitle(f"Wang (2018) on {dataset}: binarised MLPs")
    return fig


def _verdict(summary, s, dataset):
    t1 = summary["table1_history"]
    lines = [
        f"wang-bnn ({dataset}); training accuracy after {summary['updates']} updates in "
        f"{s['records']} records (paper: {summary['paper_updates']} updates, 4 MNIST epochs; "
        "paper's per-epoch values in brackets):"
    ]
    for case, accs in t1.items():
        paper = PAPER_TABLE1["sign" if case.startswith("sign") else case]
        lines.append(
            f"  Table 1 {case:<14} {', '.join(f'{a:.3f}' for a in accs)}   "
            f"[{', '.join(f'{a:.3f}' for a in paper)}]"
        )
    final = summary["table1"]
    lines.append(
        "  case 2 (hard-tanh) vs case 1 (sign): "
        f"{final['hard_tanh']:.3f} vs literal {final['sign_literal']:.3f} and with BatchNorm "
        f"{final['sign_batchnorm']:.3f} (paper: 0.961 vs 0.947; the literal sign network without "
        "normalisation has pre-activations of standard deviation sqrt(width) and zero "
        "straight-through gradients, Wang 2018, eq. 16)"
    )
    for name in ("adam", "sgd"):
        rate = s["learning_rate"] if name == "adam" else summary["sgd_learning_rate"]
        for label, accs in summary["table2"][name].items():
            frozen = max(accs) < CHANCE + 0.1
            lines.append(
                f"  Table 2 {name} (lr {rate:g}) {label}: {', '.join(f'{a:.3f}' for a in accs)}"
                f" -> {'frozen' if frozen else 'learns'}"
            )
    lines.append(
        f"  (paper: r=0.1 frozen at 0.0974, r=1 learns; SGD learning rate tuned at r = 1 over "
        f"{list(s['sgd_learning_rates'])} in {s['tune_updates']} updates; erratum 2: Table 2's "
        "sigma_w=0.01 is a typo for the critical 0.1)"
    )
    for variant, g in summary["grid"].items():
        columns = ", ".join(
            f"{w2:g}: {d:g}"
            + (" (censored)" if c else "")
            + (f" = {q:.1f} xi_c" if d > 0 and math.isfinite(q) else "")
            for w2, d, q, c in zip(
                s["grid_sigma_w2"],
                g["max_trained_depth"],
                g["l_max_over_xi_c"],
                g["censored"],
                strict=True,
            )
        )
        note = {
            "plain": "",
            "sign_batchnorm": " (xi_c of the sign network without BatchNorm, 2.2 at every sigma_w2)",
        }.get(variant, " (theory describes the plain network only)")
        lines.append(
            f"  Figs. 7-8 {variant}, {summary['grid_updates']} updates (paper "
            f"{summary['paper_grid_updates']}): deepest trained L (acc >= "
            f"{summary['threshold']:g}) per sigma_w2: {columns}; trained <=> L <= 6 xi_c in "
            f"{100 * g['agreement']:.0f}% of cells{note}"
        )
    return "\n".join(lines)
