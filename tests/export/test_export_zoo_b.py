"""export_lce on larq-zoo's architectures, second half (see tests/export/zoo_export_check.py)."""

import pytest
from zoo_export_check import SECOND_HALF, assert_exports_exactly, tiered

import bnn_init  # noqa: F401  (sets up tf-keras)


@pytest.mark.parametrize("name", tiered(SECOND_HALF))
def test_zoo_architecture_exports_exactly(tmp_path, name):
    assert_exports_exactly(name, tmp_path)
