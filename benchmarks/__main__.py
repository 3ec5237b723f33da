"""Run the benchmarks: ``python -m benchmarks [NAME ...]``.

Imports every module ``benchmarks/bench_*.py`` (or those whose name contains one of the NAMEs),
calls its ``run()`` generator and prints one JSON object per line:
``{"bench", "value", "unit", "baseline", "ratio", "target"}``. A module that cannot be imported
(an optional part is missing) or whose ``run()`` fails prints ``{"bench": <module>, "error": ...}``
and the others still run; the exit status is then 1. Pin the runner to one core for comparable numbers, e.g.
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m benchmarks``.
"""

import importlib
import json
import sys
import traceback
from pathlib import Path


def _jsonable(value):
    """numpy scalars and arrays (anything with ``tolist``) become plain Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def discover(names=()):
    """Module names of ``benchmarks/bench_*.py``, sorted, filtered by substrings ``names``."""
    found = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    return [m for m in found if not names or any(name in m for name in names)]


def _error(module, exc):
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"bench": module, "error": detail}


def main(argv=None):
    names = sys.argv[1:] if argv is None else argv
    failures = 0
    for module in discover(names):
        try:
            rows = importlib.import_module(f"{__package__}.{module}").run()
            for row in rows:
                print(json.dumps(row, default=_jsonable), flush=True)
        except Exception as exc:  # noqa: BLE001  (one broken benchmark must not stop the others)
            failures += 1
            print(json.dumps(_error(module, exc)), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
