"""Export trained BNNs to Larq Compute Engine / TFLite flatbuffers, verified.

``export_lce`` bitpacks every binary layer (binary dense layers included, via a 1x1 convolution
rewrite), optionally makes the float layers int8, checks the flatbuffer against the Keras model
in the LCE interpreter and writes it atomically. ``export_tflite`` is the float (or int8) TFLite
baseline with the same report. ``measure_latency`` times a flatbuffer in the LCE interpreter.
"""

from bnn_init.export.convert import export_lce, export_tflite
from bnn_init.export.latency import measure_latency
from bnn_init.export.report import ExportReport
from bnn_init.export.support import LAYER_TABLE, Verdict, register_layer
from bnn_init.export.verify import ExportVerificationError

__all__ = [
    "ExportReport",
    "ExportVerificationError",
    "LAYER_TABLE",
    "Verdict",
    "export_lce",
    "export_tflite",
    "measure_latency",
    "register_layer",
]
