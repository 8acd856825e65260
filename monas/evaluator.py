"""Evaluator: measures architectures on every objective through one cache.

The cache is keyed by (arch key, objective label, fingerprint), so a value is reused only where
it was measured under the same hardware and fidelity. Generators reach the same cache through
``GeneratorContext.measure``; nothing is measured twice.
"""
from __future__ import annotations

import json
import math
import time
import traceback
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

from monas.arch import Arch
from monas.constraint import Constraint
from monas.context import EvaluationContext
from monas.evaluation import EvalState, Evaluation
from monas.objective import Measurement, Objective

CacheKey = Tuple[str, str, str]


class Evaluator:
    """Measures ``objectives`` ({label: Objective}) and applies ``constraints``.

    ``on_measure(key, measurement)`` is called for each fresh measurement so the run directory
    can persist it; ``preload`` fills the cache from such a record on resume.
    """

    def __init__(self, objectives: Mapping[str, Objective], constraints: Sequence[Constraint],
                 ctx: EvaluationContext,
                 on_measure: Optional[Callable[[CacheKey, Measurement], None]] = None) -> None:
        unknown = [c.objective for c in constraints if c.objective not in objectives]
        if unknown:
            raise ValueError(
                f"constraint on unknown objective {unknown[0]!r}; accepted: {', '.join(objectives)}"
            )
        self.objectives = dict(objectives)
        self.constraints = list(constraints)
        self.ctx = ctx
        self.on_measure = on_measure
        self.cache: Dict[CacheKey, Measurement] = {}
        self._fingerprints: Dict[str, str] = {}

    def fingerprint(self, label: str) -> str:
        if label not in self._fingerprints:
            fp = self.objectives[label].fingerprint(self.ctx)
            self._fingerprints[label] = json.dumps(fp, sort_keys=True, default=str)
        return self._fingerprints[label]

    def preload(self, key: CacheKey, measurement: Measurement) -> None:
        self.cache[key] = measurement

    def measure(self, arch: Arch, label: str) -> Measurement:
        """The cached measurement of objective ``label`` on ``arch`` (measured once)."""
        if label not in self.objectives:
            raise KeyError(f"unknown objective {label!r}; accepted: {', '.join(self.objectives)}")
        key = (arch.key, label, self.fingerprint(label))
        if key not in self.cache:
            m = self.objectives[label].measure(arch, self.ctx)
            if not isinstance(m, Measurement):
                m = Measurement(float(m))
            if m.value is None or not math.isfinite(float(m.value)):
                raise ValueError(f"objective {label!r} gave a non-finite value {m.value!r} for {arch.key}")
            self.cache[key] = m
            if self.on_measure is not None:
                self.on_measure(key, m)
        return self.cache[key]

    def value(self, arch: Arch, label: str) -> float:
        return float(self.measure(arch, label).value)

    def evaluate(self, arch: Arch, number: int, generator: str) -> Evaluation:
        """Measure every objective; a failure becomes a FAILED evaluation carrying the error."""
        started = time.time()
        values: Dict[str, float] = {}
        details: Dict[str, dict] = {}
        fingerprints: Dict[str, str] = {}
        try:
            for label in self.objectives:
                m = self.measure(arch, label)
                values[label] = float(m.value)
                if m.details:
                    details[label] = m.details
                fingerprints[label] = self.fingerprint(label)
        except Exception as exc:  # recorded, never raised: the run goes on
            return Evaluation(
                number=number, arch=arch, values=values, violations={}, state=EvalState.FAILED,
                generator=generator, details=details, fingerprint=fingerprints,
                error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
                started_at=started, duration_s=time.time() - started,
            )
        violations = {str(c): c.violation(values[c.objective]) for c in self.constraints}
        return Evaluation(
            number=number, arch=arch, values=values, violations=violations,
            state=EvalState.COMPLETE, generator=generator, details=details,
            fingerprint=fingerprints, started_at=started, duration_s=time.time() - started,
        )
