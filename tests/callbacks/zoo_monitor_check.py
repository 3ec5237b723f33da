"""The monitor on larq-zoo's architectures: one epoch of ``fit`` on the 128 probe inputs (2 steps), then
the step-0 local predictions (run ``theory_local``) against the measurements (run ``measured``).

A monitored layer agrees when its local q is within 10 % and its local c within 0.05 of the
measured values (the monitor's band). Shared by tests/callbacks/test_monitor_zoo_a.py and _b.py.
"""

import warnings

import numpy as np

from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.testing import read_run, zoo_model

PROBE = 128


def fit_with_monitor(name, log_dir):
    """(model, monitor, monitor warnings) after one epoch of fit on the PROBE random inputs."""
    model = zoo_model(name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((PROBE, *model.input_shape[1:])).astype(np.float32)
    y = rng.integers(0, model.output_shape[-1], PROBE)
    model.compile("adam", "sparse_categorical_crossentropy")
    monitor = SignalPropagationMonitor(x[:PROBE], y[:PROBE], log_dir=str(log_dir))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 1
    said = [str(w.message) for w in caught if "SignalPropagationMonitor" in str(w.message)]
    return model, monitor, said


def local_agreement(log_dir, depth):
    """(share of layers with a local prediction that agree, agreeing, predicted, details)."""
    measured, local = read_run(log_dir / "measured")[0], read_run(log_dir / "theory_local")[0]
    agree, predicted, details = 0, 0, []
    for layer in range(1, depth + 1):
        tag = f"signal_propagation/layer_{layer:02d}/"
        if tag + "q" not in local:
            continue
        predicted += 1
        q, c = measured[tag + "q"][0], measured[tag + "c"][0]
        q_local, c_local = local[tag + "q"][0], local[tag + "c"][0]
        good = abs(q_local / q - 1) <= 0.10 and abs(c_local - c) <= 0.05
        agree += good
        details.append((layer, good, q, q_local, c, c_local))
    return agree / max(predicted, 1), agree, predicted, details


def assert_local_theory_holds(name, log_dir):
    """One epoch of fit completes with the three runs written, at least 80 % of the weight layers
    are mapped, and the local predictions agree on at least 90 % of the monitored layers."""
    from bnn_init.graph import GraphTheory

    model, monitor, _ = fit_with_monitor(name, log_dir)
    assert GraphTheory(model).mapped_weight_share >= 0.8
    depth = len(monitor.monitored_layers)
    share, agree, predicted, details = local_agreement(log_dir, depth)
    assert predicted >= 0.8 * depth
    assert share >= 0.9, f"{name}: {agree} of {predicted} layers agree: {details}"
    chained, _ = read_run(log_dir / "theory")
    assert f"signal_propagation/layer_{depth:02d}/q" in chained
    return monitor


def gradient_agreement(monitor, tolerance=0.10):
    """Share of the layers with a local gradient prediction at the last log whose E[delta^2] is
    within ``tolerance`` (relative) of the measured one."""
    measured, local = monitor.latest["measured"]["grad_var"], monitor.latest["local"]["grad_var"]
    keep = np.isfinite(local)
    return float(np.mean(np.abs(local[keep] / measured[keep] - 1.0) <= tolerance)), int(keep.sum())
