"""bnn_init.initializers: distributions, fan-in, seeds, configs, aliases, errors, saving."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow loads)
from bnn_init.initializers import (
    BinaryMeans,
    ConstantVariance,
    CriticalBias,
    CriticalHardTanhNormal,
    HardTanhUniform,
)
from bnn_init.primitives import fan_in
from bnn_init.quantizers import HardTanh
from bnn_init.theory import NoCriticalPoint

DENSE, CONV = (1024, 512), (3, 3, 64, 128)  # fan-in 1024 and 576


def _instances():
    return [
        CriticalHardTanhNormal(r=0.4, sigma_b2=0.01, seed=1),
        HardTanhUniform(r=1.0, seed=2),
        HardTanhUniform(r=0.5, sigma_w2=2.0, sigma_b2=0.1, seed=2),
        ConstantVariance(1e-2, "normal", seed=3),
        ConstantVariance(1e-3, "uniform", seed=3),
        BinaryMeans(0.99, "two_point", seed=4),
        BinaryMeans(0.8, "clipped_normal", seed=4),
        CriticalBias(0.05, seed=5),
    ]


@pytest.mark.parametrize(
    "shape, expected", [((), 1), ((5,), 5), ((7, 3), 7), ((3, 4, 8), 12), (CONV, 576)]
)
def test_fan_in_follows_keras(shape, expected):
    assert fan_in(shape) == expected
    if len(shape) >= 2:  # Keras' VarianceScaling(mode="fan_in") has variance 1 / fan_in
        wide = (*shape[:-1], 2000)  # same fan-in, enough draws for a 5 % variance check
        keras = tf.keras.initializers.VarianceScaling(1.0, "fan_in", "uniform", seed=0)(wide)
        assert np.var(keras.numpy()) * expected == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("r, sigma_b2", [(1.0, 0.0), (0.4, 0.0), (0.4, 0.01)])
@pytest.mark.parametrize("shape", [DENSE, CONV])
def test_critical_normal_variance(r, sigma_b2, shape):
    init = CriticalHardTanhNormal(r=r, sigma_b2=sigma_b2, seed=0)
    if sigma_b2 == 0.0:  # erratum 1: the critical sigma_w2 equals r^2 exactly at sigma_b2 = 0
        assert init.sigma_w2 == pytest.approx(r**2, rel=1e-6)
    else:
        assert init.sigma_w2 > r**2
    assert init.theory.chi1 == pytest.approx(1.0, abs=1e-6)
    w = init(shape).numpy()
    assert w.var() * fan_in(shape) / (r**2 * init.sigma_w2) == pytest.approx(1.0, abs=0.01)
    assert abs(w.mean()) < 1e-3 * r


@pytest.mark.parametrize("n", [100, 1000])
def test_uniform_is_variance_matched_through_b_r(n):
    """erratum 3: n E[B_r(W)^2] = sigma_w2 (the printed A gives 2.03 at n=100, 4.37 at n=1000)."""
    r = 0.4
    init = HardTanhUniform(r=r, seed=0)
    assert init.sigma_w2 == pytest.approx(r**2, rel=1e-6)
    w = init((n, 2000))
    assert float(tf.reduce_max(tf.abs(w))) <= r * np.sqrt(3 * r**2 / n) * (1 + 1e-6)
    effective = n * float(tf.reduce_mean(HardTanh(r)(w) ** 2))
    assert effective == pytest.approx(r**2, rel=0.01)


def test_uniform_rejects_fan_in_below_three_sigma_w2():
    with pytest.raises(ValueError, match=r"fan_in=2 .*fan_in >= 3 sigma_w2 = 3"):
        HardTanhUniform(r=1.0, sigma_w2=1.0)((2, 4))


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_constant_variance_ignores_fan_in(distribution):
    init = ConstantVariance(1e-3, distribution, seed=0)
    for shape in [(64, 512), (4096, 64), CONV]:
        w = init(shape).numpy()
        assert w.var() == pytest.approx(1e-3, rel=0.02)
    if distribution == "uniform":
        assert np.abs(w).max() <= np.sqrt(3e-3) * (1 + 1e-6)


def test_binary_means_two_point():
    m = BinaryMeans(0.99, seed=0)((784, 256)).numpy()
    np.testing.assert_allclose(np.abs(m), np.sqrt(0.99), rtol=1e-6)
    assert abs((m > 0).mean() - 0.5) < 0.01
    assert np.all(BinaryMeans(1.0, seed=0)((8, 8)).numpy() ** 2 == 1.0)


@pytest.mark.parametrize("sigma_m2", [0.05, 0.5, 0.9, 0.99])
def test_binary_means_clipped_normal(sigma_m2):
    m = BinaryMeans(sigma_m2, "clipped_normal", seed=0)((1000, 500)).numpy()
    assert np.abs(m).max() <= 1.0
    assert (m**2).mean() == pytest.approx(sigma_m2, rel=0.01)
    assert abs(m.mean()) < 0.01


def test_bias_variance():
    assert float(tf.math.reduce_variance(CriticalBias(0.05, seed=0)((100000,)))) == pytest.approx(
        0.05, rel=0.02
    )
    assert not np.any(CriticalBias(0.0)((10,)).numpy())


@pytest.mark.parametrize("init", _instances(), ids=lambda i: type(i).__name__)
def test_seeded_reproducible_and_config_round_trip(init):
    shape = (256, 64)
    a = init(shape).numpy()
    np.testing.assert_array_equal(a, init(shape).numpy())
    clone = type(init).from_config(init.get_config())
    assert clone.get_config() == init.get_config()
    np.testing.assert_array_equal(a, clone(shape).numpy())
    other = type(init).from_config({**init.get_config(), "seed": init.seed + 10})
    assert np.any(a != other(shape).numpy())
    unseeded = type(init).from_config({**init.get_config(), "seed": None})
    assert np.any(unseeded(shape).numpy() != unseeded(shape).numpy())
    assert init(shape, dtype="float64").dtype == tf.float64
    serialized = tf.keras.initializers.serialize(init)
    assert serialized["registered_name"] == f"bnn_init>{type(init).__name__}"
    assert tf.keras.initializers.deserialize(serialized).get_config() == init.get_config()


@pytest.mark.parametrize(
    "alias, cls",
    [
        ("critical_hardtanh_normal", CriticalHardTanhNormal),
        ("hardtanh_uniform", HardTanhUniform),
        ("constant_variance", ConstantVariance),
        ("binary_means", BinaryMeans),
        ("critical_bias", CriticalBias),
    ],
)
def test_string_aliases(alias, cls):
    assert isinstance(tf.keras.initializers.get(alias), cls)
    dense = tf.keras.layers.Dense(8, kernel_initializer=alias)
    quant = lq.layers.QuantDense(8, kernel_initializer=alias, kernel_quantizer="hard_tanh_r")
    for layer in (dense, quant):
        layer.build((None, 16))
        assert isinstance(layer.kernel_initializer, cls)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: CriticalHardTanhNormal(r=0.0), r"r must lie in \(0, inf\), got 0\.0"),
        (lambda: CriticalHardTanhNormal(r=float("nan")), r"r must be finite"),
        (
            lambda: CriticalHardTanhNormal(sigma_b2=-0.1),
            r"sigma_b2 must lie in \[0, inf\), got -0\.1",
        ),
        (lambda: HardTanhUniform(sigma_w2=0.0), r"sigma_w2 must lie in \(0, inf\), got 0\.0"),
        (lambda: HardTanhUniform(sigma_w2=float("inf")), r"sigma_w2 must be finite"),
        (lambda: ConstantVariance(-1.0), r"variance must lie in \(0, inf\), got -1\.0"),
        (lambda: ConstantVariance(1e-3, "gaussian"), r"distribution must be one of .*'gaussian'"),
        (lambda: BinaryMeans(1.2), r"sigma_m2 must lie in \(0, 1\], got 1\.2"),
        (lambda: BinaryMeans(1.0, "clipped_normal"), r"sigma_m2 must lie in \(0, 1\), got 1\.0"),
        (lambda: BinaryMeans(0.5, "bernoulli"), r"distribution must be one of"),
        (lambda: CriticalBias(-1e-3), r"sigma_b2 must lie in \[0, inf\), got -0\.001"),
        (lambda: CriticalBias(0.1, seed=-1), r"seed must be an integer >= 0, got -1"),
        (lambda: ConstantVariance()((4, 4), dtype="int32"), r"dtype='int32' is not allowed"),
    ],
)
def test_bad_parameters_raise_value_error(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize("cls", [CriticalHardTanhNormal, HardTanhUniform])
def test_infeasible_critical_request_raises_no_critical_point(cls):
    """With sigma_b2 = 1e18 the critical sigma_w2 would exceed the theory's search range."""
    with pytest.raises(NoCriticalPoint, match="chi_1"):
        cls(r=1.0, sigma_b2=1e18)
    assert HardTanhUniform(r=1.0, sigma_w2=1.0, sigma_b2=1e18).sigma_w2 == 1.0  # not critical


def test_non_numbers_raise_type_error():
    with pytest.raises(TypeError, match="r must be a real number"):
        CriticalHardTanhNormal(r="1")
    with pytest.raises(TypeError, match="seed must be an integer"):
        ConstantVariance(seed=1.5)


def _model():
    r, sigma_b2 = 0.5, 0.02
    hard_tanh = HardTanh(r)
    layers = [
        tf.keras.Input((4, 4, 3)),
        lq.layers.QuantConv2D(
            8,
            3,
            kernel_initializer=CriticalHardTanhNormal(r, sigma_b2, seed=1),
            bias_initializer=CriticalBias(sigma_b2, seed=2),
            kernel_quantizer=hard_tanh,
        ),
        tf.keras.layers.Flatten(),
        lq.layers.QuantDense(
            16,
            kernel_initializer=HardTanhUniform(r, seed=3),
            input_quantizer=hard_tanh,
            kernel_quantizer=hard_tanh,
        ),
        lq.layers.QuantDense(
            16,
            kernel_initializer="critical_hardtanh_normal",
            input_quantizer="hard_tanh_r",
            kernel_quantizer="hard_tanh_r",
        ),
        lq.layers.QuantDense(
            16,
            kernel_initializer=ConstantVariance(1e-3, seed=4),
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
            use_bias=False,
        ),
        tf.keras.layers.BatchNormalization(),
        lq.layers.QuantDense(
            4,
            kernel_initializer=BinaryMeans(0.9, "clipped_normal", seed=5),
            kernel_constraint="weight_clip",
        ),
    ]
    return tf.keras.Sequential(layers)


@pytest.mark.parametrize("fmt", ["keras", "tf"])
def test_models_round_trip_without_custom_objects(tmp_path, fmt):
    model = _model()
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    path = str(tmp_path / ("model.keras" if fmt == "keras" else "saved_model"))
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    for original, restored in zip(model.layers, loaded.layers, strict=True):
        for attr in ("kernel_initializer", "bias_initializer"):
            if hasattr(original, attr):
                a, b = getattr(original, attr), getattr(restored, attr)
                assert type(a) is type(b)
                assert a.get_config() == b.get_config()
