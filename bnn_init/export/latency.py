"""Single-input latency of a flatbuffer in the Larq Compute Engine interpreter.

The LCE interpreter runs both LCE flatbuffers (``LceBconv2d`` ...) and plain TFLite ones with the
same built-in float kernels, so an LCE model and its float baseline are timed side by side.
LCE's optimized binary kernels target Arm (aarch64); on x86 its interpreter runs portable C++
fallbacks (see the warning in ``larq_compute_engine.tflite.python.interpreter.Interpreter`` and
larq/compute-engine discussion #674), so x86 timings understate what a phone achieves.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from bnn_init.primitives.checks import check_integer


def _flatbuffer_bytes(flatbuffer_or_path) -> bytes:
    if isinstance(flatbuffer_or_path, (bytes, bytearray)):
        return bytes(flatbuffer_or_path)
    if isinstance(flatbuffer_or_path, (str, os.PathLike)):
        if not os.path.isfile(flatbuffer_or_path):
            raise ValueError(f"flatbuffer_or_path={str(flatbuffer_or_path)!r} is not a file")
        with open(flatbuffer_or_path, "rb") as f:
            return f.read()
    raise TypeError(
        "flatbuffer_or_path must be bytes or a path to a .tflite file, "
        f"got {type(flatbuffer_or_path).__name__}"
    )


def _inputs(interpreter, inputs, seed: int) -> np.ndarray:
    if len(interpreter.input_shapes) != 1:
        raise ValueError(
            f"model has {len(interpreter.input_shapes)} inputs; measure_latency supports one"
        )
    shape, dtype = tuple(interpreter.input_shapes[0][1:]), np.dtype(interpreter.input_types[0])
    if inputs is None:
        rng = np.random.default_rng(seed)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return rng.integers(info.min, info.max, size=(8, *shape), endpoint=True).astype(dtype)
        return rng.standard_normal((8, *shape)).astype(dtype)
    inputs = np.asarray(inputs, dtype=dtype)
    if inputs.ndim != len(shape) + 1 or inputs.shape[1:] != shape or len(inputs) == 0:
        raise ValueError(
            f"inputs has shape {inputs.shape}; need a non-empty batch of shape (n, *{shape})"
        )
    return inputs


def measure_latency(
    flatbuffer_or_path,
    inputs=None,
    *,
    runs: int = 50,
    warmup: int = 3,
    num_threads: int = 1,
    use_indirect_bgemm: bool = True,
    seed: int = 0,
) -> float:
    """Median wall-clock seconds of one batch-1 inference in the LCE interpreter.

    Each of ``runs`` timed inferences (after ``warmup`` untimed ones) feeds the next row of
    ``inputs`` (a batch, cycled; default: 8 standard-normal inputs drawn with ``seed``) and is
    timed alone with ``time.perf_counter``; the median resists other processes' load.
    ``use_indirect_bgemm=True`` selects LCE's indirect BGEMM kernel for ``LceBconv2d`` (the
    faster one on x86; it changes no other op, so float models time the same either way).

    Example:
        >>> seconds = measure_latency("model.tflite", runs=100)  # doctest: +SKIP
        >>> print(f"{1e3 * seconds:.2f} ms")  # doctest: +SKIP
        0.41 ms
    """
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    runs = check_integer("runs", runs, 1)
    warmup = check_integer("warmup", warmup, 0)
    num_threads = check_integer("num_threads", num_threads, 1)
    interpreter = Interpreter(
        _flatbuffer_bytes(flatbuffer_or_path),
        num_threads=num_threads,
        use_indirect_bgemm=bool(use_indirect_bgemm),
    )
    x = _inputs(interpreter, inputs, seed)
    run_one = interpreter.interpreter.predict  # per-input call under Interpreter.predict's loop
    for i in range(warmup):
        run_one([x[i % len(x)][None]])
    times = []
    for i in range(runs):
        row = [x[i % len(x)][None]]
        start = time.perf_counter()
        run_one(row)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
