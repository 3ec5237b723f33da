"""Small primitives the rest of bnn-init shares, one module each, none importing TensorFlow at
import time (so `bnn_init.theory` can use them):

* `checks`: parameter checks whose errors name the parameter and its allowed range;
* `signs`: sign with sign(0) = +1, numpy and TensorFlow;
* `fans`: fan-in and fan-out of a kernel shape, as Keras counts them;
* `figures`: matplotlib figures drawn headless, without touching the user's pyplot backend;
* `tables`: rows of dicts written as CSV;
* `sizes`: named run sizes ("quick", "default", ...) as presets of settings;
* `progress`: a progress bar that can be switched off, and a timer.
"""

from .checks import check_choice, check_integer, check_number, check_range, first_line
from .fans import fan_in, kernel_fans
from .figures import headless_figure, new_figure
from .progress import Timer, progress
from .signs import sign, tf_sign
from .sizes import pick_size
from .tables import write_csv

__all__ = [
    "Timer",
    "check_choice",
    "check_integer",
    "check_number",
    "check_range",
    "fan_in",
    "first_line",
    "headless_figure",
    "kernel_fans",
    "new_figure",
    "pick_size",
    "progress",
    "sign",
    "tf_sign",
    "write_csv",
]
