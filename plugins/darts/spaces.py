"""What the DARTS-family plugins need to know about a cell space, for DARTS and NB201.

A :class:`SpaceAdapter` hides the differences between the two cell spaces the one-shot
plugins search:

- how to build the space's supernet at the search size (``C`` and ``layers``: DARTS cells, or
  NB201 cells per stage) for the data's channels and classes;
- which edges enter each intermediate node (``node_edges``), for per-node softmaxes and
  Gumbel-Top2 edge sampling;
- whether the derivation keeps 2 in-edges per node (DARTS) or every edge (NB201);
- how a derived cell turns into an ``Arch`` of the space, and how many parameter-free ops a
  cell holds (the collapse watch).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

from monas.arch import Arch

# Parameter-free ops of each space (the "collapse" ops of DARTS-like searches).
PARAM_FREE = {
    "darts": ("skip_connect", "max_pool_3x3", "avg_pool_3x3"),
    "nb201": ("skip_connect", "avg_pool_3x3", "none"),
}
TINY_LAYERS = {"darts": 5, "nb201": 1}
PAPER_LAYERS = {"darts": 8, "nb201": 5}


class SpaceAdapter:
    """Space-specific parts of a DARTS-family search (see module docstring).

    ``space`` is a DartsSpace or an NB201Space (by ``space.name``); other spaces raise a
    ValueError naming the accepted ones.
    """

    def __init__(self, space) -> None:
        name = getattr(space, "name", None)
        if name not in ("darts", "nb201"):
            raise ValueError(f"DARTS-family plugins search the 'darts' or 'nb201' cell space; got space {name!r}")
        self.space = space
        self.name = name
        if name == "darts":
            from monas.search_spaces.darts.genotype import CELL_TYPES, NODE_SLICES, PRIMITIVES

            self.cell_types: Tuple[str, ...] = tuple(CELL_TYPES)
            self.node_edges: Tuple[Tuple[int, ...], ...] = tuple(
                tuple(range(s.start, s.stop)) for s in NODE_SLICES)
            self.all_ops: Tuple[str, ...] = tuple(PRIMITIVES)
            self.edges_per_node: Optional[int] = 2
        else:
            from monas.search_spaces.nb201.space import EDGES, OPS

            self.cell_types = ("cell",)
            groups: Dict[int, list] = {}
            for e, (i, _) in enumerate(EDGES):
                groups.setdefault(i, []).append(e)
            self.node_edges = tuple(tuple(groups[i]) for i in sorted(groups))
            self.all_ops = tuple(OPS)
            self.edges_per_node = None
        self.num_edges = sum(len(g) for g in self.node_edges)

    # ---- supernet ---------------------------------------------------------------------
    def supernet_kwargs(self, C: int, layers: Optional[int], in_channels: int, num_classes: int,
                        ops: Optional[Sequence[str]] = None, op_set: str = "darts",
                        partial_channels: Optional[int] = None) -> Dict:
        """Keyword arguments of ``space.supernet`` (without ``mode``) for this search.

        ``layers`` None takes the tiny default (DARTS 5 cells, NB201 1 cell per stage). ``ops``
        and ``op_set`` exist only in the DARTS supernet; NB201 accepts only its own 5 ops.
        """
        layers = TINY_LAYERS[self.name] if layers is None else int(layers)
        kw: Dict = {"C": int(C), "in_channels": int(in_channels), "num_classes": int(num_classes)}
        if partial_channels is not None:
            kw["partial_channels"] = int(partial_channels)
        if self.name == "darts":
            kw["layers"] = layers
            if ops is not None:
                kw["ops"] = list(ops)
            if op_set != "darts":
                kw["op_set"] = op_set
        else:
            kw["N"] = layers
            if ops is not None and tuple(ops) != self.all_ops:
                raise ValueError(f"the NB201 supernet has the fixed ops {list(self.all_ops)}; got {list(ops)}")
            if op_set != "darts":
                raise ValueError(f"op_set={op_set!r} exists only in the DARTS space; NB201 has its own ops")
        return kw

    def build_supernet(self, mode: str, **kwargs):
        """``space.supernet(mode=mode, **kwargs)`` (kwargs from :meth:`supernet_kwargs`)."""
        return self.space.supernet(mode=mode, **kwargs)

    # ---- architectures ----------------------------------------------------------------
    def to_arch(self, genotype) -> Arch:
        """An Arch of this adapter's space from a derived genotype (or an Arch of the space)."""
        if isinstance(genotype, Arch):
            genotype = genotype.genotype
        return self.space.from_genotype(genotype)

    def cells(self, arch: Arch) -> Dict[str, Tuple[str, ...]]:
        """{cell type: op names of the cell's kept edges}."""
        if self.name == "darts":
            return {t: tuple(op for op, _ in arch.genotype[t]) for t in self.cell_types}
        return {"cell": tuple(arch.genotype)}

    def parameter_free(self, arch: Arch) -> Dict[str, int]:
        """Collapse watch: parameter-free ops per cell type and skip-connects in the normal cell.

        Keys: ``<cell type>`` (count of ops in ``PARAM_FREE[space]``) and ``skip`` (the
        skip_connect count of the normal cell, NB201: of its one cell).
        """
        free = PARAM_FREE[self.name]
        cells = self.cells(arch)
        out = {t: sum(op in free for op in ops) for t, ops in cells.items()}
        out["skip"] = sum(op == "skip_connect" for op in cells[self.cell_types[0]])
        return out
