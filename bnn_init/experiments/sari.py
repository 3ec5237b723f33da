"""Sari et al. (2019): constant-variance initialisation and the parts of BatchNorm a BNN needs
(``bnn-init reproduce sari-init``).

A small binary conv net (first convolution and classifier in float, as in Sari et al. 2019, sec. 4; every other
convolution a Larq ``QuantConv2D`` with ``ste_sign`` weights and activations, followed by a
normalisation layer) trained with Adam at a fixed learning rate:

* Table 1: BatchNorm, binary kernels from `bnn_init.initializers.ConstantVariance` with variance
  0.1, 0.01, 1e-3, 1e-4 vs Glorot uniform. Sari et al. find the accuracy insensitive to the
  variance (BatchNorm makes the forward pass scale-free, Sari et al. 2019, eq. 2, Theorem 1).
  The variance still decides how far a latent weight must travel before its sign flips (its
  uniform half-width sqrt(3 v), 0.55 at v = 0.1), and an Adam step moves a weight by at most about
  the learning rate; so the default budget is a flip budget: ``updates x learning_rate`` at least
  2.5 times the largest half-width, and every row reports the fraction of binary kernel signs
  that changed in training (``sign_changed_fraction``). Sari et al. train 150 CIFAR-10 epochs.
* Table 1 at scaled rates ("table1_scaled"): the ConstantVariance runs again, their binary
  kernels trained by Adam at ``learning_rate * sqrt(v / 1e-3)``, a rate proportional to the
  half-width (the base rate at v = 1e-3; the float layers and BatchNorm keep the base rate,
  `BinaryKernelRate`). Behind BatchNorm a binary layer's output depends on its latent kernel only
  through its signs, the straight-through gradient does not depend on the kernel's scale, and
  Adam's step is proportional to its rate; so, apart from Adam's epsilon and the clip at
  |w| <= 1, every variance then follows one trajectory in units of its half-width. If the
  flip budget is what separates the variances in Table 1, this table's spread is that of the
  seeds alone.
* Table 2: BatchNorm vs no normalisation vs centring only vs centring with the fixed scale
  sqrt(fan_in) (`bnn_init.layers.CenteredScale`) vs centring divided by sqrt(fan_out) (Sari's
  "Glorot" column), kernels ``ConstantVariance(1e-3)``. Sari et al. find "no BatchNorm" and
  "centred only" far worse (<= 31.7 % on CIFAR-10 vs 88.8 %), and the fixed scale and the Glorot
  scale close to BatchNorm (78.9-80.3 % vs 86.9-88.8 %).

Accuracies are the best test accuracy over the records (Sari et al. 2019 report best top-1) and
the final training accuracy; each configuration runs with several seeds, the verdict reports min
and max as Table 2.
"""

from __future__ import annotations

import math

import numpy as np

from bnn_init.primitives import Timer, new_figure, pick_size, progress
from bnn_init.primitives.checks import check_choice

from .data import IMAGE_SHAPES, load_dataset
from .flips import binary_kernel_signs, sign_changed_fraction
from .loop import run_seed, train
from .result import ExperimentResult, span

__all__ = ["NORMS", "SIZES", "binary_convnet", "experiment"]

INITS = ("glorot", 0.1, 0.01, 1e-3, 1e-4)
NORMS = ("batchnorm", "none", "centred", "centred_fixed", "centred_glorot")
NORM_LABELS = {
    "batchnorm": "BatchNorm",
    "none": "no normalisation",
    "centred": "centring only",
    "centred_fixed": "centring + fixed scale",
    "centred_glorot": "centring + Glorot scale",
}
ABLATION_VARIANCE = 1e-3
UNSCALED = ("table1", "table2")  # the tables trained at one rate
# Sari et al. 2019, Table 1 (best top-1 %, CIFAR-10) and Table 2 (ResNet-56, max / min over runs).
PAPER_TABLE1 = {
    "VGG": {"glorot": 90.5, 0.1: 90.4, 0.01: 90.7, 1e-3: 90.6, 1e-4: 90.6},
    "ResNet-56": {"glorot": 88.5, 0.1: 86.9, 0.01: 88.5, 1e-3: 88.8, 1e-4: 88.1},
    "MobileNetv1": {"glorot": 71.7, 0.1: 68.9, 0.01: 71.2, 1e-3: 73.1, 1e-4: 73.2},
}
PAPER_TABLE2 = {
    "batchnorm": (86.9, 88.8),
    "centred_glorot": (77.7, 80.3),
    "centred_fixed": (78.9, 79.6),
    "centred": (14.5, 31.7),
    "none": (15.0, 31.7),
}

# 150 CIFAR-10 epochs at batch 128 (the batch of the pytorch-cifar code Sari et al. build on; the
# paper does not state its own)
PAPER_UPDATES = 150 * (50_000 // 128)

DEFAULT_SIZE = dict(
    filters=(32, 64),  # 1,400 updates of (64, 128) take 2.4 min per run on 2 cores
    updates=1400,  # x 1e-3 = 1.4: 2.6 times the largest half-width, sqrt(3 * 0.1) = 0.55
    records=7,
    batch_size=64,
    n_train=None,
    seeds=2,
    learning_rate=1e-3,
    inits=INITS,
)
SIZES = {
    # the tests run it: 14 trainings whose cost is mostly fixed (tracing), so few updates and
    # filters
    "quick": dict(
        DEFAULT_SIZE,
        filters=(16, 32),
        updates=100,
        records=2,
        seeds=2,
        inits=(1e-3, 1e-4),
    ),
    "default": DEFAULT_SIZE,
}


class BinaryKernelRate:
    """Adam at ``binary_rate`` for the binary kernels (Larq's variables of precision 1) and at
    ``rate`` for every other variable; Adam treats each variable on its own, so at equal rates
    this is one Adam."""

    def __init__(self, binary_rate, rate):
        import tensorflow as tf

        self._binary = tf.keras.optimizers.Adam(binary_rate)
        self._other = tf.keras.optimizers.Adam(rate)

    def apply_gradients(self, grads_and_vars):
        import larq as lq

        pairs = list(grads_and_vars)
        for optimizer, binary in ((self._binary, True), (self._other, False)):
            chosen = [(g, v) for g, v in pairs if lq.optimizers.Bop.is_binary_variable(v) == binary]
            if chosen:
                optimizer.apply_gradients(chosen)


def _norm_layer(norm, fan_out):
    import tensorflow as tf

    from bnn_init.layers.centered_scale import CenteredScale

    if norm == "batchnorm":
        return tf.keras.layers.BatchNormalization()
    if norm == "centred":
        return CenteredScale(scale=1.0)
    if norm == "centred_fixed":
        return CenteredScale(scale="fan_in")
    if norm == "centred_glorot":
        return CenteredScale(scale=float(fan_out))
    return None


def binary_convnet(
    image_shape, n_out, *, filters=(64, 128), norm="batchnorm", init="glorot", seed=0
):
    """Float conv -> 2 x [binary conv, binary conv, max-pool] over ``filters`` -> ReLU -> float
    dense (Sari et al. 2019, sec. 4). ``norm`` (one of `NORMS`) follows every convolution; ``init`` is
    "glorot" or the variance of `ConstantVariance` (uniform) for the binary kernels. The
    "centred_glorot" norm divides by sqrt(fan_out) of the convolution before it (kernel area x
    filters)."""
    import larq as lq
    import tensorflow as tf

    from bnn_init.initializers import ConstantVariance

    check_choice("norm", norm, NORMS)
    if init != "glorot" and not (isinstance(init, float) and init > 0):
        raise ValueError(f"init must be 'glorot' or a variance > 0, got {init!r}")
    one_d = image_shape[1] == 1  # MNIST-1D: (40, 1, 1) signals get (3, 1) kernels
    kernel, pool = ((3, 1), (2, 1)) if one_d else ((3, 3), (2, 2))
    layers = [
        tf.keras.Input(image_shape),
        tf.keras.layers.Conv2D(
            filters[0],
            kernel,
            padding="same",
            use_bias=False,
            kernel_initializer=tf.keras.initializers.GlorotUniform(seed),
        ),
    ]
    area = int(np.prod(kernel))
    layers.append(_norm_layer(norm, fan_out=area * filters[0]))
    k = 0
    for width in filters:
        for _ in range(2):
            k += 1
            kernel_init = (
                tf.keras.initializers.GlorotUniform(seed + k)
                if init == "glorot"
                else ConstantVariance(init, seed=seed + k)
            )
            layers.append(
                lq.layers.QuantConv2D(
                    width,
                    kernel,
                    padding="same",
                    pad_values=1.0,
                    use_bias=False,
                    input_quantizer="ste_sign",
                    kernel_quantizer="ste_sign",
                    kernel_constraint="weight_clip",
                    kernel_initializer=kernel_init,
                )
            )
            layers.append(_norm_layer(norm, fan_out=area * width))
        layers.append(tf.keras.layers.MaxPooling2D(pool))
    layers += [
        tf.keras.layers.Flatten(),
        tf.keras.layers.ReLU(),
        tf.keras.layers.Dense(
            n_out, kernel_initializer=tf.keras.initializers.GlorotUniform(seed + 99)
        ),
    ]
    return tf.keras.Sequential([layer for layer in layers if layer is not None])


def experiment(
    size="default", dataset="digits", data_path=None, seed=0, progress_bar=True, **overrides
) -> ExperimentResult:
    """Sari et al. (2019) Tables 1-2 on a small binary conv net (see the module docstring).

    Example:
        >>> res = experiment(size="quick", progress_bar=False)  # doctest: +SKIP
        >>> sorted(res.summary["table2"])  # doctest: +SKIP
        ['batchnorm', 'centred', 'centred_fixed', 'none']
    """
    import tensorflow as tf

    s = pick_size(SIZES, size, overrides)
    timer = Timer()
    (x, y), test = load_dataset(dataset, data_path, n_train=s["n_train"], seed=seed)
    shape = IMAGE_SHAPES[dataset]
    x, test = x.reshape((-1, *shape)), (test[0].reshape((-1, *shape)), test[1])
    rate = s["learning_rate"]
    configs = [("table1", "batchnorm", init, rate) for init in s["inits"]]
    configs += [  # Table 2's BatchNorm run is Table 1's at the same variance, when there is one
        ("table2", norm, ABLATION_VARIANCE, rate)
        for norm in NORMS
        if norm != "batchnorm" or ABLATION_VARIANCE not in s["inits"]
    ]
    configs += [
        ("table1_scaled", "batchnorm", init, rate * math.sqrt(init / ABLATION_VARIANCE))
        for init in s["inits"]
        if init != "glorot" and init != ABLATION_VARIANCE  # the latter is Table 1's own run
    ]
    bar = progress(len(configs) * s["seeds"], "sari-init", progress_bar)
    every = math.ceil(s["updates"] / s["records"])
    rows = []
    try:
        for table, norm, init, learning_rate in configs:
            for rep in range(s["seeds"]):
                rep_seed = run_seed(seed, rep)
                tf.keras.utils.set_random_seed(rep_seed)
                model = binary_convnet(
                    shape,
                    int(y.max()) + 1,
                    filters=s["filters"],
                    norm=norm,
                    init=init,
                    seed=rep_seed,
                )
                before = binary_kernel_signs(model)
                hist = train(
                    model,
                    (x, y),
                    steps=s["updates"],
                    batch_size=s["batch_size"],
                    optimizer=BinaryKernelRate(learning_rate, s["learning_rate"]),
                    seed=rep_seed,
                    eval_every=every,
                    test=test,
                )
                rows.append(
                    {
                        "table": table,
                        "norm": norm,
                        "init": init,
                        "seed": rep_seed,
                        "best_test_accuracy": max(h["test_accuracy"] for h in hist),
                        "final_train_accuracy": hist[-1]["train_accuracy"],
                        "final_loss": hist[-1]["loss"],
                        "updates": hist[-1]["step"],
                        "paper_updates": PAPER_UPDATES,
                        "learning_rate": s["learning_rate"],
                        "binary_kernel_learning_rate": learning_rate,
                        "sign_changed_fraction": sign_changed_fraction(
                            before, binary_kernel_signs(model)
                        ),
                    }
                )
                bar.update()
                bar.set_postfix_str(f"{norm} init={init} test={rows[-1]['best_test_accuracy']:.2f}")
    finally:
        bar.close()
    summary = _summary(rows)
    result = ExperimentResult(
        "sari_init", rows, {"sari": _figure(summary, dataset)}, summary=summary
    )
    result.seconds = timer.seconds
    result.verdict = _verdict(summary, dataset)
    result.headline = _headline(summary, s["learning_rate"])
    return result


def _summary(rows):
    def stats(selected):
        test = [r["best_test_accuracy"] for r in selected]
        train_acc = [r["final_train_accuracy"] for r in selected]
        return {
            "test_min": min(test),
            "test_max": max(test),
            "test_mean": float(np.mean(test)),
            "train_mean": float(np.mean(train_acc)),
            "sign_changed_fraction": float(np.mean([r["sign_changed_fraction"] for r in selected])),
        }

    def batchnorm_runs(init, tables):
        return [
            r
            for r in rows
            if r["norm"] == "batchnorm" and r["init"] == init and r["table"] in tables
        ]

    inits = list(dict.fromkeys(r["init"] for r in rows if r["table"] == "table1"))
    tables = {"table1": {str(init): stats(batchnorm_runs(init, UNSCALED)) for init in inits}}
    scaled = [init for init in inits if batchnorm_runs(init, ("table1_scaled",))]
    if scaled:  # at v = 1e-3 the scaled rate is the base rate: Table 1's own runs
        tables["table1_scaled"] = {
            str(ABLATION_VARIANCE): stats(batchnorm_runs(ABLATION_VARIANCE, UNSCALED)),
            **{str(init): stats(batchnorm_runs(init, ("table1_scaled",))) for init in scaled},
        }
    tables["table2"] = {
        norm: stats([r for r in rows if r["norm"] == norm and r["init"] == ABLATION_VARIANCE])
        for norm in NORMS
    }
    summary = {"updates": rows[0]["updates"], "paper_updates": PAPER_UPDATES, **tables}
    for name in ("table1", "table1_scaled"):
        if name in tables:
            means = [v["test_mean"] for v in tables[name].values()]
            summary[f"{name}_spread"] = max(means) - min(means)
    return summary


def _figure(summary, dataset):
    titles = {
        "table1": "Table 1: BatchNorm, binary-kernel init",
        "table1_scaled": "Table 1, binary kernels at lr ~ half-width",
        "table2": f"Table 2: normalisation (ConstantVariance({ABLATION_VARIANCE:g}))",
    }
    tables = {name: summary[name] for name in titles if name in summary}
    fig, axes = new_figure(ncols=len(tables))
    for ax, (name, table) in zip(axes[0], tables.items(), strict=True):
        labels = list(table)
        means = [table[k]["test_mean"] for k in labels]
        errs = np.array(
            [
                [m - table[k]["test_min"], table[k]["test_max"] - m]
                for k, m in zip(labels, means, strict=True)
            ]
        ).T
        ax.bar(
            range(len(labels)),
            means,
            yerr=errs,
            color="tab:blue",
            alpha=0.8,
            capsize=3,
            label="best test accuracy",
        )
        ax.plot(
            range(len(labels)),
            [table[k]["train_mean"] for k in labels],
            "k^",
            label="final training accuracy",
        )
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=7)
        ax.set_ylim(0, 1.02)
        ax.set_title(titles[name], fontsize=9)
        ax.legend(fontsize=6, loc="lower right")
    fig.suptitle(f"Sari et al. (2019) on {dataset}: binary conv net, min-max over seeds")
    return fig


def _headline(summary, learning_rate):
    t1, t2 = summary["table1"], summary["table2"]
    flips = [v["sign_changed_fraction"] for v in t1.values()]
    return (
        f"after {summary['updates']} Adam updates at lr {learning_rate:g} (paper: "
        f"{summary['paper_updates']}, 150 CIFAR-10 epochs), the best test accuracy spans "
        f"{100 * summary['table1_spread']:.1f} points over {len(t1)} initialisations with "
        f"BatchNorm (paper: 0.3-4.3 points), with {span(flips, 100)} % "
        "of binary kernel signs flipped; "
        + _scaled_clause(summary)
        + "Table 2 (mean over seeds): "
        + ", ".join(f"{NORM_LABELS[k]} {100 * t2[k]['test_mean']:.1f} %" for k in NORMS)
        + " (paper, ResNet-56 max: 88.8, 31.7, 31.7, 79.6, 80.3 %)"
    )


def _scaled_clause(summary):
    """The scaled-rate Table 1 for the headline, or nothing when it did not run."""
    if "table1_scaled" not in summary:
        return ""
    flips = [v["sign_changed_fraction"] for v in summary["table1_scaled"].values()]
    return (
        "with the binary kernels' rate proportional to the half-width it spans "
        f"{100 * summary['table1_scaled_spread']:.1f} points with "
        f"{span(flips, 100)} % flipped; "
    )


def _verdict(summary, dataset):
    t2 = summary["table2"]
    lines = [
        f"sari-init ({dataset}), {summary['updates']} updates (paper: "
        f"{summary['paper_updates']}); best test accuracy %, min-max over seeds:"
    ]
    labels = {
        "table1": "Table 1 (init, BatchNorm)",
        "table1_scaled": "Table 1, binary kernels at lr x sqrt(v / 1e-3)",
    }
    for name, label in labels.items():
        if name not in summary:
            continue
        cells = ", ".join(
            f"{k}: {100 * v['test_mean']:.1f} ({100 * v['sign_changed_fraction']:.0f} % flipped)"
            for k, v in summary[name].items()
        )
        lines.append(
            f"  {label}: {cells}; spread {100 * summary[f'{name}_spread']:.1f} points (paper, "
            "CIFAR-10: spread 0.3 (VGG) to 4.3 (MobileNetv1) points)"
        )
    for norm, v in t2.items():
        lo, hi = PAPER_TABLE2[norm]
        lines.append(
            f"  Table 2 {norm:<14} {100 * v['test_min']:.1f}-{100 * v['test_max']:.1f} "
            f"(train {100 * v['train_mean']:.1f})   [paper ResNet-56: {lo}-{hi}]"
        )
    good = min(t2[k]["test_mean"] for k in ("batchnorm", "centred_fixed", "centred_glorot"))
    bad = max(t2["none"]["test_mean"], t2["centred"]["test_mean"])
    lines.append(
        f"  no-normalisation and centring-only {'below' if bad < good else 'NOT below'} BatchNorm "
        f"and centring with a fixed or Glorot scale (worst good {100 * good:.1f} vs best bad "
        f"{100 * bad:.1f}; paper: below)"
    )
    return "\n".join(lines)
