"""The network families of the seed papers as mean-field models (see ``base.MeanFieldModel``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from ..primitives.checks import check_choice, check_range
from . import maps
from . import pointwise as fn
from .activations import ACTIVATIONS, SIGN_NEURON_KAPPA, Erf, HardTanh, Sign, get_activation
from .base import CRITICAL_TOLERANCE, MeanFieldModel, scalar_or_array
from .errors import NoCriticalPoint
from .stochastic import NoiseNormalisedLinear, StochasticBinary


def _param(name, value, **bounds):
    """A checked parameter, stored as a float when scalar (arrays span phase diagrams)."""
    return scalar_or_array(check_range(name, value, **bounds))


def _solve_chi1(chi1_of, lo, hi):
    """The scale s in [lo, hi] with chi1_of(s) = 1, chi1_of increasing, to machine precision."""
    return brentq(lambda s: chi1_of(s) - 1.0, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def _constant_map(value, q):
    """(value, 0) broadcast against q: a variance map that forgets its input."""
    shape = np.broadcast_shapes(np.shape(q), np.shape(value))
    return np.broadcast_to(value, shape).astype(float), np.zeros(shape)


def _bracket_upwards(chi1_of, start=1.0):
    hi = start
    while chi1_of(hi) < 1.0:
        hi *= 2.0
        if hi > 1e8:
            raise NoCriticalPoint("chi_1 stays below 1 for every weight variance up to 1e8")
    return hi


class _WeightVarianceModel(MeanFieldModel):
    """Networks with weights of variance sigma_w2 / N feeding phi (Schoenholz et al. 2017, eqs. 3-7):
    q' = s E_q[phi^2] + sigma_b2 with s = ``_variance_scale()``, c' = (sigma_w2 E[phi phi] +
    sigma_b2) / q', chi_1 = sigma_w2 E_q[phi'^2]."""

    def _variance_scale(self):
        return self.sigma_w2

    def q_map_and_slope(self, q):
        moment, slope = self.activation.second_moment_and_slope(q)
        scale = self._variance_scale()
        return scale * moment + self.sigma_b2, scale * slope

    def _covariance_scale(self):
        return self.sigma_w2

    def _normaliser(self, q):
        return self.q_map(q)

    def _chi1_at(self, q):
        return self.sigma_w2 * self.activation.slope_moment(q)


@dataclass(frozen=True, eq=False, repr=False)
class ContinuousNet(_WeightVarianceModel):
    """Fully connected network with real weights N(0, sigma_w2 / N) and biases N(0, sigma_b2).

    Schoenholz et al. (2017): q' = (sigma_w2 / rho) E_q[phi^2] + sigma_b2 (eqs. 3, 11),
    c' = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q' (eqs. 4-5, 12), chi_1 = sigma_w2 E_q*[phi'^2]
    (eq. 7; no 1/rho, erratum 5), keep probability rho = 1 - dropout_rate. The backward factor
    is (sigma_w2 / rho) E[phi'^2] (eq. 15 with the dropout mask applied on the backward pass too).

    >>> ContinuousNet.critical(phi="tanh", sigma_b2=0.05).sigma_w2  # doctest: +ELLIPSIS
    1.76...
    """

    phi: str = "tanh"
    sigma_w2: float = 1.0
    sigma_b2: float = 0.0
    dropout_rate: float = 0.0
    activation: object = field(init=False, repr=False)

    def __post_init__(self):
        check_choice("phi", self.phi, ACTIVATIONS)
        object.__setattr__(self, "activation", get_activation(self.phi))
        object.__setattr__(
            self, "sigma_w2", _param("sigma_w2", self.sigma_w2, low=0.0, low_open=True)
        )
        object.__setattr__(self, "sigma_b2", _param("sigma_b2", self.sigma_b2, low=0.0))
        object.__setattr__(
            self,
            "dropout_rate",
            _param("dropout_rate", self.dropout_rate, low=0.0, high=1.0, high_open=True),
        )

    def _parameters(self):
        return dict(
            phi=self.phi,
            sigma_w2=self.sigma_w2,
            sigma_b2=self.sigma_b2,
            dropout_rate=self.dropout_rate,
        )

    @property
    def _keep(self):
        return 1.0 - self.dropout_rate

    def _variance_scale(self):
        return self.sigma_w2 / self._keep

    def backward_factor(self, q):
        return self._chi1_at(q) / self._keep

    def _unit_correlation_is_fixed(self):
        # within the tolerance that calls a slope critical: c* and xi_c agree on what is critical
        return np.asarray(self.dropout_rate) <= CRITICAL_TOLERANCE

    def _layer(self):
        if self.phi == "erf":
            phi = fn.Erf(self.activation.kappa)
        else:
            phi = {"tanh": fn.Tanh(), "hard_tanh": fn.Clip(-1.0, 1.0)}[self.phi]
        return maps.Chain(
            (
                maps.Pointwise(phi),
                maps.Dropout(self.dropout_rate, training=True),
                maps.RandomLinear(self.sigma_w2, self.sigma_b2),
            )
        )

    @classmethod
    def critical(cls, phi="tanh", sigma_b2=0.0, dropout_rate=0.0):
        """The model with chi_1 = 1 (edge of chaos, Schoenholz et al. 2017, sec. 2). With dropout chi_1 = 1 is still
        solved, but c = 1 is no longer a fixed point and xi_c stays finite (Schoenholz et al. 2017, sec. 3.1)."""

        def chi1_of(s):
            return cls(phi=phi, sigma_w2=s, sigma_b2=sigma_b2, dropout_rate=dropout_rate).chi1

        hi = _bracket_upwards(chi1_of)
        return cls(
            phi=phi,
            sigma_w2=_solve_chi1(chi1_of, 1e-12, hi),
            sigma_b2=sigma_b2,
            dropout_rate=dropout_rate,
        )


@dataclass(frozen=True, eq=False, repr=False)
class HardTanhBNN(_WeightVarianceModel):
    """Wang's binarised network, case 2 (Wang (2018), sec. 3.2).

    Weights W ~ N(0, r^2 sigma_w2 / N) are seen through B_r(x) = clip(x / r, -1, 1), so that
    N E[B_r(W)^2] -> sigma_w2 (eq. 7), activations are B_r(h), biases N(0, sigma_b2):
    q' = sigma_w2 E_q[B_r^2] + sigma_b2 (eq. 9), c' as eq. 10 without assuming q = q*,
    chi_1 = sigma_w2 E_q*[B_r'^2] = (sigma_w2 / r^2) P(|sqrt(q*) z| < r) (eq. 11, and the
    corrected eq. 13 of erratum 1). At sigma_b2 = 0, q* = 0 and chi_1 = sigma_w2 / r^2.

    >>> HardTanhBNN.critical(r=0.1, sigma_b2=0.0).sigma_w2  # doctest: +ELLIPSIS
    0.01...
    """

    r: float = 1.0
    sigma_w2: float = 1.0
    sigma_b2: float = 0.0
    activation: object = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "r", _param("r", self.r, low=0.0, low_open=True))
        object.__setattr__(
            self, "sigma_w2", _param("sigma_w2", self.sigma_w2, low=0.0, low_open=True)
        )
        object.__setattr__(self, "sigma_b2", _param("sigma_b2", self.sigma_b2, low=0.0))
        object.__setattr__(self, "activation", HardTanh(self.r))

    def _parameters(self):
        return dict(r=self.r, sigma_w2=self.sigma_w2, sigma_b2=self.sigma_b2)

    def _layer(self):
        return maps.Chain(
            (
                maps.Affine(1.0 / self.r),
                maps.Pointwise(fn.Clip(-1.0, 1.0)),
                maps.RandomLinear(self.sigma_w2, self.sigma_b2),
            )
        )

    @classmethod
    def critical(cls, r=1.0, sigma_b2=0.0):
        """Edge of chaos: sigma_w2 with chi_1 = 1 (erratum 1); equals r^2 at sigma_b2 = 0."""

        def chi1_of(s):
            return cls(r=r, sigma_w2=s, sigma_b2=sigma_b2).chi1

        r2 = float(check_range("r", r, low=0.0, low_open=True)) ** 2
        hi = _bracket_upwards(chi1_of, start=r2)
        return cls(r=r, sigma_w2=_solve_chi1(chi1_of, 1e-3 * r2, hi), sigma_b2=sigma_b2)


@dataclass(frozen=True, eq=False, repr=False)
class DeterministicSurrogate(MeanFieldModel):
    """Moment-propagation surrogate of a stochastic binary network (Stamatescu et al. (2019)).

    Weight means M with variance sigma_m2, mean neuron phi(h) = erf(kappa h). With
    E = E_q[phi^2]: q' = (sigma_m2 E + sigma_b2) / (1 - sigma_m2 E) (eq. 13),
    c' = (sigma_m2 E[phi(u1) phi(u2)] + sigma_b2) / (sigma_m2 E + sigma_b2) (general form of
    eq. 14, erratum 6), chi_1 = sigma_m2 E_q*[phi'^2] / (1 - sigma_m2 E_q*[phi^2]) (eq. 15 at q*).
    For kappa = 1/sqrt(2) (sign neurons with unit Gaussian noise) chi_1 <= 2/pi: no critical
    point (erratum 7).

    >>> round(DeterministicSurrogate(sigma_m2=1.0, sigma_b2=0.0).chi1, 6)  # 2/pi
    0.63662
    """

    scale_parameter = "sigma_m2"

    sigma_m2: float = 0.99
    sigma_b2: float = 0.0
    kappa: float = SIGN_NEURON_KAPPA
    activation: object = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(
            self, "sigma_m2", _param("sigma_m2", self.sigma_m2, low=0.0, high=1.0, low_open=True)
        )
        object.__setattr__(self, "sigma_b2", _param("sigma_b2", self.sigma_b2, low=0.0))
        object.__setattr__(self, "kappa", _param("kappa", self.kappa, low=0.0, low_open=True))
        object.__setattr__(self, "activation", Erf(self.kappa))

    def _parameters(self):
        return dict(sigma_m2=self.sigma_m2, sigma_b2=self.sigma_b2, kappa=self.kappa)

    def _layer(self):
        return maps.Chain(
            (
                maps.Pointwise(fn.Erf(self.kappa)),
                NoiseNormalisedLinear(self.sigma_m2, self.sigma_b2),
            )
        )

    def q_map_and_slope(self, q):
        moment, slope = self.activation.second_moment_and_slope(q)
        e = self.sigma_m2 * moment
        return (e + self.sigma_b2) / (1.0 - e), self.sigma_m2 * slope * (1.0 + self.sigma_b2) / (
            1.0 - e
        ) ** 2

    def _covariance_scale(self):
        return self.sigma_m2

    def _normaliser(self, q):
        return self.sigma_m2 * self.activation.second_moment(q) + self.sigma_b2

    def _chi1_at(self, q):
        e = self.sigma_m2 * self.activation.second_moment(q)
        return self.sigma_m2 * self.activation.slope_moment(q) / (1.0 - e)

    @classmethod
    def critical(cls, sigma_b2=0.0, kappa=SIGN_NEURON_KAPPA):
        """sigma_m2 in (0, 1] with chi_1 = 1, solving chi_1 = 1 together with the q fixed point
        (Claim 1 as corrected in erratum 7); NoCriticalPoint when chi_1 < 1 even at sigma_m2 = 1."""

        def chi1_of(s):
            return cls(sigma_m2=s, sigma_b2=sigma_b2, kappa=kappa).chi1

        best = cls(sigma_m2=1.0, sigma_b2=sigma_b2, kappa=kappa)
        limit = np.pi / (
            4.0 * float(kappa) ** 2
        )  # 1 / phi'(0)^2: chi_1 = sigma_m2 phi'(0)^2 at q* = 0
        if float(sigma_b2) == 0.0 and limit <= 1.0:  # exact: q* = 0 below the limit (erratum 6)
            return cls(sigma_m2=limit, sigma_b2=sigma_b2, kappa=kappa)
        if best.chi1 < 1.0:
            raise NoCriticalPoint(
                f"the deterministic surrogate with kappa={float(kappa):g}, sigma_b2={float(sigma_b2):g} has "
                f"chi_1 < 1 for every sigma_m2 in (0, 1] (at most {best.chi1:.4f} at sigma_m2 = 1), so it "
                f"is always ordered (Stamatescu et al. 2019, Claim 1, erratum 7). Nearest feasible point: sigma_m2 = 1, where "
                f"chi_1 and xi_c = {best.xi_c:.3g} are largest; criticality needs kappa >= sqrt(pi)/2 "
                f"and sigma_b2 -> 0.",
                nearest=dict(sigma_m2=1.0, sigma_b2=float(sigma_b2), kappa=float(kappa)),
            )
        return cls(sigma_m2=_solve_chi1(chi1_of, 1e-9, 1.0), sigma_b2=sigma_b2, kappa=kappa)


@dataclass(frozen=True, eq=False, repr=False)
class LRTSurrogate(MeanFieldModel):
    """Local-reparameterisation surrogate (Stamatescu et al. (2019) eqs. 8, 18-21).

    ``neurons="binary"``: stochastic binary neurons with mean phi = tanh; the weight noise
    makes q' = 1 + sigma_b2 for every q (eq. 19) and c' = (sigma_m2 E[phi phi] + sigma_b2)/(1 + sigma_b2)
    (eq. 20): c = 1 is never a fixed point, no critical point (Claim 2).
    ``neurons="continuous"``: tanh neurons, binary weights; field noise (1/N) sum_j x_j^2 (1 - M_ij^2)
    (erratum 8) gives q' = E_q[phi^2] + sigma_b2 and c' = (sigma_m2 E[phi phi] + sigma_b2) / q' (eq. 21);
    critical only at (sigma_m2, sigma_b2) = (1, 0) (Claim 3). In both chi_1 = sigma_m2 E_q*[phi'^2].
    """

    scale_parameter = "sigma_m2"

    sigma_m2: float = 0.99
    sigma_b2: float = 0.0
    neurons: str = "binary"
    activation: object = field(init=False, repr=False)

    def __post_init__(self):
        check_choice("neurons", self.neurons, ("binary", "continuous"))
        object.__setattr__(
            self, "sigma_m2", _param("sigma_m2", self.sigma_m2, low=0.0, high=1.0, low_open=True)
        )
        object.__setattr__(self, "sigma_b2", _param("sigma_b2", self.sigma_b2, low=0.0))
        object.__setattr__(self, "activation", get_activation("tanh"))

    def _parameters(self):
        return dict(sigma_m2=self.sigma_m2, sigma_b2=self.sigma_b2, neurons=self.neurons)

    @property
    def _binary(self):
        return self.neurons == "binary"

    def _layer(self):
        neuron = StochasticBinary(fn.Tanh()) if self._binary else maps.Pointwise(fn.Tanh())
        weights = maps.RandomLinear(
            1.0, self.sigma_b2, back_square=self.sigma_m2, pair_square=self.sigma_m2
        )
        return maps.Chain((neuron, weights))

    def q_map_and_slope(self, q):
        if self._binary:
            return _constant_map(1.0 + self.sigma_b2, q)
        moment, slope = self.activation.second_moment_and_slope(q)
        return moment + self.sigma_b2, slope + 0.0 * self.sigma_b2

    def _covariance_scale(self):
        return self.sigma_m2

    def _normaliser(self, q):
        return self.q_map(q)

    def _chi1_at(self, q):
        return self.sigma_m2 * self.activation.slope_moment(q)

    def _unit_correlation_is_fixed(self):
        # sigma_m2 within the tolerance that calls a slope critical (at sigma_m2 = 1 - 1e-16 the
        # correlation map is c' = sigma_m2 c to round-off, and any c in [0, 1] solves c' = c)
        return np.logical_and(not self._binary, self.sigma_m2 >= 1.0 - CRITICAL_TOLERANCE)

    @classmethod
    def critical(cls, sigma_b2=0.0, neurons="binary"):
        """Binary neurons: never critical (Claim 2). Continuous neurons: sigma_m2 = 1 at sigma_b2 = 0
        only (Claim 3). Otherwise NoCriticalPoint naming sigma_m2 = 1 as the nearest point."""
        check_choice("neurons", neurons, ("binary", "continuous"))
        best = cls(sigma_m2=1.0, sigma_b2=sigma_b2, neurons=neurons)
        if neurons == "continuous" and float(check_range("sigma_b2", sigma_b2, low=0.0)) == 0.0:
            return best
        why = (
            "c = 1 is never a fixed point because the weight noise decorrelates the two inputs (Stamatescu et al. 2019, Claim 2)"
            if neurons == "binary"
            else "for sigma_b2 > 0, q* > 0 and E[tanh'^2] < 1, so chi_1 < 1 for every sigma_m2 <= 1 (Stamatescu et al. 2019, Claim 3)"
        )
        raise NoCriticalPoint(
            f"the LRT surrogate with {neurons} neurons and sigma_b2={float(sigma_b2):g} has no critical point: "
            f"{why}. Nearest feasible point: sigma_m2 = 1 (chi_1 = {best.chi1:.4f}, xi_c = {best.xi_c:.3g})"
            + (
                "; with continuous neurons sigma_b2 = 0 is critical."
                if neurons == "continuous"
                else "."
            ),
            nearest=dict(sigma_m2=1.0, sigma_b2=float(sigma_b2), neurons=neurons),
        )


@dataclass(frozen=True, eq=False, repr=False)
class SignNet(MeanFieldModel):
    """Random deterministic binary network: weights +-1 scaled by 1/sqrt(N), sign activations with
    sign(0) = +1 (erratum 4), biases N(0, sigma_b2) (Stamatescu et al. (2019), App. F).

    q' = 1 + sigma_b2, c' = ((2/pi) arcsin(c) + sigma_b2) / (1 + sigma_b2): the slope at c = 1 is
    infinite, so the network is always chaotic with c* < 1. Gradients of Larq's ``ste_sign`` use
    the straight-through derivative 1{|h| <= ste_clip}, so the backward factor is
    P(|sqrt(q*) z| <= ste_clip) (BatchNorm puts h at unit variance, which this model describes with
    sigma_b2 = 0).
    """

    sigma_b2: float = 0.0
    ste_clip: float = 1.0
    activation: object = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "sigma_b2", _param("sigma_b2", self.sigma_b2, low=0.0))
        object.__setattr__(
            self, "ste_clip", _param("ste_clip", self.ste_clip, low=0.0, low_open=True, high=np.inf)
        )
        object.__setattr__(self, "activation", Sign())

    def _parameters(self):
        return dict(sigma_b2=self.sigma_b2, ste_clip=self.ste_clip)

    def q_map_and_slope(self, q):
        return _constant_map(1.0 + self.sigma_b2, q)

    def _covariance_scale(self):
        return 1.0

    def _normaliser(self, q):
        return 1.0 + self.sigma_b2

    def _chi1_at(self, q):
        return np.full(np.broadcast_shapes(np.shape(q), self._shape), np.inf)

    def backward_factor(self, q):
        return 2.0 * ndtr(self.ste_clip / np.sqrt(np.maximum(q, 1e-300))) - 1.0

    def _layer(self):
        return maps.Chain(
            (maps.Pointwise(fn.Sign(ste_clip=self.ste_clip)), maps.RandomLinear(1.0, self.sigma_b2))
        )

    @classmethod
    def critical(cls, sigma_b2=0.0, ste_clip=1.0):
        """Always raises: a random sign network is chaotic for every sigma_b2 (Stamatescu et al. 2019, App. F)."""
        model = cls(sigma_b2=sigma_b2, ste_clip=ste_clip)
        raise NoCriticalPoint(
            "a random sign network has an infinite slope of its correlation map at c = 1 and is chaotic for "
            f"every sigma_b2 (Stamatescu et al. 2019, App. F); at sigma_b2={float(sigma_b2):g}, c* = {model.c_star:.4f} and "
            f"xi_c = {model.xi_c:.3g}. Larger sigma_b2 raises c* and xi_c; BatchNorm (Sari et al. (2019)) or a "
            "hard-tanh forward pass (HardTanhBNN) give a network with an edge of chaos.",
            nearest=dict(sigma_b2=float(sigma_b2)),
        )


__all__ = ["ContinuousNet", "HardTanhBNN", "DeterministicSurrogate", "LRTSurrogate", "SignNet"]
