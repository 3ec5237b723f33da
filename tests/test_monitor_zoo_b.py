"""The graph theory's local predictions on larq-zoo's Bi-Real Net and ResNetE-18
(tests/zoo_monitor_check.py)."""

import pytest
from zoo_monitor_check import assert_local_theory_holds


@pytest.mark.parametrize("name", ["BiRealNet", "BinaryResNetE18"])
def test_residual_binary_networks_local_predictions_hold_at_initialisation(tmp_path, name):
    assert_local_theory_holds(name, tmp_path)
