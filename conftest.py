"""Root test configuration: docstring examples (``--doctest-modules`` over ``bnn_init``) run in a
temporary folder, so an example that writes a file (``savefig("phase.png")``) leaves the checkout
alone. The test suite's own configuration is in tests/conftest.py."""

import pytest


@pytest.fixture(autouse=True)
def _doctests_run_in_a_temporary_folder(request, tmp_path, monkeypatch):
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(tmp_path)
