"""How TND-NAS policies map onto a cell space: edges, ops, samples <-> architectures.

A policy holds logits alpha per cell type, shaped (edges, ops) exactly as the space's supernet
(``net.arch_shapes()``): NB201 {"cell": (6, 5)}, DARTS {"normal": (14, 8), "reduce": (14, 8)}.
A *sample* is one op index per edge of every cell type (a single path through the supernet);
:class:`CellAdapter` turns samples into architectures of the space and back.

Choices [M]:

- NB201: a sample is the architecture (the 6 ops, ``none`` legal). With ``prune_dead_ops`` the
  architecture of a sample (and of a derivation) has ``none`` on every edge whose output never
  reaches the cell output (``nb201.space.without_dead_ops``): such ops cost params and latency
  but cannot change the output, so a policy cannot reach a cost target with dead weight, and
  samples that compute the same function share one evaluation. The generator turns it on in
  the one-shot mode, where the inherited-weight accuracy of the two cells is exactly equal, and
  leaves it off in the black-box mode, where a benchmark table trained each cell separately.
- DARTS: a sample puts one op (``none`` included) on each of the 14 edges, as the dev code's
  single-path evaluation does; the genotype of a sample keeps, per node, the 2 incoming edges
  whose sampled op is not ``none``, preferring those the policy finds most probable, and when
  fewer than 2 are left it completes them with the policy's most probable non-``none`` op of
  the other edges (the DARTS derivation, ``genotype.derive_cell``, on
  ``2 * onehot(sample) + softmax(alpha)``). Back from an architecture, the 8 kept edges carry
  their ops and the other 6 edges ``none``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from monas.arch import Arch

SPACES = ("nb201", "darts")


class CellAdapter:
    """Space-specific parts of TND-NAS for the ``nb201`` and ``darts`` cell spaces.

    ``ops`` (DARTS only) restricts the supernet's op columns to a subset of the 8 DARTS ops, in
    DARTS order (``none`` must stay when it is used by samples). Other spaces raise ValueError
    naming the accepted ones.
    """

    def __init__(self, space, ops: Optional[Sequence[str]] = None, prune_dead_ops: bool = False) -> None:
        name = getattr(space, "name", None)
        self.prune_dead_ops = bool(prune_dead_ops)
        if name not in SPACES:
            raise ValueError(f"tnd_nas searches the cell spaces {', '.join(SPACES)}; got space {name!r}")
        self.space = space
        self.name = name
        if name == "nb201":
            from monas.search_spaces.nb201.space import EDGES, OPS

            if ops is not None and tuple(ops) != tuple(OPS):
                raise ValueError(f"tnd_nas: the NB201 space has the fixed ops {list(OPS)}; got ops={list(ops)}")
            self.cell_types: Tuple[str, ...] = ("cell",)
            self.ops: Tuple[str, ...] = tuple(OPS)
            self.num_edges = len(EDGES)
        else:
            from monas.search_spaces.darts.genotype import CELL_TYPES, EDGES, PRIMITIVES

            ops = tuple(PRIMITIVES if ops is None else ops)
            bad = [o for o in ops if o not in PRIMITIVES]
            if bad or len(set(ops)) != len(ops) or not [o for o in ops if o != "none"]:
                raise ValueError(f"tnd_nas: ops={list(ops)}; accepted: distinct names among {list(PRIMITIVES)} "
                                 "with at least one op other than 'none'")
            self.cell_types = tuple(CELL_TYPES)
            self.ops = tuple(o for o in PRIMITIVES if o in ops)
            self.num_edges = len(EDGES)

    @property
    def shapes(self) -> Dict[str, Tuple[int, int]]:
        """{cell type: (edges, ops)}: the shape of one policy's logits."""
        return {t: (self.num_edges, len(self.ops)) for t in self.cell_types}

    @property
    def total_edges(self) -> int:
        return self.num_edges * len(self.cell_types)

    # ---- samples (E_total,) int arrays, cell types concatenated in order ------------------
    def split(self, sample: np.ndarray) -> Dict[str, np.ndarray]:
        s = np.asarray(sample, dtype=np.int64).reshape(-1)
        return {t: s[i * self.num_edges:(i + 1) * self.num_edges] for i, t in enumerate(self.cell_types)}

    def to_arch(self, sample: np.ndarray, probs: Optional[Dict[str, np.ndarray]] = None) -> Arch:
        """The architecture of a sample; ``probs`` {cell type: (E, O)} breaks DARTS edge ties."""
        parts = self.split(sample)
        if self.name == "nb201":
            return self._nb201([self.ops[i] for i in parts["cell"]])
        from monas.search_spaces.darts.genotype import derive_cell

        genotype = {}
        for t in self.cell_types:
            w = 2.0 * np.eye(len(self.ops))[parts[t]]
            if probs is not None:
                w = w + np.asarray(probs[t], dtype=np.float64)
            genotype[t] = derive_cell(w, self.ops)
        return self.space.make(genotype)

    def sample_of(self, arch: Arch) -> Optional[np.ndarray]:
        """The sample whose architecture is ``arch`` (None when it uses an op outside ``ops``)."""
        if self.name == "nb201":
            try:
                return np.array([self.ops.index(op) for op in arch.genotype], dtype=np.int64)
            except ValueError:
                return None
        from monas.search_spaces.darts.genotype import canonical_genotype, edge_index

        genotype = canonical_genotype(arch.genotype)
        if "none" not in self.ops:
            return None
        out: List[np.ndarray] = []
        for t in self.cell_types:
            s = np.full(self.num_edges, self.ops.index("none"), dtype=np.int64)
            for k, (op, inp) in enumerate(genotype[t]):
                if op not in self.ops:
                    return None
                s[edge_index(k // 2, inp)] = self.ops.index(op)
            out.append(s)
        return np.concatenate(out)

    def derive(self, probs: Dict[str, np.ndarray]) -> Arch:
        """The derived architecture of per-edge op probabilities (NB201: argmax per edge; DARTS:
        the DARTS rule, top-2 edges per node by the best non-``none`` op, then that op)."""
        if self.name == "nb201":
            return self._nb201([self.ops[i] for i in np.asarray(probs["cell"]).argmax(-1)])
        from monas.search_spaces.darts.genotype import derive_cell

        return self.space.make({t: derive_cell(np.asarray(probs[t], dtype=np.float64), self.ops)
                                for t in self.cell_types})

    def _nb201(self, ops: List[str]) -> Arch:
        if self.prune_dead_ops:
            from monas.search_spaces.nb201.space import without_dead_ops

            ops = list(without_dead_ops(ops))
        return self.space.make(ops)

    # ---- supernet -----------------------------------------------------------------------
    def supernet_kwargs(self, C: int, depth: Optional[int], in_channels: int, num_classes: int,
                        extra: Optional[Dict] = None) -> Dict:
        """``space.supernet`` kwargs: NB201 ``N`` = ``depth`` cells per stage (default 1), BN
        without running statistics (so inherited-weight evaluation uses batch statistics);
        DARTS ``layers`` = ``depth`` cells (default 5) with this adapter's ``ops``."""
        kw: Dict = {"C": int(C), "in_channels": int(in_channels), "num_classes": int(num_classes)}
        if self.name == "nb201":
            kw["N"] = 1 if depth is None else int(depth)
            kw["track_running_stats"] = False
        else:
            kw["layers"] = 5 if depth is None else int(depth)
            kw["ops"] = list(self.ops)
        kw.update(extra or {})
        return kw
