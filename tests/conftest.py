"""Test configuration: Keras 2 must be chosen before any test module imports TensorFlow.

Importing bnn_init sets TF_USE_LEGACY_KERAS=1 (see bnn_init/_keras_setup.py); conftest runs before
the test modules are collected, whatever order their imports are sorted in.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hypothesis import settings  # noqa: E402

import bnn_init  # noqa: E402, F401

# The same examples on every run: a property test that fails must fail every time (a random draw
# once found a c* disagreement one float below criticality, and the next run passed; that case
# is now fixed and has its own test in test_theory_properties.py).
# BNN_INIT_HYPOTHESIS=random draws new examples (to hunt for such cases by hand).
settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("random", derandomize=False, print_blob=True, database=None)
settings.load_profile(os.environ.get("BNN_INIT_HYPOTHESIS", "deterministic"))
