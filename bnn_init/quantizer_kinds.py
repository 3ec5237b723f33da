"""What a quantizer computes in its forward pass: one answer for the whole package.

The theory (``bnn_init.theory.describe``), the exporter and ``bnn_init.layers.to_binary`` all ask
:func:`quantizer_kind`, so they can never disagree about which quantizers act like sign.

Kinds (forward pass; gradients differ and do not matter here):

* ``"sign"``: sign(x) with sign(0) = +1, Larq's ``ste_sign``, ``approx_sign`` and ``swish_sign``
  (Courbariaux et al. 2016; Liu et al. 2018, Bi-Real Net, eq. 5; Darabi et al. 2018). A Larq
  Compute Engine binary convolution computes exactly this.
* ``"scaled_sign"``: sign(w) x mean |w| per output channel, Larq's ``magnitude_aware_sign``
  (Liu et al. 2018, Bi-Real Net, eq. 6, after Rastegari et al. 2016, XNOR-Net, eq. 4). As a
  kernel quantizer LCE bitpacks sign(w) and folds the scale into the output multiplier, exactly.
  (larq-zoo's ``xnor_weight_scale`` computes the same forward pass, but LCE bitpacks only some of
  XNOR-Net's layers that use it, so it is left "other": converted as it is.)
* ``"hard_tanh"``: bnn-init's B_r(x) = clip(x / r, -1, 1) (Wang 2018, sec. 2): a float function,
  sign only in the limit r -> 0.
* ``"multi_level"``: quantizers with more than two levels or levels other than +-1
  (``dorefa``, ``ste_tern``, ``ste_heaviside``): float ops after conversion.
* ``"other"``: anything else (custom callables); treated as an opaque float function.

A quantizer is named by a string (``"ste_sign"``), a Keras config dict, a Larq quantizer object or
a plain function; :func:`quantizer_name` normalises all of them to snake case.

Example:
    >>> quantizer_kind("ste_sign"), quantizer_kind("MagnitudeAwareSign"), quantizer_kind(None)
    ('sign', 'scaled_sign', None)
"""

from __future__ import annotations

import re

SIGN_LIKE = frozenset({"ste_sign", "approx_sign", "swish_sign"})
SCALED_SIGN = frozenset({"magnitude_aware_sign"})
HARD_TANH = frozenset({"hard_tanh", "hard_tanh_r"})
MULTI_LEVEL = frozenset({"do_re_fa", "dorefa", "dorefa_quantizer", "ste_tern", "ste_heaviside"})

__all__ = ["quantizer_kind", "quantizer_name", "is_binary_input", "is_binary_kernel"]


def quantizer_name(quantizer) -> str | None:
    """Snake-case name of a quantizer given as None, a string, a config dict or an object.

    >>> quantizer_name("SteSign"), quantizer_name({"class_name": "ApproxSign", "config": {}})
    ('ste_sign', 'approx_sign')
    """
    if quantizer is None:
        return None
    if isinstance(quantizer, str):
        raw = quantizer
    elif isinstance(quantizer, dict):
        raw = quantizer.get("class_name", "unknown")
    else:
        raw = getattr(quantizer, "__name__", None) or type(quantizer).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", raw).lower()


def quantizer_kind(quantizer) -> str | None:
    """``"sign"``, ``"scaled_sign"``, ``"hard_tanh"``, ``"multi_level"``, ``"other"`` or None."""
    name = quantizer_name(quantizer)
    if name is None:
        return None
    for kind, names in (
        ("sign", SIGN_LIKE),
        ("scaled_sign", SCALED_SIGN),
        ("hard_tanh", HARD_TANH),
        ("multi_level", MULTI_LEVEL),
    ):
        if name in names:
            return kind
    return "other"


def is_binary_input(quantizer) -> bool:
    """True when the quantizer maps activations to {-1, +1} (what a bitpacked op consumes)."""
    return quantizer_kind(quantizer) == "sign"


def is_binary_kernel(quantizer) -> bool:
    """True when LCE can bitpack the quantized kernel exactly (sign, or sign with a scale)."""
    return quantizer_kind(quantizer) in ("sign", "scaled_sign")
