"""Contexts the engine hands to generators and objectives."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Optional

import numpy as np

from monas.arch import Arch
from monas.constraint import Constraint
from monas.objective import MAXIMIZE


@dataclass(frozen=True)
class ObjectiveSpec:
    """An objective as the search sees it: its label in evaluations and its direction.

    ``cheap`` mirrors ``Objective.cheap`` (a table or formula, no training or device timing):
    a generator may then query ``ctx.measure`` for it freely, e.g. for a whole candidate pool.
    """

    label: str
    direction: str
    cheap: bool = field(default=False, compare=False)
    units: str = field(default="", compare=False)

    @property
    def sign(self) -> float:
        """Multiply a value by this to get the minimisation form."""
        return -1.0 if self.direction == MAXIMIZE else 1.0


@dataclass
class EvaluationContext:
    """What an objective may use while measuring: the space, device, data and shared state.

    ``shared`` carries objects published by generators for objectives, e.g. the trained
    supernet under ``"supernet"`` for the inherited-weights accuracy fidelity.
    """

    space: Any
    device: str = "cpu"
    data: Any = None
    seed: int = 0
    run_dir: Optional[Path] = None
    shared: Dict[str, Any] = field(default_factory=dict)


@dataclass
class GeneratorContext:
    """What the engine gives a generator in ``setup``.

    ``measure(arch, label)`` returns the value of objective ``label`` for ``arch`` through the
    engine's cache (the same measurement the engine would make, never recomputed); it does not
    add the arch to the archive or count against the budget.
    """

    name: str
    space: Any
    objectives: List[ObjectiveSpec]
    constraints: List[Constraint]
    seed: int
    measure: Callable[[Arch, str], float]
    archive: Any
    evaluation: EvaluationContext
    checkpoint_dir: Optional[Path] = None
    progress: Callable[[str], None] = lambda message: None
    #: keys of the candidates proposed (by any generator) and not yet evaluated; a generator that
    #: avoids repeats skips them too
    pending: Callable[[], FrozenSet[str]] = lambda: frozenset()

    @property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def signs(self) -> np.ndarray:
        return np.array([o.sign for o in self.objectives])

    @property
    def data(self):
        return self.evaluation.data

    @property
    def device(self) -> str:
        return self.evaluation.device
