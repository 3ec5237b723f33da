"""The comparisons of Soudry & Meir (2013, sec. 5): MFB-BackProp, PMFB-BackProp, BackProp and
clipped BackProp on the same converging architecture, for the teacher-student task (Fig. 2A) and
for offline real data (digits, MNIST-1D, local MNIST). Each returns an `ExperimentResult`: tidy
rows (one per size, trial and algorithm), the table of best test errors as its verdict and, for
the teacher-student task, Fig. 2A (`plot_teacher_student`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import datasets
from ..experiments.data import load_dataset
from ..experiments.result import ExperimentResult
from ..primitives import Timer, check_integer, new_figure, pick_size, progress
from .backprop import BackPropNetwork, best_by_validation
from .mfb import MFBNetwork
from .online import fit_side_by_side

PAPER_SIZES = (3, 5, 7, 9, 21, 31, 51, 101)
LEARNING_RATE_GRID = (0.1, 0.03, 0.01, 0.003, 0.001)
ALGORITHMS = ("MFB", "PMFB", "BackProp", "Clipped BackProp")
# Soudry & Meir 2013, sec. 5, "MNIST Task Results": final test errors of the 785 x (301 x 10) x 10
# network (BackProp and clipped BackProp on the real-weight network of the same architecture).
PAPER_MNIST_ERRORS = {"MFB": 0.0468, "PMFB": 0.0426, "BackProp": 0.0214, "Clipped BackProp": 0.3095}
PAPER_TEACHER_STUDENT_SAMPLES = 200_000  # sec. 5: N = 2e5 samples, each learnt once (batch 1)


def best_errors(rows) -> dict:
    """Per task and algorithm, the lowest test error over trials (Soudry & Meir 2013, Fig. 2A
    shows "the trial with the best test error for each M"): ``{task: {algorithm: error}}``."""
    out = {}
    for row in rows:
        slot = out.setdefault(row["task"], {})
        slot[row["algorithm"]] = min(slot.get(row["algorithm"], np.inf), row["test_error"])
    return out


def error_table(rows) -> str:
    """Markdown table of `best_errors`: one line per task, one column per algorithm (in %)."""
    lines = ["| task | " + " | ".join(ALGORITHMS) + " |", "|---" * (len(ALGORITHMS) + 1) + "|"]
    for task, errors in best_errors(rows).items():
        cells = [f"{100 * errors[a]:.2f}" if a in errors else "-" for a in ALGORITHMS]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    """One comparison: the task's name and size (``"M=9"``, 9), the trial, the converging
    architecture's hidden neurons per output and outputs, passes over the data, BackProp's
    learning-rate grid and the seed of both algorithms."""

    task: str
    size: int
    trial: int
    hidden_per_output: int
    outputs: int
    epochs: int
    learning_rates: tuple
    seed: int


def _compare(runs, datas):
    """Train MFB and the BackProp baselines for every run of ``runs`` (one architecture, passes
    and learning-rate grid) on its ``(train, val, test)`` of ``datas``, all runs side by side
    (`fit_side_by_side`); return the rows (one per run and algorithm; ``seconds`` is the run's
    share of the side-by-side training) and the learning curves
    ``{(task, trial, algorithm): (samples, error)}``."""
    first, rates = runs[0], runs[0].learning_rates
    trains = [train for train, _, _ in datas]
    timer = Timer()
    mfbs = [
        MFBNetwork(x.shape[1], run.hidden_per_output, run.outputs, seed=run.seed)
        for run, (x, _) in zip(runs, trains, strict=True)
    ]
    fit_side_by_side(mfbs, trains, epochs=first.epochs)
    mfb_errors = [net.evaluate(*test) for net, (_, _, test) in zip(mfbs, datas, strict=True)]
    mfb_seconds = timer.seconds / len(runs)
    timer = Timer()
    candidates = [
        BackPropNetwork(x.shape[1], run.hidden_per_output, run.outputs, rate, seed=run.seed)
        for run, (x, _) in zip(runs, trains, strict=True)
        for rate in rates
    ]
    fit_side_by_side(candidates, [train for train in trains for _ in rates], epochs=first.epochs)
    bps = [
        best_by_validation(candidates[i * len(rates) : (i + 1) * len(rates)], *val)[0]
        for i, (_, val, _) in enumerate(datas)
    ]
    bp_seconds = timer.seconds / len(runs)
    rows, curves = [], {}
    for run, mfb, errors, bp, (_, _, test) in zip(runs, mfbs, mfb_errors, bps, datas, strict=True):
        bp_errors = bp.evaluate(*test)
        rows += [
            {
                "task": run.task,
                "size": run.size,
                "trial": run.trial,
                "algorithm": algorithm,
                "test_error": error,
                "learning_rate": rate,
                "seconds": seconds,
            }
            for algorithm, error, seconds, rate in (
                ("MFB", errors["error"], mfb_seconds, None),
                ("PMFB", errors["pmfb_error"], mfb_seconds, None),
                ("BackProp", bp_errors["error"], bp_seconds, bp.learning_rate),
                ("Clipped BackProp", bp_errors["clipped_error"], bp_seconds, bp.learning_rate),
            )
        ]
        for algorithm, net in (("MFB", mfb), ("BackProp", bp)):
            curves[(run.task, run.trial, algorithm)] = (
                np.asarray(net.training_curve_.samples),
                np.asarray(net.training_curve_.values["error"]),
            )
    return rows, curves


#: Sizes of the teacher-student comparison (`teacher_student_comparison`); "default" is the
#: paper's (sec. 5): its M, 2e5 training and 1e4 test samples, 10 trials.
TEACHER_STUDENT_SIZES = {
    "quick": dict(sizes=(5, 9, 21), n_train=5_000, n_test=2_000, trials=1),
    "default": dict(sizes=PAPER_SIZES, n_train=200_000, n_test=10_000, trials=10),
}
#: Sizes of the real-data comparison inside `experiment`: the paper's K = 301 hidden neurons per
#: output by default; BackProp's learning rate picked from ``learning_rates`` on held-out data.
REAL_DATA_SIZES = {
    "quick": dict(hidden_per_output=30, epochs=2, learning_rates=(0.003,)),
    "default": dict(hidden_per_output=301, epochs=10, learning_rates=(0.01, 0.003, 0.001)),
}


def teacher_student_comparison(
    size="default",
    learning_rates=LEARNING_RATE_GRID,
    n_val=2_000,
    seed=0,
    progress_bar=False,
    **overrides,
) -> ExperimentResult:
    """Soudry & Meir 2013, Fig. 2A. For every M in ``sizes`` and every trial: draw a random binary
    ``M x M x 1`` teacher, ``n_train`` training samples (the paper: 2e5, presented once),
    ``n_val`` validation samples for BackProp's learning-rate scan and ``n_test`` fresh test
    samples (the paper: 1e4); train an ``MFBNetwork(M, M, 1)`` and BackProp networks of the same
    architecture; record the test errors of MFB, PMFB, BackProp and clipped BackProp.

    ``size``: a preset of `TEACHER_STUDENT_SIZES` ("quick"; "default": the paper's sizes and
    10 trials); ``overrides``:
    any of its settings (``sizes``, ``n_train``, ``n_test``, ``trials``); ``progress_bar``: a
    progress bar on stderr, one step per M and trial. The result's rows hold one test error per
    M, trial and algorithm; its verdict is the table of the best trial per M (in %); its
    ``summary["best"]`` is `best_errors` and ``summary["updates"]`` the updates per network
    (``n_train``: each sample is learnt once); its figure is `plot_teacher_student`.

    Example::

        >>> result = teacher_student_comparison(sizes=(5,), n_train=2000, n_test=1000)
        >>> print(result.verdict)  # doctest: +SKIP
    """
    s = pick_size(TEACHER_STUDENT_SIZES, size, overrides)
    for key in ("n_train", "n_test", "trials"):
        check_integer(key, s[key])
    for M in s["sizes"]:
        check_integer("sizes", M)
    timer = Timer()
    rows, curves = [], {}
    bar = progress(len(s["sizes"]), "mfb-teacher-student", progress_bar)
    for M in s["sizes"]:
        bar.set_postfix_str(f"M={M}, {s['trials']} trials side by side")
        runs, datas = [], []
        for trial in range(s["trials"]):
            teacher_seed = int(np.random.default_rng([seed, M, trial]).integers(2**31))
            datas.append(
                [
                    datasets.teacher_student(M, n, seed=teacher_seed + i, teacher_seed=teacher_seed)
                    for i, n in enumerate((s["n_train"], n_val, s["n_test"]), start=1)
                ]
            )
            runs.append(Run(f"M={M}", M, trial, M, 1, 1, tuple(learning_rates), trial + seed))
        new_rows, new_curves = _compare(runs, datas)
        rows += new_rows
        curves.update(new_curves)
        bar.update()
    bar.close()
    verdict = (
        f"Teacher-student test error (%), best of {s['trials']} trial(s), "
        f"{s['n_train']} training and {s['n_test']} test samples ({timer.seconds:.0f} s)\n\n"
        + error_table(rows)
    )
    return ExperimentResult(
        "mfb_teacher_student",
        rows,
        {"figure": plot_teacher_student(rows, curves)},
        verdict,
        {"best": best_errors(rows), "updates": s["n_train"]},
        timer.seconds,
    )


def load_real_dataset(name, seed=0, mnist_path=None):
    """``(train, val, test)`` splits of a real dataset, standardised and with a constant 1 input
    (Soudry & Meir 2013, sec. 5). ``name``: "digits", "mnist1d" or "mnist" (needs ``mnist_path``). The last 20 %
    of the training set (10 000 images for MNIST) is held out for the learning-rate scan."""
    if name == "mnist" and mnist_path is None:
        raise ValueError("mnist_path must name local MNIST files for dataset 'mnist', got None")
    (x, y), test = load_dataset(name, mnist_path, seed=seed, add_bias=True)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = 10_000 if name == "mnist" else len(y) // 5
    val, fit = order[:n_val], order[n_val:]
    return (x[fit], y[fit]), (x[val], y[val]), test


def real_data_comparison(
    name="digits",
    hidden_per_output=30,
    epochs=20,
    learning_rates=(0.01, 0.003, 0.001),
    seed=0,
    mnist_path=None,
):
    """MFB, PMFB, BackProp and clipped BackProp on a real dataset with the converging
    ``D x (K x 10) x 10`` network (Soudry & Meir 2013, sec. 5 uses K = 301 on MNIST, with 785 inputs). Both
    algorithms see the same training samples for ``epochs`` shuffled passes; BackProp's rate is
    picked on the held-out split. Returns an `ExperimentResult` named ``mfb_NAME`` whose rows have
    task = ``name``, whose verdict is the table of test errors (in %) and whose
    ``summary["best"]`` is `best_errors`."""
    timer = Timer()
    train, val, test = load_real_dataset(name, seed=seed, mnist_path=mnist_path)
    run = Run(
        name, hidden_per_output, 0, hidden_per_output, 10, epochs, tuple(learning_rates), seed
    )
    rows, _ = _compare([run], [(train, val, test)])
    summary = {"best": best_errors(rows)}
    return ExperimentResult(f"mfb_{name}", rows, {}, error_table(rows), summary, timer.seconds)


def experiment(
    size="default", dataset=None, data_path=None, seed=0, progress_bar=True, **overrides
):
    """Soudry & Meir 2013, sec. 5, as one experiment (``bnn-init reproduce mfb-teacher-student``):
    Fig. 2A (`teacher_student_comparison` at ``size``, ``overrides`` as there) and the real-data
    comparison of Fig. 2B (`real_data_comparison` at `REAL_DATA_SIZES`) on local MNIST when
    ``data_path`` is given, else on ``dataset`` (default MNIST-1D, labelled as a substitute for
    MNIST). Every network learns one sample per update (batch size 1).

    The summary holds ``best`` (teacher-student, `best_errors`), ``mean_over_M`` (per algorithm,
    the mean over M of the best trial's test error), ``real_data`` (dataset, whether it stands in
    for MNIST, test errors per algorithm, the paper's MNIST errors), ``updates`` (per
    teacher-student network) and ``paper_updates``.
    """
    dataset = dataset or ("mnist" if data_path is not None else "mnist1d")
    real = pick_size(REAL_DATA_SIZES, size)
    timer = Timer()
    taught = teacher_student_comparison(size, seed=seed, progress_bar=progress_bar, **overrides)
    data = real_data_comparison(dataset, seed=seed, mnist_path=data_path, **real)
    best = taught.summary["best"]
    mean = {a: float(np.mean([errors[a] for errors in best.values()])) for a in ALGORITHMS}
    real_errors = data.summary["best"][dataset]
    substitute = dataset != "mnist"
    updates = int(taught.summary["updates"])
    label = f"{dataset} (substitute for MNIST)" if substitute else "MNIST"
    paper = ", ".join(f"{a} {100 * e:.2f} %" for a, e in PAPER_MNIST_ERRORS.items())
    verdict = (
        f"{taught.verdict}\n\nMean over M of the best trial (%): "
        + ", ".join(f"{a} {100 * e:.2f}" for a, e in mean.items())
        + " (paper, Fig. 2A: MFB, PMFB and BackProp comparable, clipped BackProp worse)"
        + f"\n\n{label}, converging {real['hidden_per_output']} x 10 hidden network, "
        + f"{real['epochs']} passes, test error (%):\n\n{data.verdict}\n\n"
        + f"Paper, MNIST 785 x (301 x 10) x 10: {paper}."
    )
    ordered = mean["Clipped BackProp"] > max(mean["MFB"], mean["BackProp"])
    headline = (
        f"teacher-student, {updates} updates per network (paper: {PAPER_TEACHER_STUDENT_SAMPLES}):"
        f" mean best test error MFB {100 * mean['MFB']:.1f} %, BackProp "
        f"{100 * mean['BackProp']:.1f} %, clipped BackProp {100 * mean['Clipped BackProp']:.1f} %"
        f" (clipped worst: {'yes' if ordered else 'no'}; paper: yes); {label}: MFB "
        f"{100 * real_errors['MFB']:.2f} %, BackProp {100 * real_errors['BackProp']:.2f} % "
        f"(paper, MNIST: MFB {100 * PAPER_MNIST_ERRORS['MFB']:.2f} %, BackProp "
        f"{100 * PAPER_MNIST_ERRORS['BackProp']:.2f} %)"
    )
    summary = {
        "best": best,
        "mean_over_M": mean,
        "real_data": {
            "dataset": dataset,
            "substitute_for_mnist": substitute,
            "test_error": real_errors,
            "paper_mnist_test_error": dict(PAPER_MNIST_ERRORS),
        },
        "updates": updates,
        "paper_updates": PAPER_TEACHER_STUDENT_SAMPLES,
    }
    return ExperimentResult(
        "mfb_teacher_student",
        taught.rows + data.rows,
        taught.figures,
        verdict,
        summary,
        timer.seconds,
        headline,
    )


def plot_teacher_student(rows, curves):
    """Soudry & Meir 2013, Fig. 2A as a matplotlib Figure: (top) best test error against M for
    the four algorithms; (bottom) training error of MFB and BackProp over the last 5000 samples
    for each M's best trial. ``rows`` and ``curves`` as `teacher_student_comparison` makes them."""
    from matplotlib import colormaps

    best = best_errors(rows)
    tasks = [t for t in best if t.startswith("M=")]
    sizes = [int(t[2:]) for t in tasks]
    fig, axes = new_figure(nrows=2, width=7, height=3.5)
    top, bottom = axes[:, 0]
    markers = {"MFB": "o-", "PMFB": "s--", "BackProp": "^-", "Clipped BackProp": "v:"}
    for algorithm in ALGORITHMS:
        top.plot(sizes, [best[t][algorithm] for t in tasks], markers[algorithm], label=algorithm)
    top.set_xscale("log")
    top.set_xlabel("M (teacher M x M x 1)")
    top.set_ylabel("test error")
    top.set_title("Teacher-student test error (Soudry & Meir 2013, Fig. 2A)")
    top.legend()
    colors = colormaps["viridis"](np.linspace(0, 0.9, max(len(tasks), 1)))
    for color, task in zip(colors, tasks, strict=True):
        for algorithm, style in (("MFB", "-"), ("BackProp", ":")):
            runs = [r for r in rows if r["task"] == task and r["algorithm"] == algorithm]
            trial = min(runs, key=lambda r: r["test_error"])["trial"]
            samples, errors = curves[(task, trial, algorithm)]
            bottom.plot(samples, errors, style, color=color, label=f"{algorithm} {task}")
    bottom.set_xlabel("training samples")
    bottom.set_ylabel("training error (last 5000)")
    bottom.legend(fontsize="x-small", ncol=2)
    return fig
