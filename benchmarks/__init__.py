"""Speed and size benchmarks (``make bench``, ``python -m benchmarks``); every row is `row`."""


def row(bench, value, unit, baseline, ratio, target) -> dict:
    """One printed result: ``{"bench", "value", "unit", "baseline", "ratio", "target"}``, the
    value and its baseline measured side by side in the same run."""
    return {
        "bench": bench,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
    }
