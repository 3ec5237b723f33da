"""Small primitives the rest of bnn-init shares, one module each, none importing TensorFlow at
import time (so `bnn_init.theory` can use them):

* `signs`: sign with sign(0) = +1, numpy and TensorFlow;
* `fans`: fan-in and fan-out of a kernel shape, as Keras counts them;
* `figures`: matplotlib figures drawn headless, without touching the user's pyplot backend;
* `tables`: rows of dicts written as CSV.

Validation checks that name the parameter and its allowed range are `bnn_init.theory.errors`.
"""

from .fans import fan_in, kernel_fans
from .figures import headless_figure, new_figure
from .signs import sign, tf_sign
from .tables import write_csv

__all__ = ["fan_in", "headless_figure", "kernel_fans", "new_figure", "sign", "tf_sign", "write_csv"]
