"""ExportReport: what is in a flatbuffer, against what the model predicts.

The flatbuffer is parsed with the TFLite schema shipped with LCE (flatbuffers object API). For each
operator we sum the bytes of its constant inputs (weights, biases, folded BatchNorm multipliers
and thresholds) and call them "binary" for ``LceBconv2d`` ops and "float" otherwise (int8 weights
count as float-layer bytes: they belong to non-binary layers).

Predicted bytes per Keras layer (what users expect, compare LCE issues #631, #669):
binary conv/dense (k_h x k_w x C_in -> C_out): ``C_out * k_h * k_w * ceil(C_in / 32) * 4`` bytes of
bitpacked kernel plus ``4 * C_out`` (int32 output thresholds, when the output reaches the next
binary layer through BatchNorm and reshapes that keep the channel axis) or ``8 * C_out`` (float
multiplier and bias); float layers: 4 bytes per weight (1 with int8, whose
bias stays int32; a following BatchNormalization adds a bias); tfmot quantization-aware kernel
layers: 1 byte per weight plus an int32 bias; a BatchNormalization that directly follows a compute layer is folded (0 bytes).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from larq_compute_engine.mlir.python import tflite_schema as schema

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
BINARY_OPS = frozenset({"LceBconv2d"})


@dataclass
class OpBytes:
    """Constant bytes held by one flatbuffer operator."""

    index: int
    op: str
    layer: str | None
    weight_bytes: int
    binary: bool


@dataclass
class ExportReport:
    """Summary of an exported flatbuffer.

    Example:
        >>> report = export_lce(model, "model.tflite")  # doctest: +SKIP
        >>> report.op_counts["LceBconv2d"], report.file_bytes  # doctest: +SKIP
        (4, 3800000)
    """

    path: str
    converter: str
    file_bytes: int
    op_counts: dict[str, int]
    ops: list[OpBytes]
    binary_bytes: int
    float_bytes: int
    predicted_bytes: dict[str, int]
    actual_bytes: dict[str, int]
    parity: dict | None = None
    parity_with_user_model: dict | None = None
    binary_layers: int = 0
    default_conversion: dict | None = None
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    int8_ranges: dict | None = None

    @property
    def predicted_total(self) -> int:
        return sum(self.predicted_bytes.values())

    @property
    def actual_total(self) -> int:
        return sum(self.actual_bytes.values())

    @property
    def bitpacked_ops(self) -> int:
        """Number of ``LceBconv2d`` ops (a ternary layer has two)."""
        return self.op_counts.get("LceBconv2d", 0)

    @property
    def float_fully_connected(self) -> int:
        return self.op_counts.get("FULLY_CONNECTED", 0)

    def summary(self) -> str:
        lines = [
            f"{self.path}: {self.file_bytes} bytes ({self.converter})",
            f"  weights: binary {self.binary_bytes} B, float {self.float_bytes} B; "
            f"predicted {self.predicted_total} B, actual {self.actual_total} B",
            "  ops: " + ", ".join(f"{k} x{v}" for k, v in sorted(self.op_counts.items())),
            f"  binary layers: {self.binary_layers}, bitpacked ops (LceBconv2d): "
            f"{self.bitpacked_ops}",
        ]
        if self.default_conversion:
            d = self.default_conversion
            lines.append(
                f"  LCE default conversion: {d['file_bytes']} bytes "
                f"({self.file_bytes / d['file_bytes']:.3f}x), "
                f"LceBconv2d x{d['op_counts'].get('LceBconv2d', 0)}"
            )
        for p in (self.parity, self.parity_with_user_model):
            if p:
                lines.append(
                    f"  parity vs {p['reference']} on {p['samples']} inputs: max |diff| "
                    f"{p['max_abs_diff']:.3g} (atol {p['atol']:.3g}), argmax agreement "
                    f"{100 * p['argmax_agreement']:.1f} %"
                )
                if p.get("near_tie_flips"):
                    lines.append(
                        f"    and {p['near_tie_flips']} inputs where a binarised value within "
                        "float rounding of its threshold flipped: max |diff| "
                        f"{p['near_tie_max_abs_diff']:.3g}, argmax agreement "
                        f"{100 * p['near_tie_argmax_agreement']:.1f} % "
                        f"({p['near_tie_divergence']})"
                    )
        lines += [f"  changed: {c}" for c in self.changes]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def op_name(model_t, op) -> str:
    code = model_t.operatorCodes[op.opcodeIndex]
    if code.customCode:
        return code.customCode.decode()
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    return _BUILTIN_NAMES.get(builtin, str(builtin))


_KERNEL_LAYERS = frozenset({"Dense", "QuantDense", "Conv2D", "QuantConv2D", "DepthwiseConv2D"})
COMPUTE_OPS = {
    "LceBconv2d": ("binary",),
    "FULLY_CONNECTED": ("Dense", "QuantDense"),
    "CONV_2D": ("Conv2D", "QuantConv2D"),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2D",),
}


def _kind(layer) -> str:
    """Class name of ``layer``, or of the layer a tfmot ``QuantizeWrapper`` wraps."""
    return type(getattr(layer, "layer", layer)).__name__


def _attribute(ops: list[OpBytes], model, roles: dict) -> None:
    """Name each compute op after its Keras layer, matching both in topological order.

    Left unnamed when the sequences differ (a layer split or merged by the converter).
    """
    compute_ops = [op for op in ops if op.op in COMPUTE_OPS]
    layers = [
        layer
        for layer in model.layers
        if roles.get(layer.name) == "binary"
        or (roles.get(layer.name) in ("float", "qat") and _kind(layer) in _KERNEL_LAYERS)
    ]
    if len(compute_ops) != len(layers):
        return
    pairs = list(zip(compute_ops, layers, strict=True))
    for op, layer in pairs:
        kind = "binary" if roles[layer.name] == "binary" else _kind(layer)
        if kind not in COMPUTE_OPS[op.op]:
            return
    for op, layer in pairs:
        op.layer = layer.name


def parse(flatbuffer: bytes, model=None, roles: dict | None = None) -> tuple[Counter, list]:
    """Op counts and per-op constant bytes; compute ops are matched to the model's layers."""
    model_t = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    counts: Counter = Counter()
    ops = []
    for subgraph in model_t.subgraphs:
        tensors = subgraph.tensors
        for i, op in enumerate(subgraph.operators):
            name = op_name(model_t, op)
            counts[name] += 1
            nbytes = 0
            for t in op.inputs if op.inputs is not None else []:
                if t >= 0:
                    data = model_t.buffers[tensors[t].buffer].data
                    nbytes += 0 if data is None else len(data)
            ops.append(OpBytes(i, name, None, nbytes, name in BINARY_OPS))
    if model is not None:
        _attribute(ops, model, roles or {})
    return counts, ops


def predicted_bytes(model, roles: dict, int8: bool) -> dict[str, int]:
    """Predicted constant bytes per Keras layer (formula in the module docstring)."""
    predicted = {}
    layers = model.layers
    for i, layer in enumerate(layers):
        role = roles.get(layer.name)
        kind = type(layer).__name__
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if role == "binary":
            kh, kw, cin, cout = layer.kernel.shape
            packed = cout * kh * kw * math.ceil(cin / 32) * 4
            feeds_binary = nxt is not None and _next_binary(layers, i, roles)
            predicted[layer.name] = packed + (4 if feeds_binary else 8) * cout
        elif role == "float" and kind == "BatchNormalization":
            prev = layers[i - 1] if i > 0 else None
            folded = prev is not None and roles.get(prev.name) in ("float", "binary_part")
            folded = folded or (prev is not None and roles.get(prev.name) == "binary")
            predicted[layer.name] = 0 if folded else 8 * layer.moving_mean.shape[0]
        elif role == "qat" and _kind(layer) in _KERNEL_LAYERS:
            inner = layer.layer  # int8 kernel, int32 bias (one per output channel)
            predicted[layer.name] = inner.kernel.shape.num_elements() + 4 * inner.kernel.shape[-1]
        elif role == "float" and layer.weights:
            kernel = [w for w in layer.weights if "kernel" in w.name]
            rest = sum(int(w.shape.num_elements()) for w in layer.weights if "kernel" not in w.name)
            n_kernel = sum(int(w.shape.num_elements()) for w in kernel)
            cout = int(kernel[0].shape[-1]) if kernel else 0
            folds_bn = nxt is not None and type(nxt).__name__ == "BatchNormalization"
            bias = rest if rest else (cout if folds_bn else 0)  # a folded BatchNorm adds a bias
            predicted[layer.name] = n_kernel * (1 if int8 else 4) + 4 * bias
    return predicted


def _next_binary(layers, i: int, roles: dict) -> bool:
    """Whether layer i's output reaches a binary layer still bitpacked (channels unchanged)."""
    for layer in layers[i + 1 :]:
        kind = type(layer).__name__
        if roles.get(layer.name) == "binary":
            return True
        if kind in ("Reshape", "Flatten"):
            if layer.input_shape[-1] != layer.output_shape[-1]:
                return False  # bitpacking runs along channels; a new channel axis needs floats
        elif kind not in ("BatchNormalization", "FakeQuant"):
            return False
    return False


def actual_bytes(ops: list[OpBytes]) -> dict[str, int]:
    """Constant bytes per Keras layer name (ops not matched to a layer are summed per op type)."""
    out: Counter = Counter()
    for op in ops:
        if op.weight_bytes:
            out[op.layer or f"<{op.op}>"] += op.weight_bytes
    return dict(out)


def build(
    path, flatbuffer: bytes, model, roles: dict, *, converter: str, int8: bool
) -> ExportReport:
    """Assemble an :class:`ExportReport` for ``flatbuffer`` exported from ``model``."""
    counts, ops = parse(flatbuffer, model, roles)
    return ExportReport(
        path=str(path),
        converter=converter,
        file_bytes=len(flatbuffer),
        op_counts=dict(counts),
        ops=ops,
        binary_bytes=sum(o.weight_bytes for o in ops if o.binary),
        float_bytes=sum(o.weight_bytes for o in ops if not o.binary),
        predicted_bytes=predicted_bytes(model, roles, int8),
        actual_bytes=actual_bytes(ops),
    )


def run(job) -> None:
    """Stage 6: ``job.report`` from everything the earlier stages recorded."""
    rep = build(
        job.path, job.flatbuffer, job.ready, job.roles, converter=job.converter, int8=job.int8
    )
    rep.parity, rep.parity_with_user_model = job.parity, job.parity_with_user_model
    rep.binary_layers = sum(v.role == "binary" for v in job.verdicts.values())
    rep.default_conversion = job.default_conversion
    rep.changes, rep.notes, rep.int8_ranges = job.changes, job.notes, job.int8_ranges
    job.report = rep
