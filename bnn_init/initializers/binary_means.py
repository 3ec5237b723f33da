"""Means of stochastic binary weights near +-1 (Stamatescu et al. (2019), sec. 3.2)."""

import math

import numpy as np
import tensorflow as tf
from scipy.optimize import brentq
from scipy.special import erf

from bnn_init.primitives.checks import check_choice, check_number
from bnn_init.primitives.signs import tf_sign

from ._base import SeededInitializer


def clipped_normal_scale(sigma_m2):
    """The s with Var(clip(s Z, -1, 1)) = sigma_m2 for Z ~ N(0, 1), 0 < sigma_m2 < 1.

    With t = 1 / s: Var = s^2 [erf(t / sqrt 2) - 2 t phi(t)] + erfc(t / sqrt 2), which increases
    from 0 to 1 with s; it never exceeds s^2, so the root lies above sqrt(sigma_m2).
    """

    def variance(s):
        t = 1.0 / s
        inside = erf(t / math.sqrt(2.0))
        density = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
        return s * s * (inside - 2.0 * t * density) + (1.0 - inside)

    low, high = math.sqrt(sigma_m2), 1.0 / (1.0 - sigma_m2) + 1.0
    return brentq(lambda s: variance(s) - sigma_m2, low, high, xtol=1e-12, rtol=1e-12)


@tf.keras.utils.register_keras_serializable(package="bnn_init")
class BinaryMeans(SeededInitializer):
    """Means M of stochastic binary weights (W = +-1 with E[W] = M) with E[M^2] = sigma_m2.

    Stamatescu et al. (2019), sec. 3.2: the surrogates' fields are h = (1 / sqrt(N)) sum_j M_ij x_j
    + b, so M is drawn without any fan-in factor, and chi_1 grows with sigma_m2: the surrogates
    are closest to criticality with means near +-1, i.e. sigma_m2 -> 1 (erratum 7), hence the
    default 0.99. ``"two_point"`` draws M = +-sqrt(sigma_m2) with equal probability (Stamatescu et al. 2019, sec. 3.2);
    ``"clipped_normal"`` draws clip(s Z, -1, 1) with s solved so that Var(M) = sigma_m2 (Stamatescu et al. 2019,
    footnote 4). Use it for the surrogate layers and for the latent weights of Larq layers.

    Example:
        >>> m = BinaryMeans(0.99, seed=0)((784, 256))
        >>> bool(abs(float(tf.reduce_mean(m ** 2)) - 0.99) < 1e-5)
        True

    Args:
        sigma_m2: variance of the means, in (0, 1] for ``"two_point"`` and (0, 1) for
            ``"clipped_normal"``.
        distribution: ``"two_point"`` or ``"clipped_normal"``.
        seed: None or an integer >= 0; a seeded instance returns the same tensor on every call.
    """

    def __init__(self, sigma_m2=0.99, distribution="two_point", seed=None):
        super().__init__(seed)
        self.distribution = check_choice(
            "distribution", distribution, ("two_point", "clipped_normal")
        )
        clipped = self.distribution == "clipped_normal"
        self.sigma_m2 = check_number(
            "sigma_m2", sigma_m2, low=0.0, low_open=True, high=1.0, high_open=clipped
        )
        self._scale = clipped_normal_scale(self.sigma_m2) if clipped else None

    def sample(self, shape, dtype):
        if self.distribution == "clipped_normal":
            return tf.clip_by_value(self._scale * self.normal(shape, dtype), -1.0, 1.0)
        signs = tf_sign(self.uniform(shape, dtype))
        return tf.cast(np.sqrt(self.sigma_m2) * signs, dtype)

    def get_config(self):
        return {"sigma_m2": self.sigma_m2, "distribution": self.distribution, "seed": self.seed}
