"""The error the theory raises beyond a bad parameter (those checks are
`bnn_init.primitives.checks`): a model with no edge of chaos."""

from __future__ import annotations


class NoCriticalPoint(ValueError):
    """The requested model has no edge of chaos (chi_1 = 1) in its allowed parameter range.

    The message says why and names the nearest feasible point; ``nearest`` holds that point's
    parameters as a dict so code can fall back to it.
    """

    def __init__(self, message: str, nearest: dict | None = None):
        super().__init__(message)
        self.nearest = dict(nearest or {})
