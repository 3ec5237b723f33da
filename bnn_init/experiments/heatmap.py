"""Heatmaps of training accuracy over (x, depth) cells, with theory curves drawn over them."""

from __future__ import annotations

import numpy as np

__all__ = ["heatmap_figure"]


def heatmap_figure(ax, depths, xs, grid, *, xlabel, title, curves=(), vmin=0.0, vmax=1.0):
    """Draw ``grid[depth, x]`` (training accuracy) on ``ax`` as a heatmap over the (x, depth)
    cells, with ``curves``: (label, x values, depth values, style) lines, e.g. n xi_c. Cells that
    were not trained (NaN) are left blank."""
    from matplotlib import colors

    xs, depths = np.asarray(xs, float), np.asarray(depths, float)
    mesh = ax.pcolormesh(
        _edges(xs),
        _edges(depths),
        np.ma.masked_invalid(np.asarray(grid, float)),
        cmap="inferno",
        norm=colors.Normalize(vmin, vmax),
        shading="flat",
    )
    for label, cx, cy, style in curves:
        ax.plot(cx, cy, style, lw=1.2, label=label)
    ax.set_xlim(_edges(xs)[0], _edges(xs)[-1])
    ax.set_ylim(_edges(depths)[0], _edges(depths)[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("depth L")
    ax.set_title(title, fontsize=9)
    if curves:
        ax.legend(fontsize=6, loc="upper right")
    return mesh


def _edges(centres):
    """Cell edges around sorted centres (midpoints, extended by half a step at both ends)."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])
