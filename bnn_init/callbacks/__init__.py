"""Live monitoring of signal propagation while a model trains.

`SignalPropagationMonitor` measures, per layer, the second moment q^l and pair correlation c^l of
the pre-activations and the gradient variance E[delta_l^2], and writes them to TensorBoard next to
what the mean-field theory (`bnn_init.theory`, Schoenholz et al. (2017)) predicts:

    >>> monitor = SignalPropagationMonitor(x[:128], y[:128], log_dir="logs/bnn")  # doctest: +SKIP
    >>> model.fit(x, y, callbacks=[monitor])                                         # doctest: +SKIP
"""

# the measured statistics (pure numpy) live in bnn_init.graph; importable from here as before
from bnn_init.graph import statistics

from .monitor import SignalPropagationMonitor

__all__ = ["SignalPropagationMonitor", "statistics"]
