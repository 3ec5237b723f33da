"""Quiet TensorFlow start-up for the command line.

TensorFlow's native libraries print lines at import that no setting reaches on a CPU-only
machine (absl's "All log messages before absl::InitializeLog() ..." and CUDA stub notices) and
errors such as "failed call to cuInit" when its devices start. :func:`import_tensorflow_quietly`
sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it) and sends the process's native stderr to
the null device while ``import tensorflow`` runs; Python's own errors are unaffected (they are
raised, and printed after stderr is back).
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["import_tensorflow_quietly"]


@contextlib.contextmanager
def _native_stderr_dropped():
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (once) without its native start-up lines (module docstring)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    with _native_stderr_dropped():
        import tensorflow  # noqa: F401
