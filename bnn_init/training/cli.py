"""``bnn-init mfb-teacher-student``: reproduce Soudry & Meir (2013), Fig. 2A.

MFB-BackProp against BackProp and clipped BackProp on the teacher-student task of Soudry & Meir
(2013), Fig. 2A: a random binary teacher network of size M, learnt online by a student of the
same shape. Writes mfb_teacher_student.csv (one row per size, trial and algorithm),
mfb_teacher_student.txt (best test error per size, in %) and mfb_teacher_student.png (the
figure) into the --out folder. Sizes of the run (--size, or --quick / --full):

  default: the paper's M in {3, 5, 7, 9, 21, 31, 51, 101}, 2e5 training samples (presented
           once), 1e4 fresh test samples, best of 3 trials (about 3 minutes on 2 CPU cores);
  --quick: M in {5, 9, 21}, 5e3 samples, 1 trial, 2e3 test samples (about 10 seconds);
  --full:  as the paper, best of 10 trials (about 10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse

from bnn_init.cli_support import (
    add_out_option,
    add_size_option,
    announce,
    output_folder,
    plain_help,
)

COMMAND = "mfb-teacher-student"
# command-line option -> setting of TEACHER_STUDENT_SIZES
OPTIONS = {"sizes": "sizes", "samples": "n_train", "test_samples": "n_test", "trials": "trials"}


def add_parser(subparsers):
    """Register the ``mfb-teacher-student`` sub-command on an argparse ``subparsers`` object;
    ``args.func(args)`` then runs it and returns the exit status 0 (bad options raise
    ValueError, which ``bnn_init.cli.main`` reports)."""
    from .experiments import TEACHER_STUDENT_SIZES

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
    add_size_option(parser, TEACHER_STUDENT_SIZES)
    parser.set_defaults(func=lambda args: run(args) and 0)
    return parser


def _overrides(args) -> dict:
    """The settings given on the command line, checked under their option names."""
    for option in ("samples", "trials", "test_samples"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise ValueError(f"--{option.replace('_', '-')} must be >= 1, got {value}")
    if args.sizes is not None and any(m < 1 for m in args.sizes):
        raise ValueError(f"--sizes must all be >= 1, got {list(args.sizes)}")
    return {
        setting: tuple(value) if isinstance(value, list) else value
        for option, setting in OPTIONS.items()
        if (value := getattr(args, option)) is not None
    }


def run(args):
    """Run the comparison and write its CSV, figure and table (the verdict, ``.txt``) into
    ``args.out``; returns the `ExperimentResult`."""
    from .experiments import teacher_student_comparison

    overrides = _overrides(args)
    out = output_folder(args.out)
    result = teacher_student_comparison(
        args.size, seed=args.seed, progress_bar=not args.no_progress, **overrides
    )
    paths = result.save(out)
    print(result.verdict)
    announce(paths)
    return result
