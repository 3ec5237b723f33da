"""MFB-BackProp: online Bayesian training of binary-weight converging networks (Soudry & Meir,
2013), with the BackProp / clipped-BackProp baselines and the paper's experiments.

Example::

    >>> from bnn_init.datasets import load_digits
    >>> from bnn_init.training import MFBNetwork
    >>> (x, y), (x_test, y_test) = load_digits(add_bias=True)
    >>> net = MFBNetwork(x.shape[1], 30, 10, seed=0)  # 65 x (30 x 10) x 10
    >>> history = net.fit(x, y, epochs=5, verbose=0)
    >>> errors = net.evaluate(x_test, y_test)  # {"error": MFB, "pmfb_error": PMFB}
    >>> model = net.to_keras()  # Larq model of the MAP binary network
"""

from .backprop import BackPropNetwork, best_by_validation, learning_rate_scan
from .experiments import (
    best_errors,
    plot_teacher_student,
    real_data_comparison,
    teacher_student_comparison,
)
from .mfb import MFBNetwork
from .mfb_update import bayes_update_step
from .online import fit_side_by_side

__all__ = [
    "BackPropNetwork",
    "MFBNetwork",
    "bayes_update_step",
    "best_by_validation",
    "best_errors",
    "fit_side_by_side",
    "learning_rate_scan",
    "plot_teacher_student",
    "real_data_comparison",
    "teacher_student_comparison",
]
