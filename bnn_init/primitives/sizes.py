"""Named run sizes: every command and experiment of bnn-init keeps its sizes as presets, a dict
from a size name ("test", "quick", "default") to a complete dict of settings, and picks one with
`pick_size`; the command line offers them as ``--size NAME`` with the ``--quick`` shorthand
(`bnn_init.cli_support.add_size_option`).

Example:
    >>> presets = {"quick": {"epochs": 1, "width": 64}, "default": {"epochs": 5, "width": 256}}
    >>> pick_size(presets, "quick", {"epochs": 3, "width": None})
    {'epochs': 3, 'width': 64}
"""

from __future__ import annotations

from collections.abc import Mapping

from .checks import check_choice

__all__ = ["pick_size"]


def pick_size(presets: Mapping, size, overrides: Mapping | None = None) -> dict:
    """The settings of preset ``size`` updated with the ``overrides`` that are not None;
    ValueError for an unknown size or setting."""
    check_choice("size", size, presets)
    settings = dict(presets[size])
    for key, value in (overrides or {}).items():
        if key not in settings:
            raise ValueError(f"unknown setting {key!r}; allowed: {sorted(settings)}")
        if value is not None:
            settings[key] = value
    return settings
