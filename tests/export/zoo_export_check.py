"""The check each larq-zoo architecture passes (tests/export/test_export_zoo_*.py run it in two halves,
so that pytest-xdist's two workers share the load).

Each exports with every binary convolution LCE bitpacks still bitpacked, no more than 2 % larger
than LCE's default conversion, and verified against the original Keras model: 100 % argmax
agreement and max |diff| within LCE's end-to-end tolerance (1e-3 of max(1, max |y|)) on every
input except those where a binarised value within float rounding of its threshold flipped
(excused only when the first diverging layer is explained by such near ties; at most half).
"""

import numpy as np
import pytest

from bnn_init.export import export_lce
from bnn_init.testing import ZOO_MODELS, zoo_model

FIRST_HALF = (
    "QuickNetSmall",
    "QuickNet",
    "QuickNetLarge",
    "BiRealNet",
    "BinaryAlexNet",
    "XNORNet",
    "BinaryDenseNet28",
    "BinaryDenseNet37",
)
SECOND_HALF = tuple(name for name in ZOO_MODELS if name not in FIRST_HALF)
# The unit tier (`make test`) exports these three: a plain binary ResNet-like net (QuickNetSmall),
# one that needs the exporter's rewrite (BiRealNet: compared with LCE's default conversion) and
# one with binary dense layers and larger inputs (BinaryAlexNet); the rest are the slow tier.
UNIT_TIER = ("QuickNetSmall", "BiRealNet", "BinaryAlexNet")


def tiered(names):
    """``names`` as pytest parameters, those outside `UNIT_TIER` marked slow."""
    return [
        pytest.param(name, marks=() if name in UNIT_TIER else pytest.mark.slow) for name in names
    ]


# Comparing with LCE's default conversion is free when no rewrite was needed (the same file) and
# costs a second conversion otherwise; of the rewritten models the tests compare BiRealNet, and
# scripts/zoo_export_table.py compares all (RealToBinaryNet 1.007x, MeliusNet22 1.007x).
NOT_COMPARED = ("RealToBinaryNet", "MeliusNet22")
# Few inputs keep the suite fast: each needs an interpreter run, and an input with a near-tie
# flip costs a bisection over converted prefixes. scripts/zoo_export_table.py runs 64 each.
SAMPLES = {"XNORNet": 2}  # 224x224 inputs and two 4096-filter float layers
DEFAULT_SAMPLES = 4


def assert_exports_exactly(name: str, folder) -> None:
    model = zoo_model(name)
    n = SAMPLES.get(name, DEFAULT_SAMPLES)
    x = np.random.default_rng(0).standard_normal((n, *model.input_shape[1:])).astype(np.float32)
    path = folder / f"{name}.tflite"
    rep = export_lce(model, path, sample_inputs=x, compare_default=name not in NOT_COMPARED)
    assert path.stat().st_size == rep.file_bytes
    parity = rep.parity
    assert parity["reference"] == "Keras model"
    assert parity["argmax_agreement"] == 1.0 and parity["max_abs_diff"] <= parity["atol"]
    assert parity["samples"] + parity.get("near_tie_flips", 0) == n
    assert parity["samples"] >= max(1, n // 2)
    assert rep.bitpacked_ops >= rep.binary_layers
    default = rep.default_conversion
    if default is not None:
        assert rep.bitpacked_ops >= default["op_counts"].get("LceBconv2d", 0)
        assert rep.file_bytes <= 1.02 * default["file_bytes"]
