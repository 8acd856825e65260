"""The verdict on a finished run: how many evaluations failed, on which objective, and why.

A run whose every evaluation failed, or in which one objective failed on more than
``max_failed_share`` of the evaluations, is a failed run (``monas search`` exits non-zero);
its last lines name the most common error and how often it occurred.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from monas.evaluation import EvalState, Evaluation

DEFAULT_MAX_FAILED_SHARE = 0.5


def error_kind(error: Optional[str], arch_key: str = "") -> str:
    """The first line of an evaluation's error, with the architecture's key cut out (so errors
    that differ only in the architecture count as one)."""
    line = ((error or "unknown error").strip().splitlines() or ["unknown error"])[0]
    if arch_key:
        line = line.replace(arch_key, "<arch>")
    return re.sub(r"\s+", " ", line)[:300]


@dataclass(frozen=True)
class Failures:
    """Counts of failed evaluations among ``total``: per objective label and per error."""

    total: int
    failed: int
    by_objective: Dict[str, int] = field(default_factory=dict)
    errors: Dict[str, int] = field(default_factory=dict)

    @property
    def most_common(self) -> Optional[str]:
        return max(self.errors, key=self.errors.get) if self.errors else None

    def summary(self) -> str:
        """One line: ``failed: 3 of 30 evaluations (latency 3); most common (3x): ...``."""
        if not self.failed:
            return f"failed: 0 of {self.total} evaluations"
        per = ", ".join(f"{k} {v}" for k, v in self.by_objective.items())
        top = self.most_common
        return (f"failed: {self.failed} of {self.total} evaluations ({per}); most common error "
                f"({self.errors[top]}x): {top}")


def count_failures(evaluations: Sequence[Evaluation], labels: Sequence[str]) -> Failures:
    """Which objective each failed evaluation failed on (the first one without a value)."""
    failed = [e for e in evaluations if e.state == EvalState.FAILED]
    by_objective: Counter = Counter()
    errors: Counter = Counter()
    for e in failed:
        label = next((l for l in labels if l not in e.values), "?")
        by_objective[label] += 1
        errors[error_kind(e.error, e.arch.key)] += 1
    return Failures(len(evaluations), len(failed), dict(by_objective.most_common()), dict(errors.most_common()))


def verdict(failures: Failures, max_failed_share: float = DEFAULT_MAX_FAILED_SHARE) -> List[str]:
    """The lines that end a failed run (empty when the run did not fail)."""
    if failures.total == 0 or failures.failed == 0:
        return []
    if failures.failed == failures.total:
        head = f"run failed: every evaluation failed ({failures.failed} of {failures.total})"
    else:
        worst, count = next(iter(failures.by_objective.items()))
        if count / failures.total <= max_failed_share:
            return []
        head = (f"run failed: objective {worst!r} failed on {count} of {failures.total} evaluations "
                f"(more than max_failed_share {max_failed_share:g})")
    top = failures.most_common
    return [head, f"most common error ({failures.errors[top]} of {failures.failed} failures): {top}"]
