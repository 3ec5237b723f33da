"""Wang (2018): hard-tanh binarised MLPs at and away from the edge of chaos
(``bnn-init reproduce wang-bnn``).

Three parts, all rows of one `ExperimentResult` (column ``table``):

* Table 1 (Wang 2018, Table 1): case 1 (weights and activations binarised by Sign, Larq's
  ``ste_sign``) vs case 2 (B_r = `bnn_init.quantizers.HardTanh` with r = 1 and the critical
  `bnn_init.initializers.CriticalHardTanhNormal`) vs a float network with hard-tanh activations
  and Glorot kernels ("DNN"); training accuracy after each epoch. Note that at r = 1 the critical
  kernels have |W| << r, so B_r(W) = W: case 2 computes the same function as a float network
  with those kernels until training pushes weights past r.
* Table 2 (Wang 2018, Table 2): r = 0.1 vs r = 1, each at its critical sigma_w2 (r^2 at sigma_b2 = 0,
  errata 1-2), plus r = 0.1 at the sigma_w = 0.01 printed in Table 2; Wang reports that
  learning freezes for small r.
* the depth grid (Wang 2018, Figs. 7-8): training accuracy over depth x sigma_w2 for the r = 1 BNN, plain,
  with BatchNorm and dropout after every hidden layer, and with one dropout after the first hidden
  layer, against the trainable depth 6 xi_c of `bnn_init.theory.HardTanhBNN` (which describes the
  plain network only: neither BatchNorm nor dropout is in Wang's theory).

Kernels of binarised layers are N(0, r^2 sigma_w2 / fan_in), seen through B_r (Wang 2018, eq. 7); biases
are zero (sigma_b2 = 0). The first layer's input (the data) is not binarised, every later layer's is.
Optimiser: Adam (as BinaryNet, Wang 2018, ref. [13]).
"""

from __future__ import annotations

import math

import numpy as np

from bnn_init.primitives import Timer, new_figure, pick_size, progress
from bnn_init.primitives.checks import check_choice
from bnn_init.theory import HardTanhBNN

from .boundary import boundary, one_decimal
from .data import load_dataset
from .heatmap import heatmap_figure
from .loop import train, train_depth_grid
from .result import ExperimentResult

__all__ = ["SIZES", "binary_mlp", "experiment"]

CASES = ("sign", "hardtanh", "float")
VARIANTS = ("plain", "batchnorm_dropout", "dropout_first")
# Wang 2018, Table 1 (MNIST, width 300, 10 layers, batch 64) and Table 2: training accuracy per epoch.
PAPER_TABLE1 = {
    "sign": (0.8361, 0.9330, 0.9234, 0.9473),
    "hardtanh": (0.9421, 0.9516, 0.9560, 0.9609),
    "float": (0.8990, 0.9379, 0.9526, 0.9630),
}
PAPER_TABLE2 = {"r=0.1": (0.0974,) * 4, "r=1": (0.9421, 0.9516, 0.9560, 0.9609)}
CHANCE = 0.1

DEFAULT_SIZE = dict(
    width=300,
    depth=10,
    epochs=4,
    batch_size=64,
    n_train=None,
    learning_rate=1e-3,
    grid_depths=(5, 10, 20, 35, 50, 70),
    grid_sigma_w2=(0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0),
    grid_variants=VARIANTS,
    grid_epochs=5,
    grid_batch_size=16,
    grid_width=300,
    dropout_rate=0.1,
)
SIZES = {
    "quick": dict(  # the tests run it: ordered, critical and chaotic columns, two epochs
        DEFAULT_SIZE,
        width=128,
        epochs=2,
        grid_depths=(5, 15, 30),
        grid_sigma_w2=(0.25, 1.0, 4.0),
        grid_epochs=2,
        grid_width=64,
    ),
    "default": DEFAULT_SIZE,
}


def binary_mlp(
    depth,
    width,
    n_in,
    n_out,
    *,
    case="hardtanh",
    r=1.0,
    sigma_w2=None,
    seed=0,
):
    """An MLP of ``depth`` hidden layers of Larq ``QuantDense`` and a binarised readout.

    ``case``: "sign" (``ste_sign`` weights and activations, Glorot kernels, Wang 2018, sec. 3.1),
    "hardtanh" (``HardTanh(r)`` weights and activations, kernels N(0, r^2 sigma_w2 / fan_in);
    ``sigma_w2=None`` means `CriticalHardTanhNormal`), or "float" (float kernels, Glorot uniform
    or N(0, sigma_w2 / fan_in), hard-tanh activations). (The depth grid of Figs. 7-8 trains its
    networks side by side with `bnn_init.experiments.stacked.stacked_mlp`.)
    """
    import larq as lq
    import tensorflow as tf

    from bnn_init.initializers import CriticalHardTanhNormal
    from bnn_init.quantizers import HardTanh

    check_choice("case", case, CASES)
    layers = [tf.keras.Input((n_in,))]
    for i in range(depth + 1):
        layer_seed = seed * 10_007 + i
        constraint = None
        if case == "sign":
            quantizer, kernel_init = "ste_sign", tf.keras.initializers.GlorotUniform(layer_seed)
            constraint = "weight_clip"  # Larq's default for sign kernels (no starved weights)
        elif case == "float" and sigma_w2 is None:
            quantizer, kernel_init = HardTanh(r), tf.keras.initializers.GlorotUniform(layer_seed)
        elif sigma_w2 is None:
            quantizer, kernel_init = HardTanh(r), CriticalHardTanhNormal(r=r, seed=layer_seed)
        else:
            scale = sigma_w2 * (r**2 if case == "hardtanh" else 1.0)
            kernel_init = tf.keras.initializers.VarianceScaling(
                scale, "fan_in", "untruncated_normal", seed=layer_seed
            )
            quantizer = HardTanh(r)
        layers.append(
            lq.layers.QuantDense(
                n_out if i == depth else width,
                input_quantizer=None if i == 0 else quantizer,
                kernel_quantizer=None if case == "float" else quantizer,
                kernel_initializer=kernel_init,
                kernel_constraint=constraint,
            )
        )
    return tf.keras.Sequential(layers)


def _table_rows(data, s, seed, table, case, r=1.0, sigma_w2=None, label=None):
    """Train one ``binary_mlp`` of the Tables' size with Adam; one row per epoch."""
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
    per_epoch = len(y) // s["batch_size"]
    history = train(
        model,
        data,
        steps=s["epochs"] * per_epoch,
        batch_size=s["batch_size"],
        optimizer=tf.keras.optimizers.Adam(s["learning_rate"]),
        seed=seed,
        eval_every=per_epoch,
    )
    return [
        {
            "table": table,
            "config": label or case,
            "epoch": k + 1,
            "r": r,
            "sigma_w2": sigma_w2,
            "train_accuracy": record["train_accuracy"],
            "loss": record["loss"],
        }
        for k, record in enumerate(history)
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
    (column ``table`` = "table1", "table2" or "grid"), a figure and the verdict.

    Example:
        >>> res = experiment(size="quick", progress_bar=False)  # doctest: +SKIP
        >>> sorted(res.summary["table1"])  # doctest: +SKIP
        ['float', 'hardtanh', 'sign']
    """
    s = pick_size(SIZES, size, overrides)
    timer = Timer()
    data, _ = load_dataset(dataset, data_path, n_train=s["n_train"], seed=seed)
    configs_t2 = {  # label -> (r, sigma_w2)
        "r=1, sigma_w2=1 (critical)": (1.0, HardTanhBNN.critical(r=1.0).sigma_w2),
        "r=0.1, sigma_w2=0.01 (critical)": (0.1, HardTanhBNN.critical(r=0.1).sigma_w2),
        "r=0.1, sigma_w2=1e-4 (Table 2 as printed)": (0.1, 1e-4),
    }
    n_grid = len(s["grid_variants"]) * len(s["grid_depths"])
    bar = progress(len(CASES) + len(configs_t2) + n_grid, "wang-bnn", progress_bar)
    rows, summary = [], {"table1": {}, "table2": {}, "grid": {}, "threshold": threshold}
    try:
        tables = [("table1", case, case, 1.0, None) for case in CASES]
        tables += [("table2", label, "hardtanh", r, w2) for label, (r, w2) in configs_t2.items()]
        for table, label, case, r, w2 in tables:  # Tables 1 and 2
            table_rows = _table_rows(data, s, seed, table, case, r, w2, label)
            rows += table_rows
            summary[table][label] = [row["train_accuracy"] for row in table_rows]
            bar.update()
        for variant in s["grid_variants"]:  # Figs. 7-8
            grid_rows, summary["grid"][variant] = _depth_grid(
                data, s, seed, variant, threshold, bar
            )
            rows += grid_rows
    finally:
        bar.close()
    fig = _figure(summary, s, dataset)
    result = ExperimentResult("wang_bnn", rows, {"wang": fig}, summary=summary)
    result.seconds = timer.seconds
    result.verdict = _verdict(summary, s, dataset)
    result.headline = _headline(summary)
    return result


def _headline(summary):
    t1, t2, grid = summary["table1"], summary["table2"], summary["grid"]
    r_one, r_small = (accuracies[-1] for accuracies in list(t2.values())[:2])  # both critical
    line = (
        f"final training accuracy: B_r (r=1) {t1['hardtanh'][-1]:.2f}, sign {t1['sign'][-1]:.2f}, "
        f"float {t1['float'][-1]:.2f} (paper: 0.96, 0.95, 0.96); r=0.1 at its critical sigma_w "
        f"{r_small:.2f} vs r=1 {r_one:.2f} (paper: r=0.1 frozen)"
    )
    if "plain" in grid:
        line += f"; plain BNN: L_max / xi_c = {one_decimal(grid['plain']['fitted_n'])} (theory: ~6)"
    return line


def _depth_grid(data, s, seed, variant, threshold, bar):
    """Figs. 7-8: the r = 1 BNN over depth x sigma_w2 (one stacked model per depth), rows and
    the measured boundary against 6 xi_c of `HardTanhBNN`."""
    import tensorflow as tf

    from bnn_init.quantizers import HardTanh

    from .stacked import stacked_mlp

    x, y = data
    sigma_w2 = np.asarray(s["grid_sigma_w2"], dtype=float)
    accuracy, loss = train_depth_grid(
        data,
        s["grid_depths"],
        lambda depth, model_seed: stacked_mlp(
            depth,
            s["grid_width"],
            x.shape[1],
            int(y.max()) + 1,
            sigma_w2,  # kernels N(0, r^2 sigma_w2 / fan_in) at r = 1
            quantizer=HardTanh(1.0),
            batchnorm=variant == "batchnorm_dropout",
            dropout_rate=0.0 if variant == "plain" else s["dropout_rate"],
            dropout_layers="first" if variant == "dropout_first" else "all",
            seed=model_seed,
        ),
        steps=s["grid_epochs"] * (len(y) // s["grid_batch_size"]),
        batch_size=s["grid_batch_size"],
        optimizer=lambda: tf.keras.optimizers.Adam(s["learning_rate"]),
        seed=seed,
        bar=bar,
        label=variant,
    )
    xi = HardTanhBNN(r=1.0, sigma_w2=sigma_w2, sigma_b2=0.0).xi_c
    rows = [
        {
            "table": "grid",
            "config": variant,
            "epoch": s["grid_epochs"],
            "depth": depth,
            "r": 1.0,
            "sigma_w2": w2,
            "train_accuracy": accuracy[i, j],
            "loss": loss[i, j],
            "xi_c": xi[j],
        }
        for i, depth in enumerate(s["grid_depths"])
        for j, w2 in enumerate(sigma_w2)
    ]
    found = boundary(s["grid_depths"], accuracy, xi, threshold)
    return rows, {
        "accuracy": accuracy.tolist(),
        "xi_c": xi.tolist(),
        "max_trained_depth": found["max_trained_depth"].tolist(),
        "fitted_n": found["fitted_n"],
        "agreement": found["agreement"],
    }


def _figure(summary, s, dataset):
    variants = list(summary["grid"])
    fig, axes = new_figure(ncols=len(variants) + 1)
    ax = axes[0, 0]
    for label, accs in {**summary["table1"], **summary["table2"]}.items():
        ax.plot(np.arange(1, len(accs) + 1), accs, "o-", ms=3, label=label)
    ax.axhline(CHANCE, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Tables 1-2: width {s['width']}, depth {s['depth']}", fontsize=9)
    ax.legend(fontsize=6)
    w2 = np.asarray(s["grid_sigma_w2"], float)
    fine = np.geomspace(w2.min(), w2.max(), 300)
    xi = HardTanhBNN(r=1.0, sigma_w2=fine, sigma_b2=0.0).xi_c
    for k, variant in enumerate(variants):
        mesh = heatmap_figure(
            axes[0, k + 1],
            s["grid_depths"],
            np.arange(len(w2)),
            summary["grid"][variant]["accuracy"],
            xlabel=r"$\sigma_w^2$ (r = 1)",
            title=f"Figs. 7-8: {variant}, {s['grid_epochs']} epochs",
            curves=[
                (
                    "6 xi_c (theory, plain net)",
                    np.interp(fine, w2, np.arange(len(w2))),
                    6 * xi,
                    "w--",
                )
            ],
        )
        axes[0, k + 1].set_xticks(np.arange(len(w2)), [f"{v:g}" for v in w2], fontsize=7)
    fig.colorbar(mesh, ax=axes[0, -1], label="training accuracy")
    fig.suptitle(f"Wang (2018) on {dataset}: hard-tanh BNNs")
    return fig


def _verdict(summary, s, dataset):
    t1, t2 = summary["table1"], summary["table2"]
    lines = [f"wang-bnn ({dataset}); training accuracy per epoch, paper (MNIST) in brackets:"]
    for case, accs in t1.items():
        paper = ", ".join(f"{a:.3f}" for a in PAPER_TABLE1[case][: len(accs)])
        lines.append(f"  Table 1 {case:<9} {', '.join(f'{a:.3f}' for a in accs)}   [{paper}]")
    better = t1["hardtanh"][0] >= t1["sign"][0]
    lines.append(
        f"  case 2 (hard-tanh) {'>=' if better else '<'} case 1 (sign) after epoch 1 (paper: >=)"
    )
    for label, accs in t2.items():
        frozen = max(accs) < CHANCE + 0.1
        lines.append(
            f"  Table 2 {label}: {', '.join(f'{a:.3f}' for a in accs)}"
            f" -> {'frozen' if frozen else 'learns'}"
        )
    lines.append(
        "  (paper: r=0.1 frozen at 0.0974, r=1 learns; erratum 2: Table 2's sigma_w=0.01 "
        "is a typo for the critical 0.1)"
    )
    for variant, g in summary["grid"].items():
        n = g["fitted_n"]
        lines.append(
            f"  Figs. 7-8 {variant}: L_max / xi_c = "
            f"{f'{n:.1f}' if math.isfinite(n) else 'n/a'}; trained (acc >= "
            f"{summary['threshold']:g}) <=> L <= 6 xi_c in {100 * g['agreement']:.0f}% of cells"
            + ("" if variant == "plain" else " (theory describes the plain network only)")
        )
    return "\n".join(lines)
