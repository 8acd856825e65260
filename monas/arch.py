"""Arch: one immutable architecture of one search space."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Arch:
    """An architecture of the space named ``space``.

    ``key`` is the space's canonical string (dedup, caching, Optuna attributes); two archs
    are equal when their space and key are equal. ``genotype`` is plain JSON-serialisable data
    from which the space rebuilds the architecture.
    """

    space: str
    key: str
    genotype: Any = field(compare=False, hash=False)

    def to_dict(self) -> dict:
        return {"space": self.space, "key": self.key, "genotype": self.genotype}

    @classmethod
    def from_dict(cls, data: dict) -> "Arch":
        return cls(space=data["space"], key=data["key"], genotype=_freeze(data["genotype"]))

    def __repr__(self) -> str:
        return f"Arch({self.space}:{self.key})"


def _freeze(value: Any) -> Any:
    """JSON lists back to tuples so genotypes read from disk equal the ones built in memory."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items()}
    return value


def genotype_json(arch: Arch) -> str:
    return json.dumps(arch.genotype)
