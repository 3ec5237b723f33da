"""The per-logging-step image: q^l, c^l and log10 E[delta_l^2] against depth, measured points over
the theory's curves (Schoenholz et al. (2017), figs. 1 and 4a)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from bnn_init.primitives import headless_figure

__all__ = ["profile_figure", "profile_png"]

_PANELS = (
    ("q", "$q^l$", False),
    ("c", "$c^l$", False),
    ("grad_var", r"$E[\delta_l^2]$", True),
)


def profile_figure(measured, theory=None, title=None) -> Figure:
    """Three panels against the layer index l = 1..L.

    Args:
        measured: mapping with arrays ``q``, ``c`` and optionally ``grad_var`` (length L).
        theory: None or a mapping of the same keys (the theory's curves).
        title: figure title.
    """
    theory = theory or {}
    figure = headless_figure(figsize=(9.0, 2.8), dpi=72)
    # a fixed layout: tight_layout would take most of the rendering time
    figure.subplots_adjust(left=0.06, right=0.99, bottom=0.17, top=0.8, wspace=0.28)
    for index, (key, label, log) in enumerate(_PANELS):
        axes = figure.add_subplot(1, 3, index + 1)
        for source, style, name in ((theory, "-", "theory"), (measured, "o", "measured")):
            values = source.get(key)
            if values is None:
                continue
            values = np.asarray(values, dtype=np.float64)
            axes.plot(np.arange(1, values.size + 1), values, style, markersize=3, label=name)
        if log:
            axes.set_yscale("log")
        axes.set_xlabel("layer $l$")
        axes.set_title(label)
    figure.axes[0].legend(fontsize="small")
    if title:
        figure.suptitle(title, fontsize="small")
    return figure


def profile_png(measured, theory=None, title=None) -> bytes:
    """``profile_figure`` rendered as PNG bytes."""
    buffer = io.BytesIO()
    profile_figure(measured, theory, title).savefig(buffer, format="png")
    return buffer.getvalue()
