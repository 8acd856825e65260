"""Objective: a named, directed quantity measured on an architecture."""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

MINIMIZE = "minimize"
MAXIMIZE = "maximize"
DIRECTIONS = (MINIMIZE, MAXIMIZE)


@dataclass(frozen=True)
class Measurement:
    """A measured value with its details (uncounted ops, latency spread, ...)."""

    value: float
    details: Dict[str, Any] = field(default_factory=dict)


class Objective(abc.ABC):
    """Measures one quantity of an architecture.

    ``direction`` is ``"minimize"`` or ``"maximize"``. ``fingerprint(ctx)`` names everything the
    value depends on besides the architecture (device, fidelity, table); the engine's cache is
    keyed by (arch key, objective label, fingerprint), so a value measured on one device is never
    reused for another.
    """

    direction: str = MINIMIZE
    #: True when ``measure`` needs no network training or device timing (a table, a formula);
    #: such objectives are cheap enough for generators to query freely.
    cheap: bool = False
    #: True when only the search process can measure it (it reads state a generator publishes
    #: there, e.g. the supernet): worker processes cannot evaluate it
    needs_search_process: bool = False

    #: what the value is measured in, for tables and plots ("%", "ms", "M params", ...)
    units: str = ""

    @abc.abstractmethod
    def measure(self, arch, ctx) -> Measurement:
        """Measure ``arch``. ``ctx`` is the engine's ``EvaluationContext``."""

    def fingerprint(self, ctx) -> Dict[str, Any]:
        return {}

    def expected(self, space, probabilities) -> Optional[Any]:
        """Differentiable expectation under architecture probabilities, when supported."""
        return None


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}; accepted: {', '.join(DIRECTIONS)}")
    return direction
