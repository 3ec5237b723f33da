"""bnn-init: binary neural networks that are trainable by construction.

Mean-field theory of signal propagation (`bnn_init.theory`), Keras initializers at the edge of chaos
(`bnn_init.initializers`), Larq quantizers and surrogate layers, MFB-BackProp training, live
monitoring callbacks and Larq Compute Engine export, for Keras 2 (tf-keras) / TensorFlow / Larq.

``import bnn_init`` is cheap: it imports neither TensorFlow nor any submodule. It sets
``TF_USE_LEGACY_KERAS=1`` so that TensorFlow, when imported, uses Keras 2 (see
`bnn_init._keras_setup`), and public names are loaded on first use:

    >>> import bnn_init
    >>> bnn_init.HardTanhBNN.critical(r=1.0, sigma_b2=0.0).sigma_w2  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import importlib
from importlib import metadata

from bnn_init import _keras_setup

try:
    __version__ = metadata.version("bnn-init")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

# Public name -> module that defines it; imported on first attribute access (PEP 562).
_SUBMODULES = (
    "theory",
    "quantizers",
    "initializers",
    "layers",
    "training",
    "callbacks",
    "export",
    "datasets",
    "plotting",
    "cli",
)
_NAMES = {
    "bnn_init.theory": (
        "ContinuousNet",
        "HardTanhBNN",
        "DeterministicSurrogate",
        "LRTSurrogate",
        "SignNet",
        "NoCriticalPoint",
        "phase_diagram",
        "describe",
    ),
    "bnn_init.quantizers": ("HardTanh",),
    "bnn_init.initializers": (
        "CriticalHardTanhNormal",
        "HardTanhUniform",
        "ConstantVariance",
        "BinaryMeans",
        "CriticalBias",
    ),
    "bnn_init.training": ("MFBNetwork",),
    "bnn_init.export": ("export_lce", "export_tflite"),
    "bnn_init.callbacks": ("SignalPropagationMonitor",),
}
_LAZY = {name: f"bnn_init.{name}" for name in _SUBMODULES}
_LAZY.update({name: module for module, names in _NAMES.items() for name in names})

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'bnn_init' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"bnn_init.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})


# Last, so that modules it may import (when tf-keras is already loaded) see a complete package.
_keras_setup.setup()
