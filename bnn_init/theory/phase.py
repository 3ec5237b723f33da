"""Phase diagrams: chi_1, q*, c* and xi_c of a model family over a parameter grid, vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhaseDiagram:
    """Results on the grid spanned by ``axes`` (name -> 1-D array, in keyword order, 'ij' indexing)."""

    axes: dict
    chi1: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    xi_c: np.ndarray

    def rows(self):
        """One dict per grid point: the axis values and the four results (for CSV output)."""
        grids = np.meshgrid(*self.axes.values(), indexing="ij")
        names = list(self.axes)
        for index in np.ndindex(self.chi1.shape):
            row = {name: float(grid[index]) for name, grid in zip(names, grids, strict=True)}
            row.update(
                chi1=float(self.chi1[index]),
                q_star=float(self.q_star[index]),
                c_star=float(self.c_star[index]),
                xi_c=float(self.xi_c[index]),
            )
            yield row


def phase_diagram(model_cls, **params) -> PhaseDiagram:
    """Evaluate ``model_cls`` on the grid spanned by its 1-D array-valued ``params``.

    Scalars and strings are held fixed. All grid points are solved at once (no per-point loop).

    >>> import numpy as np
    >>> from bnn_init.theory import ContinuousNet
    >>> pd = phase_diagram(ContinuousNet, phi="tanh", sigma_w2=np.linspace(0.5, 4, 5),
    ...                    sigma_b2=np.linspace(0.0, 0.5, 3))
    >>> pd.chi1.shape
    (5, 3)
    """
    axes = {}
    for name, value in params.items():
        if not isinstance(value, str) and np.ndim(value) == 1:
            axes[name] = np.asarray(value, dtype=float)
        elif not isinstance(value, str) and np.ndim(value) > 1:
            raise ValueError(
                f"{name} must be a scalar or a 1-D array to span the grid, got shape {np.shape(value)}"
            )
    if not axes:
        raise ValueError(
            "phase_diagram needs at least one 1-D array-valued parameter to span the grid"
        )
    grids = dict(zip(axes, np.meshgrid(*axes.values(), indexing="ij"), strict=True))
    model = model_cls(**{**params, **grids})
    shape = tuple(len(v) for v in axes.values())
    return PhaseDiagram(
        axes=axes,
        chi1=np.broadcast_to(model.chi1, shape).copy(),
        q_star=np.broadcast_to(model.q_star, shape).copy(),
        c_star=np.broadcast_to(model.c_star, shape).copy(),
        xi_c=np.broadcast_to(model.xi_c, shape).copy(),
    )
