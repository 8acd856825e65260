"""Evaluation: the immutable result of evaluating one architecture on every objective."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from monas.arch import Arch


class EvalState(str, enum.Enum):
    COMPLETE = "complete"
    FAILED = "failed"
    PRUNED = "pruned"


@dataclass(frozen=True)
class Evaluation:
    """One architecture's values (natural units and directions), violations and provenance.

    ``number`` is the evaluation's index in the run (0, 1, ...); ``generator`` names the plugin
    that proposed it; ``details`` holds each objective's measurement details; ``fingerprint``
    the hardware/fidelity fingerprint of each objective.
    """

    number: int
    arch: Arch
    values: Dict[str, float]
    violations: Dict[str, float]
    state: EvalState = EvalState.COMPLETE
    generator: str = ""
    details: Dict[str, Any] = field(default_factory=dict)
    fingerprint: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    started_at: float = 0.0
    duration_s: float = 0.0

    @property
    def feasible(self) -> bool:
        return self.state == EvalState.COMPLETE and all(v <= 0 for v in self.violations.values())

    @property
    def total_violation(self) -> float:
        return float(sum(max(0.0, v) for v in self.violations.values()))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "number": self.number,
            "arch": self.arch.to_dict(),
            "values": self.values,
            "violations": self.violations,
            "state": self.state.value,
            "generator": self.generator,
            "details": self.details,
            "fingerprint": self.fingerprint,
            "error": self.error,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Evaluation":
        return cls(
            number=int(d["number"]),
            arch=Arch.from_dict(d["arch"]),
            values={k: float(v) for k, v in d["values"].items()},
            violations={k: float(v) for k, v in d["violations"].items()},
            state=EvalState(d["state"]),
            generator=d.get("generator", ""),
            details=d.get("details", {}),
            fingerprint=d.get("fingerprint", {}),
            error=d.get("error"),
            started_at=float(d.get("started_at", 0.0)),
            duration_s=float(d.get("duration_s", 0.0)),
        )
