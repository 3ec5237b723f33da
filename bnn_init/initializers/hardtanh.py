"""Initializers for hard-tanh BNNs at the edge of chaos (Wang (2018), secs. 3-4).

Both describe kernels that are seen through `bnn_init.quantizers.HardTanh` of the same ``r``: with
N = fan-in, N E[B_r(W)^2] = sigma_w2, so the pre-activations follow `bnn_init.theory.HardTanhBNN`
(Wang (2018), eq. 8): q' = sigma_b2 + sigma_w2 E_q[B_r(h)^2].
"""

import math

import tensorflow as tf

from bnn_init import theory
from bnn_init.primitives import fan_in
from bnn_init.primitives.checks import check_number

from ._base import SeededInitializer


class _HardTanhInitializer(SeededInitializer):
    """Holds the theory model; exposes its ``sigma_w2`` and correlation depth scale ``xi_c``.

    ``sigma_w2=None`` solves for chi_1 = 1 with ``HardTanhBNN.critical``.
    """

    def __init__(self, r, sigma_w2, sigma_b2, seed):
        super().__init__(seed)
        self.r = check_number("r", r, low=0.0, low_open=True)
        self.sigma_b2 = check_number("sigma_b2", sigma_b2, low=0.0, low_open=False)
        if sigma_w2 is None:
            self.theory = theory.HardTanhBNN.critical(r=self.r, sigma_b2=self.sigma_b2)
        else:
            sigma_w2 = check_number("sigma_w2", sigma_w2, low=0.0, low_open=True)
            self.theory = theory.HardTanhBNN(r=self.r, sigma_w2=sigma_w2, sigma_b2=self.sigma_b2)

    @property
    def sigma_w2(self):
        """The weight variance of the theory, sigma_w2 = N E[B_r(W)^2]."""
        return float(self.theory.sigma_w2)

    @property
    def xi_c(self):
        """The predicted correlation depth scale (infinite at the edge of chaos)."""
        return float(self.theory.xi_c)


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class CriticalHardTanhNormal(_HardTanhInitializer):
    """W ~ N(0, r^2 sigma_w2 / fan_in) with sigma_w2 at the edge of chaos (Wang (2018), sec. 3).

    sigma_w2 solves chi_1 = (sigma_w2 / r^2) P(|sqrt(q*) z| < r) = 1 together with the fixed point
    q* = sigma_b2 + sigma_w2 E_q*[B_r^2] (Wang (2018), eqs. 12-13 with erratum 1), through
    ``HardTanhBNN.critical(r=r, sigma_b2=sigma_b2)``; at sigma_b2 = 0 it is exactly r^2. Seen
    through ``HardTanh(r)``, B_r(W) = W / r has variance sigma_w2 / fan_in (Wang (2018), eq. 7).
    Fan-in as Keras computes it for Dense and ConvND kernels. Pair it with
    ``CriticalBias(sigma_b2)``. For fan_in comparable to sigma_w2 the clipping of B_r lowers the
    variance below sigma_w2 / fan_in: by 1.5 % at fan_in = 7 sigma_w2, 14 % at 3 sigma_w2.

    Example:
        >>> import larq as lq
        >>> from bnn_init.initializers import CriticalBias
        >>> from bnn_init.quantizers import HardTanh
        >>> init = CriticalHardTanhNormal(r=0.4, sigma_b2=0.01, seed=1)
        >>> round(init.sigma_w2, 4) > 0.16   # slightly above r^2 when sigma_b2 > 0
        True
        >>> layer = lq.layers.QuantDense(512, kernel_initializer=init,
        ...     bias_initializer=CriticalBias(0.01), input_quantizer=HardTanh(0.4),
        ...     kernel_quantizer=HardTanh(0.4))

    Args:
        r: half-width of the hard-tanh's linear region, > 0; must equal the quantizers' ``r``.
        sigma_b2: bias variance, >= 0.
        seed: None or an integer >= 0; a seeded instance returns the same tensor on every call.

    Raises:
        bnn_init.theory.NoCriticalPoint: when no sigma_w2 puts (r, sigma_b2) at chi_1 = 1.
    """

    def __init__(self, r=1.0, sigma_b2=0.0, seed=None):
        super().__init__(r, None, sigma_b2, seed)

    def sample(self, shape, dtype):
        std = self.r * math.sqrt(self.sigma_w2 / fan_in(shape))
        return std * self.normal(shape, dtype)

    def get_config(self):
        return {"r": self.r, "sigma_b2": self.sigma_b2, "seed": self.seed}


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class HardTanhUniform(_HardTanhInitializer):
    """W ~ U(-A, A) with A = r sqrt(3 sigma_w2 / fan_in) (Wang (2018), sec. 4, with erratum 3).

    For A < r, fan_in E[B_r(W)^2] = fan_in A^2 / (3 r^2) = sigma_w2, so the network has the same
    theory as ``CriticalHardTanhNormal``. Wang's printed A = (3 sigma_w2 r^2 / (2 N))^(1/3) drops
    the density 1 / (2A) and makes the effective sigma_w2 grow like N^(1/3); it is not used.
    ``sigma_w2=None`` means the critical value of ``HardTanhBNN.critical(r=r, sigma_b2=sigma_b2)``.

    Example:
        >>> init = HardTanhUniform(r=1.0, seed=3)          # critical: sigma_w2 = 1
        >>> w = init((1024, 256))
        >>> bool(abs(float(tf.reduce_max(w)) - (3 / 1024) ** 0.5) < 1e-3)
        True

    Args:
        r: half-width of the hard-tanh's linear region, > 0; must equal the quantizers' ``r``.
        sigma_w2: weight variance sigma_w2 > 0, or None for the edge of chaos.
        sigma_b2: bias variance, >= 0.
        seed: None or an integer >= 0; a seeded instance returns the same tensor on every call.

    Raises:
        bnn_init.theory.NoCriticalPoint: for ``sigma_w2=None`` when (r, sigma_b2) has no edge of
            chaos. ValueError when called on a kernel with fan_in < 3 sigma_w2 (then A >= r and
            the clipping of B_r breaks the variance match).
    """

    def __init__(self, r=1.0, sigma_w2=None, sigma_b2=0.0, seed=None):
        super().__init__(r, sigma_w2, sigma_b2, seed)
        self._critical = sigma_w2 is None

    def sample(self, shape, dtype):
        n = fan_in(shape)
        if n < 3.0 * self.sigma_w2:
            raise ValueError(
                f"fan_in={n} is too small for HardTanhUniform with sigma_w2={self.sigma_w2:g}: "
                f"the half-width A = r sqrt(3 sigma_w2 / fan_in) must stay below r, which needs "
                f"fan_in >= 3 sigma_w2 = {3 * self.sigma_w2:g}"
            )
        half_width = self.r * math.sqrt(3.0 * self.sigma_w2 / n)
        return half_width * self.uniform(shape, dtype)

    def get_config(self):
        sigma_w2 = None if self._critical else self.sigma_w2
        return {"r": self.r, "sigma_w2": sigma_w2, "sigma_b2": self.sigma_b2, "seed": self.seed}
