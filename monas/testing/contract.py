"""What the contract tests build: spaces and generators at their contract parameters, the pairs
a generator can search, a tiny dataset, and objectives every space supports."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Tuple

import numpy as np

from monas.capabilities import missing
from monas.objective import MAXIMIZE, MINIMIZE, Measurement, Objective
from monas.registry import GENERATORS, SEARCH_SPACES

#: (channels, height, width) of the networks the contract tests run: the contract dataset's
CONTRACT_INPUT: Tuple[int, int, int] = (1, 8, 8)


def make_space(name: str):
    """The registered space ``name`` built with its ``contract_params`` (default ``{}``)."""
    cls = SEARCH_SPACES.get(name)
    return SEARCH_SPACES.create(name, **dict(getattr(cls, "contract_params", {}) or {}))


def make_generator(name: str):
    """The registered generator ``name`` built with its ``contract_params`` (default ``{}``)."""
    cls = GENERATORS.get(name)
    return GENERATORS.create(name, **dict(getattr(cls, "contract_params", {}) or {}))


def assert_runs_and_resumes(space, name: str, objectives, data, evaluations: int) -> None:
    """Run generator ``name`` (at its ``contract_params``) alone on ``space`` for ``evaluations``
    and check the contract: only architectures of the space, each credited to the generator, and
    a generator restored from its ``state_dict`` (through ``torch.save``) asks exactly what the
    original asks next."""
    import io

    import torch

    from monas.budget import Budget
    from monas.engine import Engine

    engine = Engine(space, objectives, [(name, make_generator(name), 1.0)], budget=Budget(evaluations=evaluations),
                    seed=0, data=data)
    archive = engine.optimize()
    assert 1 <= len(archive) <= evaluations
    assert all(space.contains(e.arch) for e in archive.evaluations)
    assert all(e.generator == name for e in archive.evaluations)

    gen = engine.slots[0].generator
    buf = io.BytesIO()
    torch.save(gen.state_dict(), buf)
    buf.seek(0)
    restored = make_generator(name)
    restored.setup(gen.ctx_)
    restored.load_state_dict(torch.load(buf, weights_only=False))
    n = max(1, min(gen.batch_size, 4))
    assert [a.key for a in restored.ask(n)] == [a.key for a in gen.ask(n)]


def _pairs() -> Tuple[List[Tuple[str, str]], List[Tuple[str, str, str]]]:
    searchable, refused = [], []
    spaces = {s: make_space(s) for s in SEARCH_SPACES.names()}
    for g in GENERATORS.names():
        required = tuple(make_generator(g).required_capabilities())
        for s, space in spaces.items():
            lacking = missing(required, space)
            if lacking:
                refused.append((g, s, lacking[0]))
            else:
                searchable.append((g, s))
    return searchable, refused


def searchable_pairs() -> List[Tuple[str, str]]:
    """(generator, space) for every registered generator and every registered space it can search."""
    return _pairs()[0]


def refused_pairs() -> List[Tuple[str, str, str]]:
    """(generator, space, first missing capability) for every pair the generator cannot search."""
    return _pairs()[1]


@lru_cache(maxsize=1)
def contract_data():
    """scikit-learn's digits at 8x8 (bundled, no download): the one-shot generators' dataset."""
    from monas.datasets import load_digits

    return load_digits(size=CONTRACT_INPUT[1])


class EncodingScore(Objective):
    """A deterministic stand-in objective of any space: a fixed random linear score of the
    architecture's option indices (``encode``), so every space and every generator can be run
    without a table or a network. ``direction`` "maximize" gives a percentage in [0, 100]."""

    cheap = True

    def __init__(self, direction: str = MAXIMIZE, seed: int = 0) -> None:
        self.direction = direction
        self.seed = seed
        self.units = "%" if direction == MAXIMIZE else ""

    def fingerprint(self, ctx) -> Dict[str, Any]:
        return {"kind": "encoding_score", "direction": self.direction, "seed": self.seed}

    def measure(self, arch, ctx) -> Measurement:
        space = ctx.space
        x = np.asarray(space.encode(arch), dtype=float)
        cards = np.maximum(space.cardinalities() - 1, 1)
        weights = np.random.default_rng(self.seed).random(len(x))
        score = float(np.dot(weights, x / cards) / max(weights.sum(), 1e-12))
        return Measurement(100.0 * score if self.direction == MAXIMIZE else score)


def contract_objectives() -> Dict[str, Objective]:
    """{"accuracy": a maximised encoding score in %, "cost": a minimised one}: cheap on any space."""
    return {"accuracy": EncodingScore(MAXIMIZE, seed=0), "cost": EncodingScore(MINIMIZE, seed=1)}
