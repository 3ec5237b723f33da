"""The comparisons of Soudry & Meir (2013, sec. 5): MFB-BackProp, PMFB-BackProp, BackProp and
clipped BackProp on the same converging architecture, for the teacher-student task (Fig. 2A) and
for offline real data (digits, MNIST-1D, local MNIST). Results are tidy rows (one per size, trial
and algorithm) plus learning curves; ``plot_teacher_student`` draws Fig. 2A."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import datasets
from ..experiments.common import progress
from ..primitives import new_figure, write_csv
from .backprop import learning_rate_scan
from .mfb import MFBNetwork

PAPER_SIZES = (3, 5, 7, 9, 21, 31, 51, 101)
LEARNING_RATE_GRID = (0.1, 0.03, 0.01, 0.003, 0.001)
ALGORITHMS = ("MFB", "PMFB", "BackProp", "Clipped BackProp")


@dataclass
class Comparison:
    """Tidy results: ``rows`` are dicts with keys ``task`` (``"M=9"``, ``"digits"``...), ``size``,
    ``trial``, ``algorithm``, ``test_error``, ``learning_rate`` (BackProp rows) and ``seconds``;
    ``curves[(task, trial, algorithm)] = (samples, training error over the last 5000 samples)``."""

    rows: list = field(default_factory=list)
    curves: dict = field(default_factory=dict)

    def best(self):
        """Per task and algorithm, the lowest test error over trials (Soudry & Meir 2013, Fig. 2A shows "the
        trial with the best test error for each M"): ``{task: {algorithm: error}}``."""
        out = {}
        for row in self.rows:
            slot = out.setdefault(row["task"], {})
            slot[row["algorithm"]] = min(slot.get(row["algorithm"], np.inf), row["test_error"])
        return out

    def table(self):
        """Markdown table of ``best()``: one line per task, one column per algorithm (in %)."""
        lines = ["| task | " + " | ".join(ALGORITHMS) + " |", "|---" * (len(ALGORITHMS) + 1) + "|"]
        for task, errors in self.best().items():
            cells = [f"{100 * errors[a]:.2f}" if a in errors else "-" for a in ALGORITHMS]
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_csv(self, path):
        keys = ["task", "size", "trial", "algorithm", "test_error", "learning_rate", "seconds"]
        write_csv(self.rows, path, columns=keys)


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


def _compare(result, run: Run, data, verbose):
    (x, y), (x_val, y_val), (x_test, y_test) = data
    task, trial = run.task, run.trial
    hidden_per_output, outputs, epochs, seed = (
        run.hidden_per_output,
        run.outputs,
        run.epochs,
        run.seed,
    )
    start = time.perf_counter()
    mfb = MFBNetwork(x.shape[1], hidden_per_output, outputs, seed=seed)
    mfb.fit(x, y, epochs=epochs, verbose=verbose)
    mfb_errors = mfb.evaluate(x_test, y_test)
    mfb_seconds = time.perf_counter() - start
    start = time.perf_counter()
    bp, _ = learning_rate_scan(
        x, y, x_val, y_val, hidden_per_output, outputs, run.learning_rates, epochs=epochs, seed=seed
    )
    bp_errors = bp.evaluate(x_test, y_test)
    bp_seconds = time.perf_counter() - start
    base = {"task": task, "size": run.size, "trial": trial}
    for algorithm, error, seconds, rate in (
        ("MFB", mfb_errors["error"], mfb_seconds, None),
        ("PMFB", mfb_errors["pmfb_error"], mfb_seconds, None),
        ("BackProp", bp_errors["error"], bp_seconds, bp.learning_rate),
        ("Clipped BackProp", bp_errors["clipped_error"], bp_seconds, bp.learning_rate),
    ):
        result.rows.append(
            {**base, "algorithm": algorithm, "test_error": error, "seconds": seconds}
            | ({"learning_rate": rate} if rate is not None else {})
        )
    for algorithm, net in (("MFB", mfb), ("BackProp", bp)):
        curve = net.training_curve_
        result.curves[(task, trial, algorithm)] = (
            np.asarray(curve.samples),
            np.asarray(curve.values["error"]),
        )


def teacher_student_comparison(
    sizes=PAPER_SIZES,
    n_train=200_000,
    n_test=10_000,
    trials=1,
    learning_rates=LEARNING_RATE_GRID,
    n_val=2_000,
    seed=0,
    verbose=0,
    progress_bar=False,
):
    """Soudry & Meir 2013, Fig. 2A. For every M in ``sizes`` and every trial: draw a random binary
    ``M x M x 1`` teacher, ``n_train`` training samples (the paper: 2e5, presented once),
    ``n_val`` validation samples for BackProp's learning-rate scan and ``n_test`` fresh test
    samples (the paper: 1e4); train an ``MFBNetwork(M, M, 1)`` and BackProp networks of the same
    architecture; record the test errors of MFB, PMFB, BackProp and clipped BackProp.
    ``progress_bar``: a progress bar on stderr, one step per M and trial.

    Example::

        >>> result = teacher_student_comparison(sizes=(5,), n_train=2000, n_test=1000)
        >>> print(result.table())  # doctest: +SKIP
    """
    result = Comparison()
    bar = progress(len(sizes) * int(trials), "mfb-teacher-student", progress_bar)
    for M in sizes:
        for trial in range(int(trials)):
            bar.set_postfix_str(f"M={M}, trial {trial + 1}")
            teacher_seed = int(np.random.default_rng([seed, M, trial]).integers(2**31))
            data = [
                datasets.teacher_student(M, n, seed=teacher_seed + i, teacher_seed=teacher_seed)
                for i, n in enumerate((n_train, n_val, n_test), start=1)
            ]
            run = Run(f"M={M}", M, trial, M, 1, 1, tuple(learning_rates), trial + seed)
            _compare(result, run, data, verbose)
            bar.update()
    return result


def load_real_dataset(name, seed=0, mnist_path=None):
    """``(train, val, test)`` splits of a real dataset, standardised and with a constant 1 input
    (Soudry & Meir 2013, sec. 5). ``name``: "digits", "mnist1d" or "mnist" (needs ``mnist_path``). The last 20 %
    of the training set (10 000 images for MNIST) is held out for the learning-rate scan."""
    if name == "digits":
        train, test = datasets.load_digits(seed=seed, add_bias=True)
    elif name == "mnist1d":
        train, test = datasets.load_mnist1d(add_bias=True)
    elif name == "mnist":
        if mnist_path is None:
            raise ValueError("mnist_path must name local MNIST files for dataset 'mnist', got None")
        train, test = datasets.load_mnist(mnist_path, add_bias=True)
    else:
        raise ValueError(f"dataset must be one of 'digits', 'mnist1d', 'mnist', got {name!r}")
    x, y = train
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
    verbose=0,
):
    """MFB, PMFB, BackProp and clipped BackProp on a real dataset with the converging
    ``D x (K x 10) x 10`` network (Soudry & Meir 2013, sec. 5 uses K = 301 on MNIST, with 785 inputs). Both
    algorithms see the same training samples for ``epochs`` shuffled passes; BackProp's rate is
    picked on the held-out split. Returns a ``Comparison`` with task = ``name``."""
    train, val, test = load_real_dataset(name, seed=seed, mnist_path=mnist_path)
    result = Comparison()
    run = Run(
        name, hidden_per_output, 0, hidden_per_output, 10, epochs, tuple(learning_rates), seed
    )
    _compare(result, run, (train, val, test), verbose)
    return result


def plot_teacher_student(result):
    """Soudry & Meir 2013, Fig. 2A as a matplotlib Figure: (top) best test error against M for the four
    algorithms; (bottom) training error of MFB and BackProp over the last 5000 samples for each
    M's best trial."""
    from matplotlib import colormaps

    best = result.best()
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
            runs = [r for r in result.rows if r["task"] == task and r["algorithm"] == algorithm]
            trial = min(runs, key=lambda r: r["test_error"])["trial"]
            samples, errors = result.curves[(task, trial, algorithm)]
            bottom.plot(samples, errors, style, color=color, label=f"{algorithm} {task}")
    bottom.set_xlabel("training samples")
    bottom.set_ylabel("training error (last 5000)")
    bottom.legend(fontsize="x-small", ncol=2)
    return fig
