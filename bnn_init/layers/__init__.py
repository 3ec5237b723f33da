"""Surrogate layers of stochastic binary networks and their binary counterparts.

Stamatescu et al. (2019) train networks with stochastic binary weights (and neurons) through
differentiable surrogates, whose kernels hold the weight means M in [-1, 1]:

=================================  ==================================================  ===========
layer                              field                                               equations
=================================  ==================================================  ===========
`DeterministicSurrogateDense`      h = (sum M x + sqrt(N) b) / sqrt(V), erf(kappa h)   eqs. 7, 12
`DeterministicSurrogateConv2D`     the same, convolutional                             eqs. 7, 12
`LRTSurrogateDense`                h = (1/sqrt(N)) sum M x + b + sqrt(V/N) eps, tanh   eqs. 8, 18
`LRTSurrogateConv2D`               the same, convolutional                             eqs. 8, 18
=================================  ==================================================  ===========

`to_binary` turns a trained surrogate into the deterministic binary Larq network (W = sign(M),
sign neurons) that `bnn_init.export` takes; `sample_binary` draws stochastic binary networks and
`ensemble_accuracy` evaluates their ensemble (Stamatescu et al. 2019, Fig. 2 bottom). `CenteredScale` is Sari et al.'s
(2019) fixed-scale centring.

Example:
    >>> import tensorflow as tf
    >>> model = tf.keras.Sequential([
    ...     tf.keras.Input((64,)),
    ...     DeterministicSurrogateDense(128, input_kind="real"),
    ...     DeterministicSurrogateDense(128),
    ...     DeterministicSurrogateDense(10, return_field=True)])   # default means BinaryMeans(0.99)
    >>> binary = to_binary(model)            # W = sign(M), sign neurons, output rescaled
    >>> print(*(type(layer).__name__ for layer in binary.layers))
    QuantDense QuantDense QuantDense Rescaling
"""

from .binary import StochasticBinaryNetworks, ensemble_accuracy, sample_binary, to_binary
from .centered_scale import CenteredScale
from .deterministic import DeterministicSurrogateConv2D, DeterministicSurrogateDense
from .lrt import LRTSurrogateConv2D, LRTSurrogateDense
from .means import MeansConstraint, SurrogateLayer

__all__ = [
    "CenteredScale",
    "DeterministicSurrogateConv2D",
    "DeterministicSurrogateDense",
    "LRTSurrogateConv2D",
    "LRTSurrogateDense",
    "MeansConstraint",
    "StochasticBinaryNetworks",
    "SurrogateLayer",
    "ensemble_accuracy",
    "sample_binary",
    "to_binary",
]
