"""Export every larq-zoo architecture and write the README's table of what export_lce did.

    python scripts/zoo_export_table.py        # about 10 minutes on 2 cores

Each model of :data:`bnn_init.testing.ZOO_MODELS` (random weights, trained-like BatchNorm) is
exported with ``export_lce(..., compare_default=True)`` on the 64 standard-normal inputs of
``tests/export/test_export_zoo_a.py`` and ``_b.py``; the part of README.md between ``<!-- zoo:start -->`` and
``<!-- zoo:end -->`` is replaced by one row per model. Nothing there is written by hand.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from readme_table import replace_table

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.export import export_lce
from bnn_init.testing import ZOO_MODELS, zoo_model

START, END = "<!-- zoo:start -->", "<!-- zoo:end -->"
HEADER = (
    "| model | input | LceBconv2d (LCE default) | file kB (LCE default) | exact inputs "
    "| max \\|diff\\| | argmax | near-tie flips | rewrites |\n|---|---|---|---|---|---|---|---|---|"
)


def row(name: str, folder: Path) -> str:
    model = zoo_model(name)
    x = np.random.default_rng(0).standard_normal((64, *model.input_shape[1:])).astype(np.float32)
    start = time.perf_counter()
    rep = export_lce(model, folder / f"{name}.tflite", sample_inputs=x, compare_default=True)
    seconds = time.perf_counter() - start
    default, p = rep.default_conversion, rep.parity
    padding = sum("smaller than the" in n for n in rep.notes)
    moved = sum("bias moved to mid-gap" in n for n in rep.notes)
    extra_bconv = rep.bitpacked_ops - default["op_counts"].get("LceBconv2d", 0)
    what = [f"{padding} padding corrections"] if padding else []
    what += [f"{moved} biases mid-gap"] if moved else []
    what += [f"{extra_bconv} binary dense as 1x1 conv"] if extra_bconv else []
    flips = p.get("near_tie_flips", 0)
    print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    return (
        f"| {name} | {model.input_shape[1]}x{model.input_shape[2]} | {rep.bitpacked_ops} "
        f"({default['op_counts'].get('LceBconv2d', 0)}) | {rep.file_bytes / 1e3:.1f} "
        f"({default['file_bytes'] / 1e3:.1f}) | {p['samples']} / 64 | {p['max_abs_diff']:.2g} "
        f"| {100 * p['argmax_agreement']:.0f} % | {flips} | {', '.join(what) or '-'} |"
    )


if __name__ == "__main__":
    sys.exit(replace_table(START, END, HEADER, row, ZOO_MODELS))
