"""What every ``bnn-init`` sub-command shares: ``--out DIR`` is always a folder, created when
missing; ``--size NAME`` picks one of the command's run sizes (`bnn_init.primitives.sizes`), with
``--quick`` as shorthand; ``--dataset`` / ``--data-path`` name the offline data (local MNIST
needs its files); every file written is announced with its full path;
help text is plain text (no docstring markup).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_out_option(parser, "runs/demo")
    >>> parser.parse_args([]).out
    PosixPath('runs/demo')
    >>> add_size_option(parser, ("quick", "default"))
    >>> parser.parse_args(["--quick"]).size
    'quick'
"""

from __future__ import annotations

import re
from pathlib import Path

from bnn_init.experiments.data import DATASETS

__all__ = [
    "add_data_options",
    "add_out_option",
    "add_size_option",
    "announce",
    "check_data_options",
    "output_folder",
    "plain_help",
]

QUICK_HELP = "--size quick: a small run, minutes or less on 2 CPU cores (for smoke tests)"


def add_out_option(parser, default: str) -> None:
    """``--out DIR`` (a folder, created when missing) with ``default`` on an argparse parser."""
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(default),
        metavar="DIR",
        help=f"output folder, created when missing ({default})",
    )


def add_size_option(parser, sizes, default: str = "default") -> None:
    """``--size NAME`` (one of ``sizes``, ``default`` when not given) on an argparse parser, and
    ``--quick`` for ``--size quick``; ``args.size`` is the chosen name."""
    names = tuple(sizes)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--size", choices=names, default=default, help=f"run size ({default})")
    if "quick" in names:
        group.add_argument(
            "--quick", dest="size", action="store_const", const="quick", help=QUICK_HELP
        )


def add_data_options(parser, default, help: str) -> None:
    """``--dataset`` (one of `bnn_init.experiments.data.DATASETS`, ``default`` when not given,
    described by ``help``) and ``--data-path`` (the local MNIST files; `check_data_options`)."""
    parser.add_argument("--dataset", choices=DATASETS, default=default, help=help)
    parser.add_argument("--data-path", default=None, help="mnist.npz or IDX folder for mnist")


def check_data_options(args) -> None:
    """ValueError when ``--dataset mnist`` comes without ``--data-path`` (before any work)."""
    if args.dataset == "mnist" and args.data_path is None:
        raise ValueError("--dataset mnist needs --data-path (a mnist.npz or IDX folder)")


def output_folder(out, option="--out") -> Path:
    """``out`` as a folder that exists: created (with its parents) when missing; ValueError,
    naming ``option``, when it names something that is not a folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} must be a folder, but {str(out)!r} is a file")
    out.mkdir(parents=True, exist_ok=True)
    return out


def announce(paths) -> None:
    """Print ``wrote PATH`` for each written file or folder, PATH absolute."""
    for path in paths:
        print(f"wrote {Path(path).resolve()}")


def plain_help(docstring: str) -> str:
    """A module docstring as ``--help`` text: reStructuredText literals and roles unwrapped.

    >>> plain_help("writes ``NAME.csv`` into ``--out`` (see :func:`run`)")
    'writes NAME.csv into --out (see run)'
    """
    text = re.sub(r":\w+:`([^`]+)`", r"\1", docstring)
    return re.sub(r"``?([^`]+?)``?", r"\1", text)
