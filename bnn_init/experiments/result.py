"""What an experiment returns: `ExperimentResult`, tidy ``rows`` (one dict per trained network or
measured point), matplotlib ``figures``, a printed ``verdict`` that sets the measurement against the
theory and the paper, and ``summary`` numbers that tests and the README generator read.
Every ``bnn-init reproduce`` experiment and MFB's comparisons return one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bnn_init.primitives import write_csv

__all__ = ["ExperimentResult"]


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
