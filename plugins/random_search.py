"""Random search: uniform samples of the space, never repeating one it already proposed."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from monas.arch import Arch
from monas.generator import CandidateGenerator


class RandomSearch(CandidateGenerator):
    """Uniform random architectures.

    Parameters: ``batch_size`` (candidates per ask, 1); ``max_tries`` (draws per candidate
    before accepting a repeat, 100).
    """

    #: proposals do not depend on results: ask again while earlier candidates are evaluated
    max_pending_batches = None

    def __init__(self, batch_size: int = 1, max_tries: int = 100) -> None:
        self.batch_size = int(batch_size)
        self.max_tries = int(max_tries)

    def setup(self, ctx) -> None:
        super().setup(ctx)
        self.rng_ = np.random.default_rng(ctx.seed)
        self.seen_: set = set()

    def ask(self, n: int) -> List[Arch]:
        out = []
        for _ in range(n):
            for _ in range(self.max_tries):
                arch = self.ctx_.space.sample(self.rng_)
                if arch.key not in self.seen_ and arch.key not in self.ctx_.pending():
                    break
            self.seen_.add(arch.key)
            out.append(arch)
        return out

    def state_dict(self) -> Dict[str, Any]:
        return {"rng": self.rng_.bit_generator.state, "seen": sorted(self.seen_)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.rng_.bit_generator.state = state["rng"]
        self.seen_ = set(state["seen"])
