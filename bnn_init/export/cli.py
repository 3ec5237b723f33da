"""``bnn-init export MODEL_PATH OUT.tflite [--int8] [--target arm]``.

``add_parser(subparsers)`` registers the sub-command; ``run_export(args)`` runs it and
returns the exit status (``bnn_init.cli`` calls ``add_parser`` through its PLUGIN_COMMANDS table).
Models load from ``.keras``, ``.h5`` or a SavedModel directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bnn_init.cli_support import announce, output_folder
from bnn_init.primitives.checks import first_line


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``export`` sub-command to an ``argparse`` sub-parsers object."""
    parser = subparsers.add_parser(
        "export", help="export a trained BNN to an LCE flatbuffer (binary layers bitpacked)"
    )
    parser.add_argument("model_path", help="model file (.keras, .h5) or SavedModel directory")
    parser.add_argument("out", help="output .tflite path")
    parser.add_argument("--int8", action="store_true", help="int8 float layers")
    parser.add_argument(
        "--representative-data",
        help=".npy file of model inputs for int8 calibration (required with --int8 "
        "unless the model is quantization-aware)",
    )
    parser.add_argument(
        "--binarize",
        action="store_true",
        help="replace hard-tanh B_r quantizers by sign (changes the function; both parities shown)",
    )
    parser.add_argument(
        "--target",
        choices=("arm", "xcore"),
        default="arm",
        help="LCE target: arm (phones, Raspberry Pi) or xcore (XMOS microcontrollers)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--no-verify", action="store_true", help="skip the parity check")
    parser.set_defaults(func=run_export)
    return parser


def load_model(path):
    """Load a Keras model from ``.keras``, ``.h5`` or a SavedModel directory (not compiled);
    ValueError naming the file when it is missing or cannot be read as a model."""
    import larq  # noqa: F401  (registers Larq layers and quantizers for deserialisation)
    import tensorflow as tf

    path = Path(path)
    if not path.exists():
        raise ValueError(f"model_path={str(path)!r}: no such file or directory")
    is_saved_model = path.is_dir() and (path / "saved_model.pb").exists()
    if not (is_saved_model or (path.is_file() and path.suffix in (".keras", ".h5"))):
        raise ValueError(
            f"model_path={str(path)!r}: expected a .keras or .h5 file or a SavedModel directory"
        )
    try:
        return tf.keras.models.load_model(path, compile=False)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ValueError(
            f"model_path={str(path)!r} cannot be read as a Keras model "
            f"({type(error).__name__}: {first_line(error)[:200]})"
        ) from None


def load_representative_data(path, model):
    """The ``.npy`` calibration inputs at ``path``, checked against the model's input shape."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--representative-data {str(path)!r}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"--representative-data {str(path)!r} is not a .npy array ({error})"
        ) from None
    expected = tuple(model.input_shape[1:])
    fits = data.ndim == len(expected) + 1 and all(
        e is None or e == d for e, d in zip(expected, data.shape[1:], strict=True)
    )
    if not fits:
        raise ValueError(
            f"--representative-data {str(path)!r} has shape {data.shape}; the model takes "
            f"(examples, {', '.join('any' if e is None else str(e) for e in expected)})"
        )
    return data


def run_export(args) -> int:
    """Run ``bnn-init export``; print the report and return 0. Bad input (a missing or unreadable
    file, an existing OUT without --overwrite) raises ValueError before any conversion."""
    from bnn_init.export import export_lce
    from bnn_init.export.atomic import check_target

    output_folder(Path(args.out).parent, "the folder of OUT")  # created when missing, as --out
    try:
        check_target(args.out, args.overwrite)
    except FileExistsError:
        raise ValueError(f"out={args.out!r} exists; pass --overwrite to replace it") from None
    model = load_model(args.model_path)
    data = None
    if args.representative_data is not None:
        data = load_representative_data(args.representative_data, model)
    report = export_lce(
        model,
        args.out,
        target=args.target,
        int8=args.int8,
        binarize=args.binarize,
        representative_data=data,
        verify=not args.no_verify,
        overwrite=args.overwrite,
    )
    print(report.summary())
    announce([args.out])
    return 0
