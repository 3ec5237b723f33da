"""Rows of dicts written as CSV: the columns are ``columns`` when given, else the union of the
rows' keys in first-seen order; a row without a column gets an empty cell; with
``float_format`` (e.g. ".6g") floats are written in that format.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_csv([{"a": 1}, {"a": 2, "b": 3}], path)
    >>> path.read_text().splitlines()
    ['a,b', '1,', '2,3']
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["write_csv"]


def write_csv(rows, path, columns=None, float_format=None) -> Path:
    """Write ``rows`` (dicts) to ``path`` as CSV (module docstring); return the path."""
    path = Path(path)
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(key for key in row if key not in columns)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), restval="", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(value, float_format) for key, value in row.items()})
    return path


def _cell(value, float_format):
    if float_format is not None and isinstance(value, float | np.floating):
        return format(float(value), float_format)
    return value
