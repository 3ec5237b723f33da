"""TensorBoard output of the monitor: three runs with identical tags, a custom-scalars layout, images.

Measured values go to the run ``LOG_DIR/measured``, the theory's chained predictions (from the
first layer on) to ``LOG_DIR/theory`` and its local ones (each layer's map applied to its
measured input) to ``LOG_DIR/theory_local``, under the same tags, so TensorBoard's Scalars
dashboard overlays them. Tags:
``signal_propagation/layer_{l:02d}/{quantity}`` (l counts monitored layers from 1) and
``signal_propagation/depth_scale/{xi_c,xi_grad}``; the image ``signal_propagation/profile``.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalar_summary

__all__ = [
    "PREFIX",
    "QUANTITIES",
    "SummaryWriter",
    "depth_scale_tag",
    "is_chief",
    "layer_tag",
    "layout",
]

PREFIX = "signal_propagation"
#: per-layer quantity -> chart title in the custom-scalars layout
QUANTITIES = {
    "q": "q^l: second moment of pre-activations",
    "c": "c^l: correlation of paired inputs",
    "grad_var": "E[delta_l^2]: gradient variance",
    "kernel_grad_norm": "||dE/dW^l||^2: kernel gradient",
    "saturation": "saturation: share outside the linear range",
    "sign_flips": "sign flips of latent weights since the last log",
}
DEPTH_SCALES = ("xi_c", "xi_grad")
IMAGE_TAG = f"{PREFIX}/profile"


def is_chief(strategy) -> bool:
    """Whether this process writes the event files: in multi-worker training
    (``MultiWorkerMirroredStrategy``) only the chief does, that is the task of type "chief", or
    worker 0 of a cluster without one; every process of any other strategy writes."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    if task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return task_type == "worker" and int(resolver.task_id or 0) == 0 and "chief" not in cluster


def layer_tag(layer, quantity):
    """``signal_propagation/layer_{layer:02d}/{quantity}``, layer counted from 1."""
    return f"{PREFIX}/layer_{layer:02d}/{quantity}"


def depth_scale_tag(name):
    return f"{PREFIX}/depth_scale/{name}"


PER_LAYER_CHARTS = 16  # deeper models get one chart per block of BLOCK layers
BLOCK = 8


def _layer_charts(quantity, depth, names):
    """One chart per layer up to PER_LAYER_CHARTS layers, else one per block of BLOCK layers (a
    tag regex over the block; the title names its first and last layer)."""
    if depth <= PER_LAYER_CHARTS:
        blocks = [(layer, layer) for layer in range(1, depth + 1)]
    else:
        blocks = [(s, min(s + BLOCK - 1, depth)) for s in range(1, depth + 1, BLOCK)]
    charts = []
    for first, last in blocks:
        title = f"layer {first:02d}" if first == last else f"layers {first:02d}-{last:02d}"
        if names is not None:
            title += f" ({names[first - 1]}" + ("" if first == last else f" .. {names[last - 1]}")
            title += ")"
        tags = "|".join(f"{layer:02d}" for layer in range(first, last + 1))
        pattern = (
            f"^{layer_tag(first, quantity)}$"
            if first == last
            else (f"^{PREFIX}/layer_({tags})/{quantity}$")
        )
        charts.append(
            layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=[pattern]))
        )
    return charts


def layout(depth, names=None) -> layout_pb2.Layout:
    """Custom-scalars layout: one category per quantity with one chart per layer (all runs in each
    chart; per block of 8 layers beyond 16 layers, so that 50-100 layers stay readable), and one
    for the depth scales. ``names``: the monitored layers' names, for the chart titles."""
    categories = [
        layout_pb2.Category(title=f"{PREFIX}: {title}", chart=_layer_charts(quantity, depth, names))
        for quantity, title in QUANTITIES.items()
    ]
    charts = [
        layout_pb2.Chart(
            title=name,
            multiline=layout_pb2.MultilineChartContent(tag=[f"^{depth_scale_tag(name)}$"]),
        )
        for name in DEPTH_SCALES
    ]
    categories.append(
        layout_pb2.Category(title=f"{PREFIX}: fitted vs theory depth scales", chart=charts)
    )
    return layout_pb2.Layout(category=categories)


class SummaryWriter:
    """The TensorBoard runs ``measured``, ``theory`` and ``theory_local`` under ``log_dir``.

    Example:
        >>> writer = SummaryWriter("logs/run1")  # doctest: +SKIP
        >>> writer.write_layout(depth=10)  # doctest: +SKIP
        >>> writer.scalars("measured", step=0, values={layer_tag(1, "q"): 0.98})  # doctest: +SKIP
        >>> writer.close()  # doctest: +SKIP
    """

    RUNS = ("measured", "theory", "theory_local")

    def __init__(self, log_dir):
        self.log_dir = os.fspath(log_dir)
        self._writers = {
            run: tf.summary.create_file_writer(os.path.join(self.log_dir, run)) for run in self.RUNS
        }

    def _writer(self, run):
        if run not in self._writers:
            raise ValueError(f"run={run!r} is not allowed: it must be one of {self.RUNS}")
        return self._writers[run]

    def write_layout(self, depth, names=None):
        """The custom-scalars layout (into the ``measured`` run; the plugin merges all runs)."""
        serialized = custom_scalar_summary.pb(layout(depth, names)).SerializeToString()
        with self._writer("measured").as_default():
            tf.summary.experimental.write_raw_pb(serialized, step=0)
        self._writer("measured").flush()

    def scalars(self, run, step, values):
        """Write ``values`` (tag -> float; NaN and inf are written as such) at ``step``."""
        with self._writer(run).as_default():
            for tag, value in values.items():
                tf.summary.scalar(tag, np.float32(value), step=step)

    def image(self, step, png):
        """A PNG (bytes) as the image ``signal_propagation/profile`` of the ``measured`` run."""
        pixels = tf.io.decode_png(png, channels=4)[tf.newaxis]
        with self._writer("measured").as_default():
            tf.summary.image(IMAGE_TAG, pixels, step=step)

    def text(self, step, tag, line):
        with self._writer("measured").as_default():
            tf.summary.text(tag, line, step=step)

    def flush(self):
        for writer in self._writers.values():
            writer.flush()

    def close(self):
        for writer in self._writers.values():
            writer.close()
