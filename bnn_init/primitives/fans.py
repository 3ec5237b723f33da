"""Fan-in and fan-out of a kernel shape, counted as Keras' variance-scaling initializers count
them: a Dense kernel (in, out) has fans (in, out); a ConvND kernel (*kernel_size, in, out) has
(receptive in, receptive out) with receptive = prod(kernel_size); a vector (n,) has (n, n) and a
scalar (1, 1).

Example:
    >>> kernel_fans((3, 3, 16, 32))
    (144, 288)
    >>> fan_in((784, 256))
    784
"""

from __future__ import annotations

import math

__all__ = ["fan_in", "kernel_fans"]


def kernel_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a kernel of this shape (module docstring)."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def fan_in(shape) -> int:
    """The fan-in of a kernel of this shape: the number of inputs each output unit sums."""
    return kernel_fans(shape)[0]
