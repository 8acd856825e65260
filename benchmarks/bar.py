"""The end of every benchmark: the bar it states, each failure, PASS or FAILED, and the exit status."""
from __future__ import annotations

from typing import Sequence


def finish(bar: str, failures: Sequence[str]) -> int:
    """Print ``bar`` and the verdict; 0 when nothing failed, 1 otherwise."""
    print(f"\n{bar}")
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0
