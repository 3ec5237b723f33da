"""Monitor larq-zoo's architectures and write the README's table of how the graph theory does.

    python scripts/monitor_zoo_table.py        # about 30 minutes on 2 cores

For each model of the issue's list (random weights, trained-like BatchNorm, 128 standard-normal
probe inputs with random labels): the monitor's measurement at step 0 (what it logs at train
begin) with its local and chained predictions, then one epoch of ``fit`` on the probe inputs with
the monitor attached. A layer agrees when q is within 10 % and c within 0.05 (the monitor's band);
E[delta^2] agrees within 10 %. The part of README.md between ``<!-- monitor:start -->`` and
``<!-- monitor:end -->`` is replaced; nothing there is written by hand.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from readme_table import replace_table
from tensorboard.backend.event_processing import event_accumulator

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.callbacks.monitor import BAND_C, BAND_Q
from bnn_init.graph import GraphTheory
from bnn_init.testing import zoo_model

MODELS = (
    "QuickNetSmall",
    "QuickNet",
    "BiRealNet",
    "BinaryResNetE18",
    "BinaryDenseNet28",
    "RealToBinaryNet",
    "MeliusNet22",
    "BinaryAlexNet",
    "XNORNet",
)
PROBE = 128
START, END = "<!-- monitor:start -->", "<!-- monitor:end -->"
HEADER = (
    "| model | input | weight layers mapped | local q, c agree | local E[delta^2] agree "
    "| chained q, c agree | chained re-anchors | 1 epoch with monitor |\n"
    "|---|---|---|---|---|---|---|---|"
)


def _agree(measured, predicted):
    keep = np.isfinite(predicted["q"])
    with np.errstate(invalid="ignore", divide="ignore"):
        good = (np.abs(predicted["q"] / measured["q"] - 1) <= BAND_Q) & (
            np.abs(predicted["c"] - measured["c"]) <= BAND_C
        )
    return int(np.sum(good & keep)), int(keep.sum())


def _grad_agree(measured, predicted):
    keep = np.isfinite(predicted["grad_var"])
    ratio = predicted["grad_var"][keep] / measured["grad_var"][keep]
    return int(np.sum(np.abs(ratio - 1) <= 0.10)), int(keep.sum())


def _runs_with_last_layer(log_dir, depth):
    """How many of the three TensorBoard runs hold the last monitored layer's q."""
    tag = f"signal_propagation/layer_{depth:02d}/q"
    found = 0
    for run in ("measured", "theory", "theory_local"):
        events = event_accumulator.EventAccumulator(f"{log_dir}/{run}")
        events.Reload()
        found += tag in events.Tags().get("tensors", [])
    return found


def _cell(counts):
    good, total = counts
    return f"{good} / {total} ({100 * good / max(total, 1):.0f} %)"


def row(name: str, folder: Path) -> str:
    log_dir = str(folder / name)
    model = zoo_model(name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((PROBE, *model.input_shape[1:])).astype(np.float32)
    y = rng.integers(0, model.output_shape[-1], PROBE)
    model.compile("adam", "sparse_categorical_crossentropy")
    theory = GraphTheory(model)
    weights = theory.weight_nodes
    probe = SignalPropagationMonitor(x, y)
    probe.set_model(model)
    probe.measure()
    latest = probe.latest
    reanchors = len(theory.unmapped())
    monitor = SignalPropagationMonitor(x, y, log_dir=log_dir)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[monitor])
    seconds = time.perf_counter() - start
    monitor.wait()
    readable = _runs_with_last_layer(log_dir, len(latest["measured"]["q"]))
    done = "completes" if len(history.history["loss"]) == 1 else "FAILED"
    done += f", {readable} / 3 runs readable"
    print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    mapped = round(theory.mapped_weight_share * len(weights))
    return (
        f"| {name} | {model.input_shape[1]}x{model.input_shape[2]} | {mapped} / {len(weights)} "
        f"| {_cell(_agree(latest['measured'], latest['local']))} "
        f"| {_cell(_grad_agree(latest['measured'], latest['local']))} "
        f"| {_cell(_agree(latest['measured'], latest['chained']))} | {reanchors} "
        f"| {done} ({seconds:.0f} s) |"
    )


if __name__ == "__main__":
    sys.exit(replace_table(START, END, HEADER, row, MODELS))
