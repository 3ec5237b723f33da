"""``import bnn_init``: Keras 2 routing, the Keras 3 error, lazy names, the registration hook.

Import order is process-wide state, so each scenario runs in a fresh interpreter
(``sys.executable -c ...``) whose environment lacks TF_USE_LEGACY_KERAS.
"""

import importlib.util
import json
import os
import subprocess
import sys
from importlib import metadata

import pytest

import bnn_init
from bnn_init import _keras_setup


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )


def _json_result(code: str) -> dict:
    result = _run(code)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


BNN_INIT_FIRST = """
import json, os, sys
import bnn_init
import tensorflow as tf
dense = tf.keras.layers.Dense
import larq, tf_keras
print(json.dumps({
    "env": os.environ.get("TF_USE_LEGACY_KERAS"),
    "dense_module": dense.__module__,
    "is_tf_keras": dense is tf_keras.layers.Dense,
    "tf_keras_version": tf_keras.__version__,
    "larq_on_tf_keras": issubclass(larq.layers.QuantDense, tf_keras.layers.Layer),
    "modules": sorted(m for m in sys.modules if m.startswith("bnn_init")),
    "hook_left": any(type(f).__name__ == "_PostImportHook" for f in sys.meta_path),
    "alias": type(tf.keras.initializers.get("critical_hardtanh_normal")).__name__,
}))
"""


@pytest.fixture(scope="module")
def bnn_init_first():
    return _json_result(BNN_INIT_FIRST)


def test_import_bnn_init_first_gives_tf_keras_and_larq_works(bnn_init_first):
    assert bnn_init_first["env"] == "1"
    assert bnn_init_first["is_tf_keras"]
    assert bnn_init_first["dense_module"].startswith("tf_keras.")
    assert bnn_init_first["tf_keras_version"].startswith("2.")
    assert bnn_init_first["larq_on_tf_keras"]


def test_registering_modules_are_imported_once_tf_keras_is_used(bnn_init_first):
    existing = [m for m in _keras_setup.KERAS_MODULES if importlib.util.find_spec(m) is not None]
    assert existing, "no module of KERAS_MODULES exists"
    assert set(existing) <= set(bnn_init_first["modules"])
    assert not bnn_init_first["hook_left"]  # one-shot: the finder removed itself


def test_string_alias_works_right_after_import(bnn_init_first):
    assert bnn_init_first["alias"] == "CriticalHardTanhNormal"


def test_larq_imported_first_registers_after_larq_is_complete():
    # larq imports TensorFlow before larq itself is complete; bnn_init.quantizers needs all of it.
    result = _json_result(
        "import json, bnn_init, larq, tensorflow as tf\n"
        'found = tf.keras.utils.get_registered_object("bnn_init>HardTanh")\n'
        'print(json.dumps({"found": getattr(found, "__module__", None)}))\n'
    )
    assert result["found"] == "bnn_init.quantizers"


def test_tensorflow_first_with_keras3_raises_import_error_with_instructions():
    result = _run("import tensorflow as tf\ntf.keras.layers\nimport bnn_init\n")
    assert result.returncode == 1
    last = result.stderr[result.stderr.rindex("KerasSetupError") :]
    assert issubclass(_keras_setup.KerasSetupError, ImportError)
    assert "TF_USE_LEGACY_KERAS=1 before TensorFlow is first imported" in last
    assert "import bnn_init before tensorflow" in last
    assert 'pip install "tf-keras' in last


def test_lazy_public_names_and_version():
    assert bnn_init.__version__ == metadata.version("bnn-init")
    assert bnn_init.theory is sys.modules["bnn_init.theory"]
    assert "theory" in dir(bnn_init) and "HardTanhBNN" in dir(bnn_init)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        bnn_init.not_a_name  # noqa: B018


def test_lazy_theory_names_resolve_to_the_theory_objects():
    theory = pytest.importorskip("bnn_init.theory")
    if not hasattr(theory, "HardTanhBNN"):
        pytest.skip("theory models not written yet")
    assert bnn_init.HardTanhBNN is theory.HardTanhBNN
    assert bnn_init.NoCriticalPoint is theory.NoCriticalPoint


def test_every_lazy_name_of_an_existing_module_resolves():
    for name, module_name in bnn_init._LAZY.items():
        if importlib.util.find_spec(module_name) is None:
            continue  # a module that is not written yet
        value = getattr(bnn_init, name)
        module = sys.modules[module_name]
        assert value is (module if module_name == f"bnn_init.{name}" else getattr(module, name))


def test_missing_registering_module_is_skipped_but_missing_dependency_raises(tmp_path, monkeypatch):
    package = tmp_path / "bnn_init_fake_registering"
    package.mkdir()
    (package / "__init__.py").write_text("import bnn_init_fake_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        _keras_setup, "KERAS_MODULES", ("bnn_init.no_such_module", "bnn_init.no_such.sub")
    )
    _keras_setup._import_keras_modules()  # both absent: skipped
    monkeypatch.setattr(_keras_setup, "KERAS_MODULES", ("bnn_init_fake_registering",))
    with pytest.raises(ModuleNotFoundError, match="bnn_init_fake_not_installed"):
        _keras_setup._import_keras_modules()


def test_a_false_legacy_flag_is_overridden_with_a_warning(monkeypatch):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")
    with pytest.warns(RuntimeWarning, match="it was '0'"):
        _keras_setup._use_legacy_keras()
    assert os.environ["TF_USE_LEGACY_KERAS"] == "1"
