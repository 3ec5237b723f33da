"""Progress of long runs: a tqdm bar on stderr that can be switched off, and a wall-clock timer.

Example:
    >>> bar = progress(3, "grid", enabled=False)   # silent: same methods, no output
    >>> bar.update(); bar.close()
    >>> Timer().seconds >= 0.0
    True
"""

from __future__ import annotations

import time

__all__ = ["Timer", "progress"]


def progress(total: int, desc: str, enabled: bool):
    """A tqdm progress bar (to stderr) when ``enabled``, else a silent stand-in with the same
    ``update``, ``set_postfix_str`` and ``close``."""
    if enabled:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, leave=False)
    return _Silent()


class _Silent:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass


class Timer:
    """Wall-clock seconds since creation (``Timer().seconds``)."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
