"""Budget: when a search stops (unique evaluations, wall time, target hypervolume)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class Budget:
    """Stop at ``evaluations`` unique evaluations, ``wall_time_s`` seconds of search (summed over
    resumed sessions) or a front hypervolume of ``target_hypervolume``, whichever comes first.
    Duplicates answered from the cache cost nothing.

    The target hypervolume is measured with fixed bounds, ``hv_ideal`` and ``hv_nadir``
    ({objective label: value} in natural units, mapped to 0 and 1, reference point 1.1), since a
    front normalised by its own extremes can lose hypervolume while it improves."""

    evaluations: Optional[int] = None
    wall_time_s: Optional[float] = None
    target_hypervolume: Optional[float] = None
    hv_ideal: Optional[Dict[str, float]] = None
    hv_nadir: Optional[Dict[str, float]] = None

    def __post_init__(self) -> None:
        if self.target_hypervolume is not None and (not self.hv_ideal or not self.hv_nadir):
            raise ValueError("budget.target_hypervolume needs hv_ideal and hv_nadir ({objective: value}) "
                             "to fix the normalisation")
        if self.evaluations is None and self.wall_time_s is None and self.target_hypervolume is None:
            raise ValueError("budget needs at least one of evaluations, wall_time_s, target_hypervolume")
        if self.evaluations is not None and int(self.evaluations) < 1:
            raise ValueError(f"budget.evaluations must be >= 1, got {self.evaluations}")
        if self.wall_time_s is not None and float(self.wall_time_s) <= 0:
            raise ValueError(f"budget.wall_time_s must be > 0, got {self.wall_time_s}")

    def exhausted(self, n_unique: int, elapsed_s: float, hypervolume: Optional[float] = None) -> Optional[str]:
        """Why the search must stop now, or None."""
        if self.evaluations is not None and n_unique >= self.evaluations:
            return f"{n_unique} unique evaluations"
        if self.wall_time_s is not None and elapsed_s >= self.wall_time_s:
            return f"{elapsed_s:.0f} s wall time"
        if self.target_hypervolume is not None and hypervolume is not None and hypervolume >= self.target_hypervolume:
            return f"hypervolume {hypervolume:.4f} reached"
        return None

    def remaining(self, n_unique: int) -> Optional[int]:
        return None if self.evaluations is None else max(0, int(self.evaluations) - n_unique)
