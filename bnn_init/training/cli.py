"""``bnn-init mfb-teacher-student``: reproduce Soudry & Meir (2013), Figs. 2A and 2B.

MFB-BackProp against BackProp and clipped BackProp (Soudry & Meir (2013), sec. 5): on the
teacher-student task of Fig. 2A (a random binary teacher network of size M, learnt online by a
student of the same shape) and on real data as in Fig. 2B (local MNIST with --data-path, else
MNIST-1D as a substitute, said so in the output). Writes mfb_teacher_student.csv (one row per
task, trial and algorithm), mfb_teacher_student.txt (the best test errors, in %, beside the
paper's) and mfb_teacher_student.png (Fig. 2A) into the --out folder. Sizes (--size, --quick):

  default: the paper's M in {3, 5, 7, 9, 21, 31, 51, 101}, 2e5 training samples (each learnt
           once), 1e4 fresh test samples, best of 10 trials; real data with the paper's 301 x 10
           hidden neurons, 10 passes;
  --quick: M in {5, 9, 21}, 5e3 samples, 1 trial, 2e3 test samples; real data with 30 x 10
           hidden neurons, 2 passes (seconds).
"""

from __future__ import annotations

import argparse

from bnn_init.cli_support import (
    add_data_options,
    add_out_option,
    add_size_option,
    announce,
    check_data_options,
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
    parser.add_argument("--trials", type=int, default=None, help="trials per M (10)")
    add_data_options(
        parser, None, "real data of the Fig. 2B comparison (mnist with --data-path, else mnist1d)"
    )
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
    from .experiments import experiment

    overrides = _overrides(args)
    check_data_options(args)
    out = output_folder(args.out)
    result = experiment(
        args.size,
        dataset=args.dataset,
        data_path=args.data_path,
        seed=args.seed,
        progress_bar=not args.no_progress,
        **overrides,
    )
    paths = result.save(out)
    print(result.verdict)
    announce(paths)
    return result
