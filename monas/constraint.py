"""Constraint: an objective bound; violation = value - bound (feasible when <= 0)."""
from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``objective <= bound`` or ``objective >= bound`` (pymoo/Optuna convention: G <= 0)."""

    objective: str
    bound: float
    op: str = "<="

    def violation(self, value: float) -> float:
        return value - self.bound if self.op == "<=" else self.bound - value

    def __str__(self) -> str:
        return f"{self.objective} {self.op} {self.bound:g}"

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        """Parse ``"latency <= 5"``; a unit word after the number is not accepted."""
        m = _PATTERN.match(str(text))
        if not m:
            raise ValueError(
                f"constraint {text!r}; accepted: '<objective> <= <number>' or '<objective> >= <number>'"
            )
        return cls(objective=m.group(1), bound=float(m.group(3)), op=m.group(2))
