"""Mean-field signal propagation for the network families of the seed papers.

numpy + scipy only: importing this package never imports TensorFlow.

>>> from bnn_init.theory import HardTanhBNN
>>> model = HardTanhBNN.critical(r=1.0, sigma_b2=0.0)
>>> round(model.sigma_w2, 12), model.chi1
(1.0, 1.0)
"""

from .base import MeanFieldModel, Trajectory
from .describe import Description, describe
from .errors import NoCriticalPoint
from .models import ContinuousNet, DeterministicSurrogate, HardTanhBNN, LRTSurrogate, SignNet
from .phase import PhaseDiagram, phase_diagram

__all__ = [
    "ContinuousNet",
    "DeterministicSurrogate",
    "Description",
    "HardTanhBNN",
    "LRTSurrogate",
    "MeanFieldModel",
    "NoCriticalPoint",
    "PhaseDiagram",
    "SignNet",
    "Trajectory",
    "describe",
    "phase_diagram",
]
