"""Parameter checks every part of bnn-init shares: each names the parameter, its value and the
allowed range, so bad input gets a clear ``ValueError`` (or ``TypeError`` for the wrong kind).

Example:
    >>> check_number("r", 0.5, low=0.0, low_open=True)
    0.5
    >>> check_integer("depth", 0)
    Traceback (most recent call last):
    ...
    ValueError: depth must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_choice", "check_integer", "check_number", "check_range", "first_line"]


def _describe(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(float(arr)) if np.issubdtype(arr.dtype, np.number) else repr(value)
    return f"an array with min {arr.min()!r} and max {arr.max()!r}"


def check_range(name: str, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float array after checking ``low <= value <= high`` elementwise.

    Raises ValueError naming the parameter, its value and the allowed range; NaN is never allowed,
    nor an infinity on a side without a bound (the range then reads "(.., inf)"; pass
    ``high=np.inf`` to allow +inf).
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    bad = np.isnan(arr)
    if low is None:
        bad |= arr == -np.inf
    if high is None:
        bad |= arr == np.inf
    if low is not None:
        bad |= arr <= low if low_open else arr < low
    if high is not None:
        bad |= arr >= high if high_open else arr > high
    if np.any(bad):
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {lo}, {hi}, got {_describe(value)}")
    return arr


def check_number(name: str, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float after checking it is one finite real number (not a bool) in
    the range of `check_range`: TypeError for anything else, ValueError outside the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(
        check_range(name, value, low=low, high=high, low_open=low_open, high_open=high_open)
    )


def check_choice(name: str, value, choices):
    """Check that ``value`` is one of ``choices`` (strings), else ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_integer(name: str, value, low: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer (not a bool) >= ``low``:
    TypeError for a non-integer, ValueError below ``low``, both naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty
    (for one-line reports of errors raised by other libraries)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
