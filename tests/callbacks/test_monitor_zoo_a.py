"""The graph theory's local predictions on larq-zoo's QuickNetSmall (tests/callbacks/zoo_monitor_check.py)."""

from zoo_monitor_check import assert_local_theory_holds


def test_quicknet_small_local_predictions_hold_at_initialisation(tmp_path):
    assert_local_theory_holds("QuickNetSmall", tmp_path)
