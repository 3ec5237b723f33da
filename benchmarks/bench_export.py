"""LCE export: size and single-thread latency of bitpacked BNNs against float TFLite and LCE default.

Models: the 784-1024x4-10 binary MLP (784 -> 1024 float-input layer with +-1 kernel, four binary
1024 -> 1024 layers, binary 1024 -> 10; BatchNorm after each) and a small binary conv net
(32x32x3: float 3x3 conv 64, binary 3x3 convs 128/256/256 with max-pooling, binary dense 10).
Baselines, built and timed in the same run: the float model of the same architecture (Dense /
Conv2D in place of the Larq layers) through the stock TFLite converter, and LCE's default
``convert_keras_model`` of the binary model. All latencies: LCE interpreter, one thread, batch 1;
binary ops run with LCE's indirect BGEMM kernel (``use_indirect_bgemm=True``, which changes only
LceBconv2d; on x86 LCE's default bconv kernel is far slower), and a second row shows the default
kernel. Float ops use the interpreter's built-in kernels on both sides (no XNNPack).
Ratios are "times better": baseline / value for sizes and latencies.
"""

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow loads

import larq as lq  # noqa: E402
import larq_compute_engine as lce  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import bnn_init  # noqa: E402,F401  (sets up tf-keras)
from bnn_init.export import export_lce, export_tflite  # noqa: E402
from bnn_init.export.report import parse  # noqa: E402

BIN = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False)


def _bn():
    return tf.keras.layers.BatchNormalization(
        beta_initializer=tf.keras.initializers.RandomNormal(stddev=1.0, seed=2),
        moving_mean_initializer=tf.keras.initializers.RandomNormal(stddev=1.0, seed=3),
    )


def mlp(binary: bool) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    dense = (
        (
            lambda n, first=False: lq.layers.QuantDense(
                n, **(dict(kernel_quantizer="ste_sign", use_bias=False) if first else BIN)
            )
        )
        if binary
        else (lambda n, first=False: tf.keras.layers.Dense(n, use_bias=False))
    )
    layers = [tf.keras.Input((784,)), dense(1024, True), _bn()]
    for units in [1024] * 4 + [10]:
        layers += [dense(units), _bn()]
    return tf.keras.Sequential(layers)


def convnet(binary: bool) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)

    def conv(n):
        if binary:
            return lq.layers.QuantConv2D(n, 3, padding="same", pad_values=1.0, **BIN)
        return tf.keras.layers.Conv2D(n, 3, padding="same", use_bias=False)

    x = inp = tf.keras.Input((32, 32, 3))
    x = _bn()(tf.keras.layers.Conv2D(64, 3, padding="same", use_bias=False)(x))
    for n, pool in ((128, True), (256, True), (256, False)):
        x = _bn()(conv(n)(x))
        x = tf.keras.layers.MaxPooling2D()(x) if pool else x
    x = tf.keras.layers.Flatten()(x)
    dense = lq.layers.QuantDense(10, **BIN) if binary else tf.keras.layers.Dense(10, use_bias=False)
    return tf.keras.Model(inp, _bn()(dense(x)))


def latency_ms(flatbuffer: bytes, shape, repeats: int = 7, n: int = 20, indirect=True) -> float:
    """Median over ``repeats`` of the mean single-input latency (ms), one thread."""
    interpreter = lce.testing.Interpreter(flatbuffer, num_threads=1, use_indirect_bgemm=indirect)
    x = np.random.default_rng(0).standard_normal((n, *shape)).astype(np.float32)
    interpreter.predict(x[:2])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        interpreter.predict(x)
        times.append((time.perf_counter() - start) / n * 1e3)
    return float(np.median(times))


def _row(bench, value, unit, baseline, target, ratio=None):
    ratio = baseline / value if ratio is None else ratio
    return {
        "bench": bench,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
    }


def _compare(name, binary_model, float_model, tmp: Path, int8_data=None):
    shape = binary_model.input_shape[1:]
    ours = export_lce(binary_model, tmp / f"{name}.tflite")
    ours_fb = (tmp / f"{name}.tflite").read_bytes()
    flt = export_tflite(float_model, tmp / f"{name}_float.tflite")
    flt_fb = (tmp / f"{name}_float.tflite").read_bytes()
    default_fb = lce.convert_keras_model(binary_model)
    t_ours, t_float, t_default = (latency_ms(fb, shape) for fb in (ours_fb, flt_fb, default_fb))
    t_ours_plain = latency_ms(ours_fb, shape, indirect=False)
    yield _row(f"export/{name}/size_vs_float", ours.file_bytes, "bytes", flt.file_bytes, None)
    yield _row(
        f"export/{name}/size_vs_lce_default", ours.file_bytes, "bytes", len(default_fb), None
    )
    yield _row(f"export/{name}/latency_vs_float", t_ours, "ms", t_float, ">= 4x")
    yield _row(f"export/{name}/latency_vs_lce_default", t_ours, "ms", t_default, None)
    yield _row(
        f"export/{name}/latency_default_bconv_kernel_vs_float", t_ours_plain, "ms", t_float, None
    )
    yield {
        "bench": f"export/{name}/parity_max_abs_diff",
        "value": ours.parity["max_abs_diff"],
        "unit": "abs",
        "baseline": None,
        "ratio": None,
        "target": f"<= {ours.parity['atol']:.3g}",
    }
    yield {
        "bench": f"export/{name}/argmax_agreement",
        "value": ours.parity["argmax_agreement"],
        "unit": "fraction",
        "baseline": 1.0,
        "ratio": ours.parity["argmax_agreement"],
        "target": "1.0",
    }
    counts, _ = parse(default_fb)
    yield {
        "bench": f"export/{name}/lce_default_float_fc_ops",
        "value": counts.get("FULLY_CONNECTED", 0),
        "unit": "ops",
        "baseline": ours.op_counts.get("FULLY_CONNECTED", 0),
        "ratio": None,
        "target": None,
    }
    if int8_data is not None:
        q = export_lce(
            binary_model, tmp / f"{name}_int8.tflite", int8=True, representative_data=int8_data
        )
        yield _row(
            f"export/{name}/int8_size_vs_float", q.file_bytes, "bytes", flt.file_bytes, ">= 12x"
        )
        yield {
            "bench": f"export/{name}/int8_argmax_agreement",
            "value": q.parity["argmax_agreement"],
            "unit": "fraction",
            "baseline": 1.0,
            "ratio": q.parity["argmax_agreement"],
            "target": ">= 0.9",
        }
    for layer, nbytes in ours.actual_bytes.items():
        model_layer = binary_model.get_layer(layer) if layer[0] != "<" else None
        if model_layer is None or type(model_layer).__name__ != "QuantDense":
            continue
        kernel = model_layer.kernel
        if model_layer.input_quantizer is None or kernel.shape[-1] == 10:
            continue  # float-input and output layers are not hidden binary layers
        weights_over_8 = kernel.shape.num_elements() / 8
        yield _row(
            f"export/{name}/{layer}_bytes_over_weights_div_8",
            nbytes,
            "bytes",
            weights_over_8,
            "<= 1.05x",
            ratio=nbytes / weights_over_8,
        )


def run():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = rng.standard_normal((256, 784)).astype(np.float32)
        yield from _compare("mlp_784_1024x4_10", mlp(True), mlp(False), tmp, int8_data=data)
        yield from _compare("conv_32x32", convnet(True), convnet(False), tmp)


if __name__ == "__main__":
    for row in run():
        print(row)
