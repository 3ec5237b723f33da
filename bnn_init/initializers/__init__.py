"""Keras initializers whose parameters come from `bnn_init.theory`.

=============================  ==========================  =====================================
alias                          class                       paper
=============================  ==========================  =====================================
``critical_hardtanh_normal``   `CriticalHardTanhNormal`    Wang (2018), sec. 3
``hardtanh_uniform``           `HardTanhUniform`           Wang (2018), sec. 4 (erratum 3)
``constant_variance``          `ConstantVariance`          Sari et al. (2019)
``binary_means``               `BinaryMeans`               Stamatescu et al. (2019), sec. 3.2
``critical_bias``              `CriticalBias`              biases N(0, sigma_b2)
=============================  ==========================  =====================================

Importing this module registers the aliases with ``tf.keras.utils.get_custom_objects()``, so
``kernel_initializer="critical_hardtanh_normal"`` works in any layer, and every class under
``bnn_init>ClassName`` so that saved models load without ``custom_objects``.
"""

import tensorflow as tf

from .bias import CriticalBias
from .binary_means import BinaryMeans
from .constant_variance import ConstantVariance
from .hardtanh import CriticalHardTanhNormal, HardTanhUniform

__all__ = [
    "BinaryMeans",
    "ConstantVariance",
    "CriticalBias",
    "CriticalHardTanhNormal",
    "HardTanhUniform",
]

ALIASES = {
    "critical_hardtanh_normal": CriticalHardTanhNormal,
    "hardtanh_uniform": HardTanhUniform,
    "constant_variance": ConstantVariance,
    "binary_means": BinaryMeans,
    "critical_bias": CriticalBias,
}

tf.keras.utils.get_custom_objects().update(ALIASES)
