"""Matplotlib figures shared by the CLI, the callbacks and the examples.

Figures are built as `matplotlib.figure.Figure` on an Agg canvas, without pyplot, so they render
headless (no display, no GUI backend) and never change the user's global matplotlib backend; save
them with ``fig.savefig(path)`` or show them in a notebook by returning them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import colors
from matplotlib.figure import Figure

from bnn_init.primitives import headless_figure

__all__ = ["phase_diagram_figure"]

_LABELS = {
    "sigma_w2": r"$\sigma_w^2$",
    "sigma_b2": r"$\sigma_b^2$",
    "sigma_m2": r"$\sigma_m^2$",
    "r": "$r$",
    "kappa": r"$\kappa$",
    "dropout_rate": "dropout rate",
}


_MARKERS = ("*", "o", "s", "D", "^", "v", "P", "X")


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _plane(pd, name: str, x: str, y: str) -> np.ndarray:
    """``pd.<name>`` as a 2-D array indexed [y, x] (what pcolormesh and contour expect)."""
    values = np.asarray(getattr(pd, name), dtype=float)
    axes = list(pd.axes)
    return np.transpose(values, (axes.index(y), axes.index(x)))


def _points(point) -> dict:
    if point is None:
        return {}
    if isinstance(point, Mapping):
        return {str(label): tuple(xy) for label, xy in point.items()}
    return {"": tuple(point)}


def phase_diagram_figure(pd, x: str, y: str, point=None, title: str | None = None) -> Figure:
    """Two panels over the (x, y) grid of a phase diagram: chi_1, and the depth scale xi_c.

    chi_1 (the slope of the correlation map at c = 1, Schoenholz et al. (2017), eq. 5) is drawn with
    a diverging map centred at 1: ordered phase (chi_1 < 1) blue, chaotic phase red. xi_c (eq. 9),
    the depth over which correlations reach their fixed point, is drawn on a log scale; it is
    infinite on the edge of chaos, shown white. Both panels carry the chi_1 = 1 contour.

    Args:
        pd: the result of `bnn_init.theory.phase_diagram` with exactly two axes, ``x`` and ``y``.
        x, y: names of the axes in ``pd.axes`` for the horizontal and vertical axis.
        point: None, an (x, y) pair to mark, or a mapping label -> (x, y) of several; each must
            lie inside the computed grid (ValueError otherwise: a mark in blank space says
            nothing).
        title: the figure title.

    Example:
        >>> import numpy as np
        >>> from bnn_init.theory import ContinuousNet, phase_diagram
        >>> pd = phase_diagram(ContinuousNet, phi="tanh", sigma_w2=np.linspace(0.5, 4, 50),
        ...                    sigma_b2=np.linspace(0, 0.3, 40))
        >>> phase_diagram_figure(pd, x="sigma_w2", y="sigma_b2").savefig("phase.png")
    """
    axes = dict(pd.axes)
    if len(axes) != 2 or {x, y} != set(axes):
        raise ValueError(
            f"x and y must name the two axes of the phase diagram {list(axes)}, got x={x!r}, "
            f"y={y!r}"
        )
    xs, ys = (np.asarray(axes[name], dtype=float) for name in (x, y))
    chi1 = _plane(pd, "chi1", x, y)
    xi_c = np.ma.masked_invalid(_plane(pd, "xi_c", x, y))

    fig = headless_figure(figsize=(11.0, 4.5), layout="constrained")
    ax_chi, ax_xi = fig.subplots(1, 2)

    low, high = np.nanmin(chi1), np.nanmax(chi1)
    if low < 1.0 < high:
        chi_norm = colors.TwoSlopeNorm(vmin=low, vcenter=1.0, vmax=high)
    else:
        chi_norm = colors.Normalize(vmin=low, vmax=high)
    mesh = ax_chi.pcolormesh(xs, ys, chi1, norm=chi_norm, cmap="RdBu_r", shading="nearest")
    fig.colorbar(mesh, ax=ax_chi, label=r"$\chi_1$")
    ax_chi.set_title(r"$\chi_1$: ordered $< 1 <$ chaotic")

    finite = xi_c.compressed()
    positive = finite[finite > 0]
    xi_norm = colors.LogNorm(vmin=positive.min(), vmax=positive.max()) if positive.size else None
    mesh = ax_xi.pcolormesh(xs, ys, xi_c, norm=xi_norm, cmap="viridis", shading="nearest")
    fig.colorbar(mesh, ax=ax_xi, label=r"$\xi_c$ (layers)")
    ax_xi.set_title(r"depth scale $\xi_c$ (trainable if $L \lesssim 6\,\xi_c$)")

    marks = _points(point)
    for label, (px, py) in marks.items():
        for name, value, values in ((x, px, xs), (y, py, ys)):
            if not values.min() <= value <= values.max():
                raise ValueError(
                    f"point {label or ''!r} has {name} = {value:.4g}, outside the computed range "
                    f"[{values.min():.4g}, {values.max():.4g}]; compute the phase diagram over a "
                    "range that covers it"
                )
    for ax in (ax_chi, ax_xi):
        if low < 1.0 < high:
            ax.contour(xs, ys, chi1, levels=[1.0], colors="black", linewidths=1.5)
            ax.plot([], [], color="black", label=r"$\chi_1 = 1$ (edge of chaos)")
        for i, (label, (px, py)) in enumerate(marks.items()):
            marker = _MARKERS[i % len(_MARKERS)]
            size = 14 if marker == "*" else 9
            ax.plot(
                [px], [py], marker, markersize=size, markeredgecolor="black", label=label or None
            )
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
        ax.set_xlabel(_label(x))
        ax.set_ylabel(_label(y))
    if title:
        fig.suptitle(title)
    return fig


def training_curves_figure(histories: dict) -> Figure:
    """Training and validation accuracy per epoch, one line pair per run (Keras History dicts)."""
    figure = headless_figure(figsize=(6, 4))
    ax = figure.add_subplot()
    for name, history in histories.items():
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        (line,) = ax.plot(epochs, history["accuracy"], label=f"{name} (train)")
        if "val_accuracy" in history:
            ax.plot(
                epochs,
                history["val_accuracy"],
                "--",
                color=line.get_color(),
                label=f"{name} (test)",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    return figure
