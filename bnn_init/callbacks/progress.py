"""The monitor's words as training goes: one readable line of its headline numbers per epoch, a
warning, once, when a run degrades, and one when a headline number crosses a danger threshold.

A run *degrades* when its training accuracy falls at least ``DROP`` below the best epoch so far
while its signal statistics moved since that epoch: mean saturation up by ``SATURATION_RISE`` or
more, or the gradient ratio E[delta_1^2] / E[delta_L^2] (how much the error signal grows or
shrinks from the last layer to the first) further from 1 by a factor of ``GRADIENT_FACTOR`` or
more. Those are the signatures of a network leaving the regime its initialisation put it in
(Schoenholz et al. 2017, sec. 4: gradients vanish or explode exponentially with depth away from
criticality). A fall with steady statistics (noise, over-fitting) is not reported.

A headline number *crosses a threshold* when, having started on the safe side at the first log,
mean saturation exceeds ``SATURATED`` or the gradient ratio falls below ``VANISHING``
(`ThresholdWatch`).

Example:
    >>> tracker = DegradationTracker()
    >>> tracker.update(0, {"accuracy": 0.80}, {"sp_saturation": 0.40})
    >>> tracker.update(1, {"accuracy": 0.70}, {"sp_saturation": 0.60})
    'epoch 2: training accuracy fell from 0.800 (epoch 1) to 0.700 while saturation rose from 40% to 60%: the run is degrading (a lower learning rate or a decaying schedule usually helps)'
"""

from __future__ import annotations

import math

__all__ = [
    "DROP",
    "SATURATED",
    "VANISHING",
    "DegradationTracker",
    "ThresholdWatch",
    "epoch_line",
    "training_accuracy",
]

DROP = 0.02
SATURATION_RISE = 0.05
GRADIENT_FACTOR = 2.0
SATURATED = 0.5  # mean share of pre-activations outside the linear range
VANISHING = 1e-3  # E[delta_1^2] / E[delta_L^2]


def training_accuracy(logs) -> float | None:
    """The training accuracy in Keras ``logs`` (``accuracy``, ``acc`` or a key ending in
    ``accuracy`` that is not a validation metric), or None."""
    for key in ("accuracy", "acc"):
        if key in (logs or {}):
            return float(logs[key])
    for key, value in (logs or {}).items():
        if key.endswith("accuracy") and not key.startswith("val_"):
            return float(value)
    return None


def _gradient_spread(headline) -> float | None:
    """|log E[delta_1^2] / E[delta_L^2]|: how far gradients grow or shrink across the depth."""
    ratio = headline.get("sp_grad_ratio")
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return None
    return abs(math.log(ratio))


def epoch_line(epoch: int, headline: dict) -> str:
    """``epoch N: c^L ..., gradients ..., saturation ..., sign flips ...`` in words and numbers."""
    parts = [f"epoch {epoch + 1}: last-layer correlation c^L = {headline['sp_c_last']:.3f}"]
    ratio = headline.get("sp_grad_ratio")
    if ratio is not None and math.isfinite(ratio) and ratio > 0:
        direction = "grow" if ratio >= 1 else "shrink"
        parts.append(f"gradients {direction} {max(ratio, 1 / ratio):.3g}x from last to first layer")
    if "sp_saturation" in headline:
        parts.append(f"saturation {headline['sp_saturation']:.0%}")
    if "sp_sign_flips" in headline:
        parts.append(f"sign flips since last log {headline['sp_sign_flips']:.2%}")
    xi_c = headline.get("sp_xi_c")
    if xi_c is not None and math.isfinite(xi_c) and xi_c > 0:
        parts.append(f"fitted xi_c = {xi_c:.3g} layers")
    return ", ".join(parts)


class DegradationTracker:
    """Remembers the best epoch's accuracy and statistics; ``update`` returns the degradation
    line the first time accuracy falls ``DROP`` below it with the statistics moved (None
    otherwise, and ever after)."""

    def __init__(self):
        self._best = None  # (accuracy, epoch, headline)
        self._said = False

    def update(self, epoch: int, logs, headline: dict) -> str | None:
        accuracy = training_accuracy(logs)
        if accuracy is None or self._said:
            return None
        if self._best is None or accuracy >= self._best[0]:
            self._best = (accuracy, epoch, dict(headline))
            return None
        best, best_epoch, then = self._best
        causes = _causes(then, headline)
        if accuracy > best - DROP or not causes:
            return None
        self._said = True
        return (
            f"epoch {epoch + 1}: training accuracy fell from {best:.3f} (epoch {best_epoch + 1}) "
            f"to {accuracy:.3f} while {' and '.join(causes)}: the run is degrading (a lower "
            "learning rate or a decaying schedule usually helps)"
        )


def _causes(then: dict, now: dict) -> list[str]:
    causes = []
    if "sp_saturation" in now and "sp_saturation" in then:
        before, after = then["sp_saturation"], now["sp_saturation"]
        if after - before >= SATURATION_RISE:
            causes.append(f"saturation rose from {before:.0%} to {after:.0%}")
    before, after = _gradient_spread(then), _gradient_spread(now)
    if before is not None and after is not None and after - before >= math.log(GRADIENT_FACTOR):
        causes.append(
            f"the gradient ratio E[delta_1^2] / E[delta_L^2] moved from "
            f"{then['sp_grad_ratio']:.3g} to {now['sp_grad_ratio']:.3g}"
        )
    return causes


class ThresholdWatch:
    """Remembers the headline numbers of the first log; ``update`` returns ``(key, line)`` for
    each number that has since crossed its threshold (the caller says each key once).

    >>> watch = ThresholdWatch()
    >>> watch.update(0, {"sp_saturation": 0.2})
    []
    >>> watch.update(50, {"sp_saturation": 0.7})
    [('signal-saturation', 'step 50: saturation grows: sp_saturation = 0.7 (was 0.2 at the first log)')]
    """

    CHECKS = (
        ("saturation", "sp_saturation", lambda v: v > SATURATED, "saturation grows"),
        ("vanishing", "sp_grad_ratio", lambda v: v < VANISHING, "gradients start to vanish"),
    )

    def __init__(self):
        self._started = None

    def update(self, step: int, headline: dict) -> list[tuple[str, str]]:
        if self._started is None:
            self._started = {name: headline.get(key) for name, key, _, _ in self.CHECKS}
            return []
        found = []
        for name, key, crossed, words in self.CHECKS:
            start, now = self._started.get(name), headline.get(key)
            if start is None or now is None or crossed(start) or not crossed(now):
                continue
            found.append(
                (
                    f"signal-{name}",
                    f"step {step}: {words}: {key} = {now:.3g} (was {start:.3g} at the first log)",
                )
            )
        return found
