"""The check each larq-zoo architecture passes (tests/test_export_zoo_*.py run it in two halves,
so that pytest-xdist's two workers share the load).

Each exports with every binary convolution LCE bitpacks still bitpacked, no more than 2 % larger
than LCE's default conversion, and verified against the original Keras model: 100 % argmax
agreement and max |diff| within LCE's end-to-end tolerance (1e-3 of max(1, max |y|)) on every
input except those where a binarised value within float rounding of its threshold flipped
(excused only when the first diverging layer is explained by such near ties; at most half).
"""

import numpy as np

from bnn_init.export import export_lce
from bnn_init.testing import zoo_model

FIRST_HALF = (
    "QuickNetSmall",
    "QuickNet",
    "QuickNetLarge",
    "BiRealNet",
    "BinaryAlexNet",
    "XNORNet",
    "BinaryDenseNet28",
)
SECOND_HALF = (
    "DoReFaNet",
    "BinaryResNetE18",
    "RealToBinaryNet",
    "BinaryDenseNet37",
    "BinaryDenseNet45",
    "MeliusNet22",
)
SAMPLES = {"XNORNet": 8}  # 224x224 inputs and two 4096-filter float layers: slow to run
DEFAULT_SAMPLES = 16


def assert_exports_exactly(name: str, folder) -> None:
    model = zoo_model(name)
    n = SAMPLES.get(name, DEFAULT_SAMPLES)
    x = np.random.default_rng(0).standard_normal((n, *model.input_shape[1:])).astype(np.float32)
    path = folder / f"{name}.tflite"
    rep = export_lce(model, path, sample_inputs=x, compare_default=True)
    assert path.stat().st_size == rep.file_bytes
    parity = rep.parity
    assert parity["reference"] == "Keras model"
    assert parity["argmax_agreement"] == 1.0 and parity["max_abs_diff"] <= parity["atol"]
    assert parity["samples"] + parity.get("near_tie_flips", 0) == n
    assert parity["samples"] >= n // 2
    default = rep.default_conversion
    assert rep.bitpacked_ops >= default["op_counts"].get("LceBconv2d", 0)
    assert rep.bitpacked_ops >= rep.binary_layers
    assert rep.file_bytes <= 1.02 * default["file_bytes"]
