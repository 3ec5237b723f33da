"""Matplotlib figures drawn headless: a `Figure` with its own Agg canvas, never through pyplot,
so making one neither needs a display nor changes the backend of the user's process (which
``matplotlib.use("Agg")`` would).

Example:
    >>> figure, axes = new_figure(ncols=2)
    >>> axes.shape, type(figure.canvas).__name__
    ((1, 2), 'FigureCanvasAgg')
"""

from __future__ import annotations

__all__ = ["headless_figure", "new_figure"]


def headless_figure(**options):
    """A matplotlib ``Figure(**options)`` on an Agg canvas (``savefig`` works, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**options)
    FigureCanvasAgg(figure)
    return figure


def new_figure(ncols=1, nrows=1, width=4.2, height=3.4):
    """A headless figure with an (nrows, ncols) array of axes, ``width`` x ``height`` inches
    each, constrained layout."""
    figure = headless_figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return figure, figure.subplots(nrows, ncols, squeeze=False)
