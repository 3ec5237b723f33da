"""export_lce on larq-zoo's architectures, as users bring them (see bnn_init.testing).

Each exports with every binary convolution LCE bitpacks still bitpacked, no more than 2 % larger
than LCE's default conversion, and verified against the original Keras model: 100 % argmax
agreement and max |diff| within LCE's end-to-end tolerance (1e-3 of max(1, max |y|)) on every
input where no binarised value sits within float rounding of its threshold.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow loads

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bnn_init  # noqa: E402,F401  (sets up tf-keras)
from bnn_init.export import export_lce  # noqa: E402
from bnn_init.testing import ZOO_MODELS, zoo_model  # noqa: E402

SAMPLES = 64
SMALLER_THAN_DEFAULT = {"BinaryAlexNet"}  # binary dense layers: FULLY_CONNECTED in LCE's default


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_architecture_exports_exactly(tmp_path, name):
    model = zoo_model(name)
    x = np.random.default_rng(0).standard_normal((SAMPLES, *model.input_shape[1:]))
    path = tmp_path / f"{name}.tflite"
    rep = export_lce(model, path, sample_inputs=x.astype(np.float32), compare_default=True)
    assert path.stat().st_size == rep.file_bytes
    parity = rep.parity
    assert parity["reference"] == "Keras model"
    assert parity["argmax_agreement"] == 1.0 and parity["max_abs_diff"] <= parity["atol"]
    assert parity["samples"] + parity.get("near_tie_flips", 0) == SAMPLES
    assert parity["samples"] >= SAMPLES // 2
    default = rep.default_conversion
    assert rep.bitpacked_ops >= default["op_counts"].get("LceBconv2d", 0)
    assert rep.bitpacked_ops >= rep.binary_layers
    assert rep.file_bytes <= 1.02 * default["file_bytes"]
    if name in SMALLER_THAN_DEFAULT:
        assert rep.file_bytes < 0.5 * default["file_bytes"]
