"""Test configuration: Keras 2 must be chosen before any test module imports TensorFlow.

Importing bnn_init sets TF_USE_LEGACY_KERAS=1 (see bnn_init/_keras_setup.py); conftest runs before
the test modules are collected, whatever order their imports are sorted in.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bnn_init  # noqa: E402, F401
