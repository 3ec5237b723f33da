"""What an experiment returns: `ExperimentResult`, tidy ``rows`` (one dict per trained network or
measured point), matplotlib ``figures``, a printed ``verdict`` that sets the measurement against the
theory and the paper, and ``summary`` numbers that tests and the README generator read.
Every ``bnn-init reproduce`` experiment and MFB's comparisons return one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnn_init.primitives import write_csv

__all__ = ["ExperimentResult", "plain_data", "span"]


def span(values, scale=1.0, digits=0):
    """``values`` times ``scale`` as "a" when the smallest and largest round alike, else "a-b":
    how a headline quotes a range.

    >>> span([0.112, 0.254], 100), span([0.5, 0.5004], 100), span([1.26, 3.81], digits=1)
    ('11-25', '50', '1.3-3.8')
    """
    low, high = (f"{scale * v:.{digits}f}" for v in (min(values), max(values)))
    return low if low == high else f"{low}-{high}"


def plain_data(value):
    """``value`` with numpy arrays and scalars turned into lists and Python numbers, tuples into
    lists and non-finite floats into None: what `json.dumps` writes as standard JSON."""
    if isinstance(value, dict):
        return {str(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain_data(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class ExperimentResult:
    """Tidy results of one experiment.

    ``rows``: list of dicts (one per trained network or measured point), written as ``NAME.csv``;
    ``figures``: name -> `matplotlib.figure.Figure`, written as ``NAME.png`` (or
    ``NAME_<key>.png`` when there are several); ``verdict``: the printed comparison with theory and
    paper; ``summary``: the key numbers of the verdict (for tests and the README); ``headline``:
    the one-line gist of the verdict that opens the experiment's part of the README's Results.
    """

    name: str
    rows: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    verdict: str = ""
    summary: dict = field(default_factory=dict)
    seconds: float = 0.0
    headline: str = ""

    def record(self) -> dict:
        """What ``make reproduce`` keeps of the run in ``summary.json``: ``minutes``,
        ``headline`` and the ``summary`` numbers (``updates`` and ``paper_updates`` among them),
        as plain JSON data (`plain_data`)."""
        return plain_data(
            {"minutes": round(self.seconds / 60, 2), "headline": self.headline, **self.summary}
        )

    def save(self, out) -> list[Path]:
        """Write the CSV, the PNG figures and ``NAME.txt`` (the verdict) into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [write_csv(self.rows, out / f"{self.name}.csv", float_format=".6g")]
        for key, fig in self.figures.items():
            stem = self.name if len(self.figures) == 1 else f"{self.name}_{key}"
            path = out / f"{stem}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            paths.append(path)
        text = out / f"{self.name}.txt"
        text.write_text(self.verdict + "\n")
        paths.append(text)
        return paths
