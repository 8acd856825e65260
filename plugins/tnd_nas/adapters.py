"""How TND-NAS policies map onto any categorical search space: one distribution per variable.

A policy holds logits alpha {"choices": (V, W)}: one row per variable of ``space.variables()``
(V variables, W = the largest number of options); a variable with fewer options has its extra
columns switched off by :meth:`ChoiceAdapter.valid_mask`. A *sample* is one option index per
variable, i.e. the space's own encoding, so the architecture of a sample is
``space.decode(sample)`` and the sample of an architecture ``space.encode(arch)``. On NB201 the
variables are the 6 edges with their 5 ops (the per-edge op distributions of the paper); on the
DARTS space they are, per node of each cell type, the pair of input edges and the op on each of
them, so every sample is an 8-edge genotype: the single path the supernet evaluates is exactly
the architecture whose costs the engine measures [M].

The adapter uses only what every space offers (``variables``, ``decode``, ``encode``); two
optional parts widen it:

- ``space.simplify(arch)`` (NB201: ops on edges whose output never reaches the cell output
  become ``none``): with ``prune_dead_ops`` every sampled or derived architecture is simplified,
  so a policy cannot meet a cost target with dead weight and equal functions share one
  evaluation. The generator turns it on in the one-shot mode, where the inherited-weight
  accuracy of the two forms is exactly equal, and leaves it off in the black-box mode, where a
  benchmark table trained each form separately.
- one-shot: the space's supernet with the single-path protocol (``net.arch_to_weights(arch)``
  and ``net(x, weights, edge_weights)``; ``search_spaces/README.md``).
"""
from __future__ import annotations

import fnmatch
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from monas.arch import Arch
from monas.search_space import ArchError

GROUP = "choices"


class ChoiceAdapter:
    """Samples (one option index per variable) <-> architectures of ``space``."""

    def __init__(self, space, prune_dead_ops: bool = False) -> None:
        variables = list(space.variables())
        if not variables:
            raise ValueError(f"tnd_nas: search space {space.name!r} has no variables to search")
        self.space = space
        self.name = space.name
        self.variables = variables
        self.cards = np.array([len(v.options) for v in variables], dtype=np.int64)
        if (self.cards < 1).any():
            bad = variables[int(np.argmin(self.cards))].name
            raise ValueError(f"tnd_nas: variable {bad!r} of space {space.name!r} has no options")
        self.width = int(self.cards.max())
        self.prune_dead_ops = bool(prune_dead_ops)

    @property
    def shapes(self) -> Dict[str, Tuple[int, int]]:
        """{"choices": (variables, widest option count)}: the shape of one policy's logits."""
        return {GROUP: (len(self.variables), self.width)}

    def valid_mask(self) -> Dict[str, np.ndarray]:
        """{"choices": bool (V, W)}: True where the column is an option of that variable."""
        return {GROUP: np.arange(self.width)[None, :] < self.cards[:, None]}

    def allowed_mask(self, options: Optional[Dict[str, Sequence[str]]] = None) -> Dict[str, np.ndarray]:
        """:meth:`valid_mask` restricted by ``options`` {variable-name glob: option names}: a
        variable a pattern matches keeps only the listed options (the first matching pattern
        wins). Raises ValueError naming a pattern that matches nothing, an option no matched
        variable has, or a variable left without options."""
        mask = self.valid_mask()[GROUP].copy()
        names = [v.name for v in self.variables]
        for pattern, allowed in (options or {}).items():
            hits = [i for i, n in enumerate(names) if fnmatch.fnmatchcase(n, str(pattern))]
            if not hits:
                raise ValueError(f"tnd_nas: options pattern {pattern!r} matches no variable of space {self.name!r}; "
                                 f"variables: {', '.join(names[:6])}{', ...' if len(names) > 6 else ''}")
            known = {str(o) for i in hits for o in self.variables[i].options}
            bad = [str(o) for o in allowed if str(o) not in known]
            if bad:
                raise ValueError(f"tnd_nas: options[{pattern!r}]: {bad[0]!r} is not an option of the matched "
                                 f"variables; accepted: {', '.join(sorted(known))}")
        for i, n in enumerate(names):
            pattern = next((p for p in (options or {}) if fnmatch.fnmatchcase(n, str(p))), None)
            if pattern is None:
                continue
            keep = {str(o) for o in options[pattern]}
            for j, o in enumerate(self.variables[i].options):
                mask[i, j] &= str(o) in keep
            if not mask[i].any():
                raise ValueError(f"tnd_nas: options[{pattern!r}] leaves variable {n!r} without options; its "
                                 f"options: {', '.join(map(str, self.variables[i].options))}")
        return {GROUP: mask}

    @property
    def total_edges(self) -> int:
        return len(self.variables)

    @property
    def can_simplify(self) -> bool:
        return callable(getattr(self.space, "simplify", None))

    def to_arch(self, sample: np.ndarray) -> Arch:
        """The architecture of a sample (simplified with ``prune_dead_ops``)."""
        arch = self.space.decode([int(v) for v in np.asarray(sample).reshape(-1)])
        if self.prune_dead_ops and self.can_simplify:
            arch = self.space.simplify(arch)
        return arch

    def sample_of(self, arch: Arch) -> Optional[np.ndarray]:
        """The sample of ``arch`` (its encoding), or None when it is not of this space."""
        if arch.space != self.name:
            return None
        try:
            x = np.asarray(self.space.encode(arch), dtype=np.int64).reshape(-1)
        except (ArchError, ValueError, KeyError, IndexError, TypeError):
            return None
        if x.shape != self.cards.shape or (x < 0).any() or (x >= self.cards).any():
            return None
        return x

    def derive(self, probs: Dict[str, np.ndarray]) -> Arch:
        """The most probable architecture: the argmax option of every variable."""
        p = np.where(self.valid_mask()[GROUP], np.asarray(probs[GROUP]), -1.0)
        return self.to_arch(p.argmax(-1))
