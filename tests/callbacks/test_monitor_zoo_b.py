"""The graph theory's local predictions on larq-zoo's Bi-Real Net and ResNetE-18
(tests/callbacks/zoo_monitor_check.py); the slow tier (QuickNetSmall's check is the unit tier's)."""

import pytest
from zoo_monitor_check import assert_local_theory_holds, gradient_agreement

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["BiRealNet", "BinaryResNetE18"])
def test_residual_binary_networks_local_predictions_hold_at_initialisation(tmp_path, name):
    monitor = assert_local_theory_holds(name, tmp_path)
    share, predicted = gradient_agreement(monitor)  # at the epoch's end, after 2 updates
    assert predicted >= 19 and share >= 0.9
