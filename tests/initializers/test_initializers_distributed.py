"""bnn-init initializers inside tf.distribute.MirroredStrategy with two logical CPU devices.

Logical devices must be configured before TensorFlow initialises its devices, so the check runs in
a fresh interpreter, which also checks that `import bnn_init` alone registers the aliases.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import bnn_init
    import larq as lq
    import numpy as np
    import tensorflow as tf

    # `import bnn_init` alone registers the aliases once TensorFlow is loaded.
    for alias in ("critical_hardtanh_normal", "hardtanh_uniform", "constant_variance",
                  "binary_means", "critical_bias"):
        assert type(tf.keras.initializers.get(alias)).__module__.startswith("bnn_init."), alias
    assert type(lq.quantizers.get("hard_tanh_r")).__name__ == "HardTanh"

    from bnn_init.initializers import CriticalBias, CriticalHardTanhNormal, HardTanhUniform
    from bnn_init.quantizers import HardTanh

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2

    with strategy.scope():
        model = tf.keras.Sequential([
            tf.keras.Input((32,)),
            lq.layers.QuantDense(64, kernel_initializer=CriticalHardTanhNormal(0.5, 0.01, seed=1),
                                 bias_initializer=CriticalBias(0.01, seed=2),
                                 kernel_quantizer=HardTanh(0.5)),
            lq.layers.QuantDense(64, kernel_initializer="critical_hardtanh_normal",
                                 input_quantizer="hard_tanh_r", kernel_quantizer="hard_tanh_r"),
            lq.layers.QuantDense(10, kernel_initializer=HardTanhUniform(seed=3),
                                 input_quantizer="hard_tanh_r", kernel_quantizer="hard_tanh_r"),
        ])
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def replicas_identical():
        for variable in model.weights:
            values = [v.numpy() for v in variable.values]
            assert len(values) == 2, variable.name
            np.testing.assert_array_equal(values[0], values[1], err_msg=variable.name)

    replicas_identical()
    first = model.layers[0].kernel.values[0].numpy()
    expected = CriticalHardTanhNormal(0.5, 0.01, seed=1)((32, 64)).numpy()
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 32)).astype("float32"), rng.integers(0, 10, 64)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    replicas_identical()
    print("OK")
    """
)


def test_mirrored_strategy_two_cpus_same_weights_per_replica():
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith("OK")
