"""``bnn-init mfb-teacher-student``: reproduce Soudry & Meir (2013), Fig. 2A.

MFB-BackProp against BackProp and clipped BackProp on the teacher-student task of Soudry & Meir
(2013), Fig. 2A: a random binary teacher network of size M, learnt online by a student of the
same shape. Writes mfb_teacher_student.csv (one row per size, trial and algorithm),
mfb_teacher_student.md (best test error per size, in %) and mfb_teacher_student.png (the figure)
into the --out folder. Sizes of the run:

  default: the paper's M in {3, 5, 7, 9, 21, 31, 51, 101}, 2e5 training samples (presented
           once), 1e4 fresh test samples, best of 3 trials (about 3 minutes on 2 CPU cores);
  --quick: M in {5, 9, 21}, 5e3 samples, 1 trial, 2e3 test samples (about 10 seconds);
  --full:  as the paper, best of 10 trials (about 10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import time

from bnn_init.cli_support import add_out_option, announce, output_folder, plain_help

COMMAND = "mfb-teacher-student"
QUICK = {"sizes": (5, 9, 21), "samples": 5_000, "trials": 1, "test_samples": 2_000}
FULL = {"trials": 10}


def add_parser(subparsers):
    """Register the ``mfb-teacher-student`` sub-command on an argparse ``subparsers`` object;
    ``args.func(args)`` then runs it and returns the exit status 0 (bad options raise
    ValueError, which ``bnn_init.cli.main`` reports)."""
    parser = subparsers.add_parser(
        COMMAND,
        help="MFB-BackProp vs BackProp on the teacher-student task (Soudry & Meir 2013, Fig. 2A)",
        description=plain_help(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="teacher sizes M")
    parser.add_argument("--samples", type=int, default=None, help="training samples (2e5)")
    parser.add_argument("--test-samples", type=int, default=None, help="fresh test samples (1e4)")
    parser.add_argument("--trials", type=int, default=None, help="trials per M (3)")
    parser.add_argument("--seed", type=int, default=0)
    add_out_option(parser, "runs/mfb-teacher-student")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small run for smoke tests")
    size.add_argument("--full", action="store_true", help="the paper's 10 trials per M")
    parser.set_defaults(func=lambda args: run(args) and 0)
    return parser


def _settings(args):
    settings = {"sizes": None, "samples": 200_000, "trials": 3, "test_samples": 10_000}
    if args.quick:
        settings.update(QUICK)
    if args.full:
        settings.update(FULL)
    for key in settings:
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    for key in ("samples", "trials", "test_samples"):
        if settings[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1, got {settings[key]}")
    return settings


def run(args):
    """Run the comparison and write the table, CSV and figure; returns the ``Comparison``."""
    from .experiments import PAPER_SIZES, plot_teacher_student, teacher_student_comparison

    settings = _settings(args)
    sizes = settings["sizes"] or PAPER_SIZES
    if any(m < 1 for m in sizes):
        raise ValueError(f"--sizes must all be >= 1, got {list(sizes)}")
    out = output_folder(args.out)
    start = time.perf_counter()
    result = teacher_student_comparison(
        sizes=sizes,
        n_train=settings["samples"],
        n_test=settings["test_samples"],
        trials=settings["trials"],
        seed=args.seed,
        progress_bar=not args.no_progress,
    )
    table = result.table()
    header = (
        f"Teacher-student test error (%), best of {settings['trials']} trial(s), "
        f"{settings['samples']} training and {settings['test_samples']} test samples "
        f"({time.perf_counter() - start:.0f} s)\n\n"
    )
    paths = [out / f"mfb_teacher_student.{suffix}" for suffix in ("md", "csv", "png")]
    paths[0].write_text(header + table + "\n")
    result.to_csv(paths[1])
    plot_teacher_student(result).savefig(paths[2], dpi=120)
    print(header + table)
    announce(paths)
    return result
