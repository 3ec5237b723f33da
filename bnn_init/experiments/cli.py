"""``bnn-init reproduce NAME``: rerun a paper's trainability experiment with one command.

    bnn-init reproduce schoenholz-depth --quick --out runs/reproduce
    bnn-init reproduce wang-bnn --dataset mnist --data-path ~/data/mnist

Each experiment writes ``NAME.csv`` (raw results), ``NAME*.png`` (figures) and ``NAME.txt`` (the
verdict, also printed) into ``--out``. Sizes: ``--quick`` (about a minute on 2 CPU cores; the
unit tests run it), the default (under 30 minutes, with a progress bar).
The experiments of other modules (``trainability``, ``mfb-teacher-student``) plug in as further
names when their modules are importable.
"""

from __future__ import annotations

import argparse
import importlib
from functools import partial

from bnn_init.cli_support import (
    add_data_options,
    add_out_option,
    add_size_option,
    announce,
    check_data_options,
    output_folder,
    plain_help,
)
from bnn_init.primitives.checks import check_choice

__all__ = ["EXPERIMENTS", "README_EXPERIMENTS", "add_parser", "run_experiment"]

# name -> (module, function, help)
EXPERIMENTS = {
    "schoenholz-depth": (
        "bnn_init.experiments.schoenholz",
        "depth_experiment",
        "tanh nets over depth x sigma_w2 vs n xi_c, with dropout (Schoenholz Figs. 5-6)",
    ),
    "schoenholz-gradients": (
        "bnn_init.experiments.schoenholz",
        "gradient_experiment",
        "per-layer gradient norms of deep random tanh nets vs xi_grad (Schoenholz Fig. 4)",
    ),
    "wang-bnn": (
        "bnn_init.experiments.wang",
        "experiment",
        "hard-tanh BNNs: sign vs B_r vs float, r, depth x sigma_w2 (Wang Tables 1-2, Figs. 7-8)",
    ),
    "sari-init": (
        "bnn_init.experiments.sari",
        "experiment",
        "constant-variance init and the BatchNorm ablation of a binary conv net (Sari Tables 1-2)",
    ),
}
# Modules whose add_parser(subparsers) adds their own experiment under ``reproduce``.
PLUGINS = ("bnn_init.experiments.trainability", "bnn_init.training.cli")
# Plugin experiments that also return an `ExperimentResult` (run by name like `EXPERIMENTS`).
PLUGIN_EXPERIMENTS = {
    "trainability": ("bnn_init.experiments.trainability", "experiment"),
    "mfb-teacher-student": ("bnn_init.training.experiments", "experiment"),
}
# The experiments of the README's "Results" section (``make reproduce``), in its order.
README_EXPERIMENTS = (*EXPERIMENTS, *PLUGIN_EXPERIMENTS)
SIZES = ("quick", "default")


def run_experiment(name, **kwargs):
    """Run experiment ``name`` (one of `README_EXPERIMENTS`) and return its `ExperimentResult`;
    ``kwargs`` go to the experiment function (size, dataset, data_path, seed, progress_bar...)."""
    check_choice("experiment", name, README_EXPERIMENTS)
    module, function = {**EXPERIMENTS, **PLUGIN_EXPERIMENTS}[name][:2]
    return getattr(importlib.import_module(module), function)(**kwargs)


def add_parser(subparsers):
    """Register ``reproduce`` (with one sub-command per experiment) on an argparse
    ``subparsers`` object; ``args.func(args)`` runs the chosen experiment and returns 0."""
    parser = subparsers.add_parser(
        "reproduce",
        help="rerun a paper's trainability experiment (CSV, PNG and a verdict vs theory)",
        description=plain_help(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="NAME")
    for name, (_, _, text) in EXPERIMENTS.items():
        p = sub.add_parser(name, help=text, description=text)
        add_size_option(p, SIZES)
        add_data_options(p, "digits", "data (digits)")
        p.add_argument("--seed", type=int, default=0, help="base random seed (0)")
        add_out_option(p, "runs/reproduce")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.set_defaults(func=partial(_run, name))
    for module in PLUGINS:
        try:
            plugin = importlib.import_module(module)
        except ImportError:
            continue
        plugin.add_parser(sub)
    return parser


def _run(name, args) -> int:
    check_data_options(args)
    out = output_folder(args.out)  # refused before minutes of work, not after
    result = run_experiment(
        name,
        size=args.size,
        dataset=args.dataset,
        data_path=args.data_path,
        seed=args.seed,
        progress_bar=not args.no_progress,
    )
    paths = result.save(out)
    print(result.verdict)
    print(f"finished in {result.seconds:.0f} s")
    announce(paths)
    return 0
