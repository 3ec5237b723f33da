"""Replace the part of README.md between two markers with a generated table."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def has_markers(start: str, end: str) -> bool:
    """True when README.md has both markers; says so on stderr otherwise."""
    text = README.read_text()
    if start in text and end in text:
        return True
    print(f"README.md has no {start} ... {end} markers", file=sys.stderr)
    return False


def write_between(start: str, end: str, lines: list) -> None:
    """Put ``lines`` between ``start`` and ``end`` (README.md is read again: runs take minutes)."""
    table = "\n".join([start, *lines, end])
    text = README.read_text()
    README.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), table, text, flags=re.S))


def replace_table(start: str, end: str, header: str, row, names) -> int:
    """Write ``header`` and ``row(name, folder)`` for each of ``names`` between the markers,
    ``folder`` a temporary directory for what the rows write; exit status 2 without markers."""
    if not has_markers(start, end):
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row(name, Path(tmp)) for name in names]
    write_between(start, end, [header, *rows])
    return 0
