"""The shared machinery of mean-field models: fixed points, depth scales, trajectories.

A model is an immutable description of a random network family with a variance map
q' = q_map(q) and, for two inputs of equal variance q, a correlation map of the form

    c' = (A E[phi(u1) phi(u2)] + sigma_b2) / D(q)          (Schoenholz et al. (2017) eqs. 4-5)

with u1, u2 as in Schoenholz et al. 2017, eq. 5, a weight scale A and a normaliser D(q) set by the model. Depth scales
follow Schoenholz et al. 2017, eqs. 8, 9 and 16: xi_q = -1/log(dq'/dq at q*), xi_c = -1/log(dc'/dc at c*),
xi_grad = -1/log(backward factor). Parameters may be arrays (they broadcast), which is how
``phase_diagram`` evaluates a whole grid at once.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import NamedTuple

import numpy as np

from ..primitives.checks import check_integer, check_range
from .solvers import solve_increasing_root

Q_FLOOR = 1e-30  # correlations at q -> 0 are taken as the limit, evaluated at this variance
CRITICAL_TOLERANCE = 1e-10  # |chi - 1| below this counts as critical (round-off of solved models)


class Trajectory(NamedTuple):
    """Per-layer second moment ``q[l-1] = q^l`` and correlation ``c[l-1] = c^l``, l = 1..depth."""

    q: np.ndarray
    c: np.ndarray


def scalar_or_array(x):
    """A float for scalars; arrays stay float arrays (they span phase diagrams)."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)


def _depth_scale(slope):
    """-1/log(slope): 0 for slope 0, inf at slope 1, negative above 1 (Schoenholz et al. 2017, eq. 16)."""
    slope = np.asarray(slope, dtype=float)
    critical = np.abs(slope - 1.0) <= CRITICAL_TOLERANCE
    with np.errstate(divide="ignore"):
        log = np.log(np.where(critical, 0.5, slope))
        return np.where(critical, np.inf, -1.0 / log)


class MeanFieldModel:
    """Base class; subclasses define the maps for one network family (see module docstring)."""

    #: name of the weight-scale parameter that ``critical`` solves for
    scale_parameter = "sigma_w2"

    # ---- what a subclass defines -------------------------------------------------------------
    activation = None  # an ``activations.Activation``
    sigma_b2 = 0.0

    def q_map_and_slope(self, q):
        """(q', dq'/dq): the next layer's pre-activation second moment given this layer's q."""
        raise NotImplementedError

    def q_map(self, q):
        """Second moment q^{l+1} of the next layer's pre-activations given this layer's q^l."""
        return self.q_map_and_slope(q)[0]

    def q_map_slope(self, q):
        """d q_map / dq."""
        return self.q_map_and_slope(q)[1]

    def _covariance_scale(self):
        """A in the correlation map."""
        raise NotImplementedError

    def _normaliser(self, q):
        """D(q) in the correlation map (the variance that turns a covariance into a correlation)."""
        raise NotImplementedError

    def _chi1_at(self, q):
        """Mean squared singular value of one layer's Jacobian at pre-activation variance q."""
        raise NotImplementedError

    def backward_factor(self, q):
        """E[delta_l^2] / E[delta_{l+1}^2] for equal widths at pre-activation variance q (Schoenholz et al.
        2017, eq. 15): chi_1 at q unless a model overrides it (dropout, straight-through sign)."""
        return self._chi1_at(q)

    def _unit_correlation_is_fixed(self):
        """Whether c = 1 maps to itself (False e.g. with dropout or weight noise)."""
        return np.ones(np.shape(self.sigma_b2), dtype=bool)

    @property
    def layer(self):
        """One layer of the family, activation to next pre-activation, as a composition of the
        graph theory's maps (`theory.maps.Chain`): on moments (mean 0, q, pair c q) its forward
        gives q_map(q) and c_map(c, q) q_map(q), its backward the backward_factor(q). The
        closed forms above stay the fast path (slopes, fixed points, phase-diagram grids); the
        chain composes with the maps of BatchNorm, residual sums and the rest. Needs scalar
        parameters."""
        shape = self._shape
        if shape != ():
            raise ValueError(f"layer needs scalar parameters; this model spans a grid {shape}")
        return self._layer()

    def _layer(self):
        raise NotImplementedError

    # ---- correlation map --------------------------------------------------------------------
    @cached_property
    def _correlation_map_at_q_star(self):
        return self._correlation_map(self._q_star)

    def _correlation_map(self, q):
        """(value(c), slope(c)) of the correlation map at fixed q, as callables."""
        q = np.maximum(np.asarray(q, dtype=float), Q_FLOOR)
        pair = self.activation.pair_series(q)
        scale = self._covariance_scale()
        norm = self._normaliser(q)

        def value(c):
            return np.clip((scale * pair.value(c) + self.sigma_b2) / norm, -1.0, 1.0)

        def slope(c):
            return scale * q * pair.slope_value(c) / norm

        return value, slope

    def c_map(self, c, q=None):
        """Correlation c^{l+1} of two inputs with correlation c^l and variance q (default q*).

        General form of Schoenholz et al. 2017, eq. 5 (and erratum 6 for the deterministic surrogate).
        """
        c = check_range("c", c, low=-1.0, high=1.0)
        if q is None:
            value, _ = self._correlation_map_at_q_star
        else:
            value, _ = self._correlation_map(check_range("q", q, low=0.0))
        return scalar_or_array(value(c))

    # ---- fixed points -----------------------------------------------------------------------
    @cached_property
    def _q_star(self):
        start = np.broadcast_to(np.asarray(self.sigma_b2, dtype=float) + 1.0, self._shape)
        coarse = self.activation.coarse()
        if coarse is not self.activation:  # a cheap first solve gives Newton a close start
            coarse_model = copy.copy(self)
            object.__setattr__(coarse_model, "activation", coarse)
            start = coarse_model._q_star
        hi = self._q_upper_bound(2.0 * start + 1e-12)
        zeros = np.zeros_like(hi)
        zero_is_stable = (self.q_map(zeros) == 0) & (self.q_map_slope(zeros) <= 1.0)
        root = solve_increasing_root(
            lambda q: _minus_identity(self.q_map_and_slope(q), q), zeros, hi, start
        )
        return np.where(zero_is_stable, 0.0, root)

    def _q_upper_bound(self, start):
        """A variance above the stable fixed point (q_map(hi) < hi), found by doubling ``start``."""
        hi = np.broadcast_to(start, self._shape).copy()
        for _ in range(200):
            above = self.q_map(hi) >= hi
            if not np.any(above):
                return hi
            hi = np.where(above, 2.0 * hi, hi)
        raise ValueError(f"{self!r} has no finite variance fixed point q*")

    @cached_property
    def _c_star(self):
        chi1 = self._chi1
        ordered = self._unit_correlation_is_fixed() & (chi1 <= 1.0 + CRITICAL_TOLERANCE)
        ordered = np.broadcast_to(ordered, self._shape)
        c_star = np.ones(self._shape)
        todo = ~ordered
        if np.any(todo):
            sub = self._subset(todo)
            sub.__dict__["_q_star"] = self._q_star[todo]  # reuse the solved variance fixed point
            value, slope = sub._correlation_map_at_q_star
            zeros = np.zeros(np.shape(sub._q_star))
            c_star[todo] = solve_increasing_root(
                lambda c: (value(c) - c, slope(c) - 1.0), lo=zeros, hi=zeros + 1.0, x0=zeros
            )
        return c_star

    @cached_property
    def _chi1(self):
        return np.broadcast_to(self._chi1_at(self._q_star), self._shape)

    @cached_property
    def _shape(self):
        return np.broadcast_shapes(*(np.shape(v) for v in self._parameters().values()))

    def _parameters(self) -> dict:
        """The model's constructor arguments, by name."""
        raise NotImplementedError

    def _subset(self, mask):
        """The same model restricted to the grid points where ``mask`` is True (flattened)."""
        params = {}
        for name, value in self._parameters().items():
            if isinstance(value, str) or np.ndim(value) == 0:
                params[name] = value
            else:
                params[name] = np.broadcast_to(np.asarray(value, dtype=float), self._shape)[mask]
        return type(self)(**params)

    # ---- public properties ------------------------------------------------------------------
    @property
    def q_star(self):
        """Stable fixed point of the variance map (0 when sigma_b2 = 0 in the ordered phase)."""
        return scalar_or_array(self._q_star)

    @property
    def c_star(self):
        """Stable fixed point of the correlation map: 1 when ordered, below 1 when chaotic."""
        return scalar_or_array(self._c_star)

    @property
    def chi1(self):
        """chi_1: slope of the correlation map at c = 1 and q = q* (Schoenholz et al. 2017, eq. 7); at q* = 0 its
        limit q -> 0 (erratum 6). chi_1 < 1 ordered, = 1 critical, > 1 chaotic."""
        return scalar_or_array(self._chi1)

    @property
    def xi_q(self):
        """Variance depth scale -1/log(dq'/dq at q*) (Schoenholz et al. 2017, eq. 8)."""
        return scalar_or_array(_depth_scale(self.q_map_slope(self._q_star)))

    @property
    def xi_c(self):
        """Correlation depth scale -1/log(chi_c), chi_c the c-map slope at c* (Schoenholz et al. 2017, eq. 9)."""
        return scalar_or_array(_depth_scale(self._c_star_slope))

    @cached_property
    def _c_star_slope(self):
        _, slope = self._correlation_map_at_q_star
        at_one = self._c_star == 1.0
        interior_slope = slope(np.where(at_one, 0.5, self._c_star))
        return np.where(at_one, self._chi1, interior_slope)

    @property
    def xi_grad(self):
        """Gradient depth scale -1/log(backward factor) (Schoenholz et al. 2017, eq. 16): positive when gradients
        vanish, negative when they explode, inf at criticality."""
        return scalar_or_array(_depth_scale(self.backward_factor(self._q_star)))

    def max_trainable_depth(self, k=6.0):
        """Depth beyond which training fails, k xi_c (Schoenholz et al. 2017, sec. 5 uses k = 6; Stamatescu et al. 2019, Fig. 2 k = 3)."""
        k = check_range("k", k, low=0.0, low_open=True)
        return scalar_or_array(k * self.xi_c)

    def grad_variance_ratio(self, widths=None):
        """Per-layer backward factor E[delta_l^2] / E[delta_{l+1}^2] = chi N_{l+1} / N_l
        (Schoenholz et al. 2017, eq. 15). With ``widths`` (N_1..N_L) returns the L-1 factors, else the equal-width one."""
        factor = self.backward_factor(self._q_star)
        if widths is None:
            return scalar_or_array(factor)
        widths = check_range("widths", widths, low=0.0, low_open=True)
        if widths.ndim != 1 or widths.size < 2:
            raise ValueError(
                f"widths must be a 1-D sequence of at least 2 layer widths, got {widths}"
            )
        return factor * widths[1:] / widths[:-1]

    def trajectory(self, q0, c0, depth):
        """q^l and c^l for l = 1..depth from the first layer's (q0, c0) by iterating the maps."""
        depth = check_integer("depth", depth)
        q = check_range("q0", q0, low=0.0)
        c = check_range("c0", c0, low=-1.0, high=1.0)
        qs, cs = [q], [c]
        for _ in range(depth - 1):
            value, _ = self._correlation_map(q)
            c = value(c)
            q = self.q_map(q)
            qs.append(q)
            cs.append(c)
        return Trajectory(np.array(qs), np.array(cs))

    def __repr__(self):
        args = ", ".join(f"{k}={_format(v)}" for k, v in self._parameters().items())
        return f"{type(self).__name__}({args})"


def _minus_identity(value_and_slope, x):
    value, slope = value_and_slope
    return value - x, slope - 1.0


def _format(value):
    if isinstance(value, str):
        return repr(value)
    arr = np.asarray(value)
    return repr(float(arr)) if arr.ndim == 0 else f"<array {arr.shape}>"
