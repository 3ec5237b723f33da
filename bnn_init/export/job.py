"""The one object that carries an export through its stages (see :mod:`bnn_init.export.convert`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf


@dataclass
class ExportJob:
    """What the user asked for, and what each stage has produced so far.

    Filled in order: ``verdicts`` (judge), ``ready`` and ``roles`` (rewrite), ``to_convert`` and
    ``int8_ranges`` (int8), ``flatbuffer`` (convert), ``parity`` (verify), ``report`` (report).
    """

    model: tf.keras.Model
    path: Path
    converter: str
    target: str = "arm"
    int8: bool = False
    binarize: bool = False
    representative_data: np.ndarray | None = None
    sample_inputs: np.ndarray | None = None
    verify: bool = True
    overwrite: bool = False
    atol: float | None = None
    min_agreement: float | None = None
    compare_default: bool = False
    verdicts: dict = field(default_factory=dict)
    ready: tf.keras.Model | None = None
    roles: dict = field(default_factory=dict)
    to_convert: tf.keras.Model | None = None
    int8_ranges: dict | None = None
    flatbuffer: bytes = b""
    parity: dict | None = None
    parity_with_user_model: dict | None = None
    default_conversion: dict | None = None
    report: object = None
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the exported function differs from the user's (only with ``binarize``)."""
        return bool(self.changes)
