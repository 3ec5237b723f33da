"""``bnn-init export MODEL_PATH OUT.tflite [--int8] [--target arm]``.

``add_parser(subparsers)`` registers the sub-command; ``run_export(args)`` runs it and
returns the exit status (``bnn_init.cli`` calls ``add_parser`` through its PLUGIN_COMMANDS table).
Models load from ``.keras``, ``.h5`` or a SavedModel directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


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
    """Load a Keras model from ``.keras``, ``.h5`` or a SavedModel directory (not compiled)."""
    import larq  # noqa: F401  (registers Larq layers and quantizers for deserialisation)
    import tensorflow as tf

    path = Path(path)
    is_saved_model = path.is_dir() and (path / "saved_model.pb").exists()
    if not (is_saved_model or (path.is_file() and path.suffix in (".keras", ".h5"))):
        raise ValueError(
            f"model_path={str(path)!r}: expected a .keras or .h5 file or a SavedModel directory"
        )
    return tf.keras.models.load_model(path, compile=False)


def run_export(args) -> int:
    """Run ``bnn-init export``; print the report and return 0."""
    from bnn_init.export import export_lce

    model = load_model(args.model_path)
    data = None if args.representative_data is None else np.load(args.representative_data)
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
    return 0
