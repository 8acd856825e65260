"""Pareto hill climbing: mutate a random member of the shared front (an example plugin)."""
from typing import Any, Dict, List

import numpy as np

from monas import Arch, CandidateGenerator


class ParetoHillClimb(CandidateGenerator):
    """Each candidate is a mutation of a random point of the engine's current feasible front
    (a random sample while the front is empty). Parameters: ``batch_size`` (1)."""

    def __init__(self, batch_size: int = 1) -> None:
        self.batch_size = batch_size

    def setup(self, ctx) -> None:
        super().setup(ctx)
        self.rng_ = np.random.default_rng(ctx.seed)

    def ask(self, n: int) -> List[Arch]:
        front = self.ctx_.archive.front()
        space = self.ctx_.space
        if not front:
            return [space.sample(self.rng_) for _ in range(n)]
        return [space.mutate(front[int(self.rng_.integers(len(front)))].arch, self.rng_) for _ in range(n)]

    def state_dict(self) -> Dict[str, Any]:
        return {"rng": self.rng_.bit_generator.state}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.rng_.bit_generator.state = state["rng"]
