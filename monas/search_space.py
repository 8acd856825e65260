"""SearchSpace: what architectures exist, how to sample, mutate, encode and build them."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from monas.arch import Arch


class ArchError(ValueError):
    """An architecture that is not in the space; the message says what the space accepts."""


@dataclass(frozen=True)
class Choice:
    """One categorical decision of a space: a name and its options (in index order)."""

    name: str
    options: Tuple[Any, ...]


@dataclass(frozen=True)
class CellLayout:
    """How a cell space's mixture supernet is laid out (capability ``supernet.mixture``), given by
    ``space.mixture_layout()`` so DARTS-family methods never read a space's name.

    ``cell_types``: the cell types, each with its own architecture weights; ``node_edges``: per
    intermediate node, the supernet edge indices entering it; ``ops``: the supernet's op columns,
    in order; ``edges_per_node``: in-edges a derived node keeps (DARTS 2) or None (every edge, the
    op may be ``none``); ``depth_keyword`` / ``search_depth``: the ``supernet`` keyword of its
    depth and a small default; ``param_free``: the parameter-free ops (the collapse watch);
    ``op_sets``: op implementations the supernet offers (``op_set=``); ``custom_ops``: whether
    ``supernet(ops=[...])`` may choose a subset of the op columns.
    """

    cell_types: Tuple[str, ...]
    node_edges: Tuple[Tuple[int, ...], ...]
    ops: Tuple[str, ...]
    edges_per_node: Optional[int]
    depth_keyword: str
    search_depth: int
    param_free: Tuple[str, ...] = ()
    op_sets: Tuple[str, ...] = ("darts",)
    custom_ops: bool = False


class SearchSpace(abc.ABC):
    """A discrete architecture space described by categorical choices.

    Subclasses give ``variables()``, ``decode(x)`` and ``encode(arch)``; sampling and mutation
    default to uniform choices over those variables, which is also what pymoo and Optuna see.
    Networks come from ``build(arch)`` (the discrete network) and ``supernet(mode)``.
    """

    name: str = "space"

    @abc.abstractmethod
    def variables(self) -> List[Choice]:
        """The categorical choices; ``encode`` returns one option index per choice."""

    @abc.abstractmethod
    def decode(self, x: Sequence[int]) -> Arch:
        """The architecture whose option indices are ``x`` (one per variable)."""

    @abc.abstractmethod
    def encode(self, arch: Arch) -> np.ndarray:
        """Option indices of ``arch``, an int array of ``len(variables())``."""

    @abc.abstractmethod
    def from_genotype(self, genotype: Any) -> Arch:
        """Arch from its genotype; raises ArchError naming what is wrong and what is accepted."""

    def from_key(self, key: str) -> Arch:
        """Arch from its canonical key; raises ArchError when the key is not in the space."""
        raise NotImplementedError(f"{type(self).__name__} cannot parse keys")

    def contains(self, arch: Arch) -> bool:
        if arch.space != self.name:
            return False
        try:
            return self.from_genotype(arch.genotype).key == arch.key
        except ArchError:
            return False

    def check(self, arch: Arch) -> Arch:
        """Return ``arch`` when it belongs to this space, else raise ArchError."""
        if arch.space != self.name:
            raise ArchError(f"{arch!r} belongs to space {arch.space!r}, not {self.name!r}")
        canonical = self.from_genotype(arch.genotype)
        if canonical.key != arch.key:
            raise ArchError(f"{arch!r}: key does not match its genotype ({canonical.key})")
        return canonical

    def cardinalities(self) -> np.ndarray:
        return np.array([len(v.options) for v in self.variables()], dtype=int)

    def size(self) -> int:
        return int(np.prod([len(v.options) for v in self.variables()], dtype=object))

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.decode([int(rng.integers(n)) for n in self.cardinalities()])

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one choice of ``arch`` to a different option (a new architecture)."""
        x = self.encode(arch).copy()
        cards = self.cardinalities()
        free = np.flatnonzero(cards > 1)
        for _ in range(100):
            i = int(rng.choice(free))
            x[i] = (x[i] + 1 + int(rng.integers(cards[i] - 1))) % cards[i]
            child = self.decode(x)
            if child.key != arch.key:
                return child
        return child

    def build(self, arch: Arch, **kwargs: Any):
        """The discrete network of ``arch`` as a ``torch.nn.Module``."""
        raise NotImplementedError(f"search space {self.name!r} has no network builder")

    def supernet(self, mode: str = "mixture", **kwargs: Any):
        """The weight-sharing network; see the space's documentation for the modes."""
        raise NotImplementedError(f"search space {self.name!r} has no supernet")

    def to_graph(self, arch: Arch) -> Tuple[np.ndarray, np.ndarray]:
        """(adjacency, node features) of ``arch``'s cell graph, for predictors."""
        raise NotImplementedError(f"search space {self.name!r} has no graph form")
