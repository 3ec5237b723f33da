"""Export trained BNNs to Larq Compute Engine / TFLite flatbuffers, verified.

``export_lce`` converts whatever LCE's converter converts, keeps every binary layer bitpacked
(binary dense layers included, via a 1x1 convolution rewrite), optionally makes the float layers
int8, checks the flatbuffer against the Keras model in the LCE interpreter (naming the first
layer where they part when they do not agree) and writes it atomically. ``export_tflite`` is the
float (or int8) TFLite baseline with the same report. ``measure_latency`` times a flatbuffer in
the LCE interpreter.
"""

from bnn_init.export.convert import export_lce, export_tflite
from bnn_init.export.judge import LAYER_TABLE, Verdict, register_layer
from bnn_init.export.latency import measure_latency
from bnn_init.export.report import ExportReport
from bnn_init.export.verify import ExportVerificationError, first_divergence

__all__ = [
    "ExportReport",
    "ExportVerificationError",
    "LAYER_TABLE",
    "Verdict",
    "export_lce",
    "export_tflite",
    "first_divergence",
    "measure_latency",
    "register_layer",
]
