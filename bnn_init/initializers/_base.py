"""What every bnn-init initializer shares: the seed check, Keras' fan-in, seeded sampling."""

import tensorflow as tf

from bnn_init.primitives.checks import check_integer


def check_seed(seed):
    """A seed is None or an integer >= 0."""
    return None if seed is None else check_integer("seed", seed, low=0)


class SeededInitializer(tf.keras.initializers.Initializer):
    """Base class: draws from N(0, 1) or U(-1, 1), seeded like Keras' own initializers.

    With an integer ``seed`` every call returns the same tensor for the same shape (stateless
    sampling, as Keras' seeded initializers do), so give each layer its own seed. With
    ``seed=None`` samples follow TensorFlow's global seed (``tf.keras.utils.set_random_seed``).
    Subclasses implement ``sample(shape, dtype)`` and ``get_config``.
    """

    def __init__(self, seed=None):
        self.seed = check_seed(seed)

    def __call__(self, shape, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} does not support the keyword arguments {sorted(kwargs)} "
                "(partitioned or laid-out variables)"
            )
        dtype = tf.as_dtype(dtype or tf.keras.backend.floatx())
        if not dtype.is_floating:
            raise ValueError(
                f"dtype={dtype.name!r} is not allowed: {type(self).__name__} draws floating-point "
                "values"
            )
        return self.sample(tf.TensorShape(shape), dtype)

    def normal(self, shape, dtype):
        """Standard normal draws."""
        if self.seed is None:
            return tf.random.normal(shape, dtype=dtype)
        return tf.random.stateless_normal(shape, seed=[self.seed, 0], dtype=dtype)

    def uniform(self, shape, dtype):
        """Draws from U(-1, 1)."""
        if self.seed is None:
            return tf.random.uniform(shape, -1.0, 1.0, dtype=dtype)
        return tf.random.stateless_uniform(
            shape, seed=[self.seed, 0], minval=-1.0, maxval=1.0, dtype=dtype
        )

    def sample(self, shape, dtype):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)
