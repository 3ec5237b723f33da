"""Keras 2 for bnn-init: route ``tf.keras`` to tf-keras and register bnn-init's Keras objects.

Larq needs Keras 2. With TensorFlow >= 2.16 that is the ``tf-keras`` package, which TensorFlow uses
for ``tf.keras`` only when ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow is first imported.
`setup()` (run by ``import bnn_init``) sets the variable when TensorFlow is not imported yet and
raises an ImportError saying what to do when it was already imported with Keras 3.

Keras objects (initializers, quantizers, layers, ...) are registered by the modules in
`KERAS_MODULES` when those are imported, so string aliases such as
``tf.keras.initializers.get("critical_hardtanh_normal")`` work only after that. ``import bnn_init``
must not import TensorFlow itself (``bnn_init.theory`` stays fast and TensorFlow-free), so the
modules are imported as soon as it is safe: at once if TensorFlow and tf-keras are already imported,
otherwise by a one-shot import hook. The hook wraps the loaders of the modules in `_WATCHED` and,
each time one of them finishes executing, imports `KERAS_MODULES` if TensorFlow and tf-keras are
fully imported, no module in `_DEPENDENCIES` is half-imported (``import larq`` imports TensorFlow
before larq itself is complete, and bnn-init's modules need a complete larq), and TensorFlow's lazy
``tf.keras`` is not in the middle of choosing its Keras.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys
import types
import warnings

__all__ = ["KERAS_MODULES", "setup"]

#: Modules that register Keras objects with ``register_keras_serializable(package="bnn_init")``.
#: Names that do not exist (yet) are skipped.
KERAS_MODULES = (
    "bnn_init.quantizers",
    "bnn_init.initializers",
    "bnn_init.layers",
    "bnn_init.training",
    "bnn_init.export",
)

_ENV = "TF_USE_LEGACY_KERAS"
_TRUE = ("1", "true", "True")  # the values TensorFlow accepts
# Modules that import TensorFlow and that `KERAS_MODULES` import: registering must wait while one of
# them is half-imported.
_DEPENDENCIES = (
    "tensorflow",
    "tf_keras",
    "larq",
    "larq_compute_engine",
    "tensorflow_model_optimization",
)
# Modules whose completion may be the first moment registering is safe (the last is what TensorFlow
# imports when ``tf.keras`` is first used).
_WATCHED = frozenset({*_DEPENDENCIES, "tf_keras.api._v2.keras"})

_state = {"registered": False}


class KerasSetupError(ImportError):
    """TensorFlow was imported with Keras 3 before bnn_init; tf.keras cannot be switched now."""


def _keras3_message(tf_version: str) -> str:
    major_minor = ".".join(tf_version.split(".")[:2])
    return (
        f"bnn_init needs Keras 2 (the tf-keras package, which Larq requires), but TensorFlow "
        f"{tf_version} was imported before bnn_init without {_ENV}=1, so tf.keras is Keras 3 and "
        "cannot be switched in this process. Do one of:\n"
        "  1. import bnn_init before tensorflow (or larq); it sets TF_USE_LEGACY_KERAS=1 for you;\n"
        "  2. set TF_USE_LEGACY_KERAS=1 before TensorFlow is first imported: "
        "`export TF_USE_LEGACY_KERAS=1` in the shell, or "
        '`os.environ["TF_USE_LEGACY_KERAS"] = "1"` at the top of your script or notebook;\n'
        f'and make sure tf-keras is installed: pip install "tf-keras~={major_minor}.0"\n'
        "then restart the Python process."
    )


def _tensorflow_uses_keras3(tf: types.ModuleType) -> bool:
    """Whether an already imported TensorFlow routes ``tf.keras`` to Keras 3.

    TensorFlow >= 2.16 decides at import time (``_tf_uses_legacy_keras``): it puts the chosen Keras
    on ``tensorflow.__path__`` and imports its optimizers, so setting the variable afterwards gives
    a mix that breaks Larq. Older TensorFlow uses the ``keras`` package, Keras 2 unless it is 3.x.
    """
    namespace = vars(tf)
    if "_tf_uses_legacy_keras" in namespace:
        return not namespace["_tf_uses_legacy_keras"]
    keras = sys.modules.get("keras")
    return str(getattr(keras, "__version__", "")).startswith("3.")


def _tf_keras_resolving() -> bool:
    """True while TensorFlow's lazy ``tf.keras`` loader is choosing its Keras (re-entry recurses).

    Read from the loader's instance dict only, so that nothing is triggered.
    """
    tf = sys.modules.get("tensorflow")
    loader = vars(tf).get("keras") if tf is not None else None
    state = vars(loader) if isinstance(loader, types.ModuleType) else {}
    return bool(state.get("_tfll_initialized")) and "_tfll_keras_version" not in state


def _half_imported(name: str, just_finished: str | None) -> bool:
    """Whether module ``name`` is in sys.modules but has not finished executing."""
    module = sys.modules.get(name)
    if module is None or name == just_finished:
        return False
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _import_keras_modules() -> None:
    """Import every existing module of `KERAS_MODULES`; a missing one (or package) is skipped."""
    for name in KERAS_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if not (name == missing or name.startswith(missing + ".")):
                raise


def _register(just_finished: str | None = None) -> None:
    """Import `KERAS_MODULES` once that is safe (see the module docstring)."""
    if _state["registered"] or not {"tensorflow", "tf_keras"} <= sys.modules.keys():
        return
    if any(_half_imported(name, just_finished) for name in _DEPENDENCIES):
        return
    if _tf_keras_resolving():
        return
    _state["registered"] = True
    for finder in [f for f in sys.meta_path if isinstance(f, _PostImportHook)]:
        sys.meta_path.remove(finder)
    try:
        _import_keras_modules()
    except BaseException as error:
        error.add_note("(raised while bnn_init registered its Keras objects after tf-keras loaded)")
        raise


class _RegisteringLoader(importlib.abc.Loader):
    """Wraps a module's loader: executes the module, then calls `_register`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # The module runs with (and keeps) its own loader; only the wrapper knows about bnn_init.
        module.__spec__.loader = self._loader
        module.__loader__ = self._loader
        self._loader.exec_module(module)
        _register(just_finished=module.__name__)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _PostImportHook(importlib.abc.MetaPathFinder):
    """Finds the watched modules with the other finders and wraps their loaders."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


def _use_legacy_keras() -> None:
    previous = os.environ.get(_ENV)
    if previous is not None and previous not in _TRUE:
        warnings.warn(
            f"bnn_init sets {_ENV}=1 (it was {previous!r}): Larq and bnn_init need Keras 2",
            RuntimeWarning,
            stacklevel=3,
        )
    if previous not in _TRUE:
        os.environ[_ENV] = "1"


def setup() -> None:
    """Make ``tf.keras`` tf-keras and arrange for bnn-init's Keras objects to be registered.

    Raises:
        KerasSetupError (an ImportError): TensorFlow was imported before with Keras 3.
    """
    tf = sys.modules.get("tensorflow")
    if tf is not None and _tensorflow_uses_keras3(tf):
        raise KerasSetupError(_keras3_message(str(vars(tf).get("__version__", "?"))))
    _use_legacy_keras()
    if _state["registered"]:
        return
    if "tf_keras" in sys.modules:
        _register()
    if not _state["registered"] and not any(isinstance(f, _PostImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _PostImportHook())
