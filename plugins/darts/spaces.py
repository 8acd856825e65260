"""What the DARTS-family plugins need to know about a cell space, from what the space offers.

A :class:`SpaceAdapter` reads the space's :class:`monas.search_space.CellLayout`
(``space.mixture_layout()``, part of the ``supernet.mixture`` capability) and never its name:

- how to build the space's supernet at the search size (``C`` and the depth under the layout's
  ``depth_keyword``) for the data's channels and classes;
- which edges enter each intermediate node (``node_edges``), for per-node softmaxes and
  Gumbel-Top2 edge sampling;
- whether the derivation keeps ``edges_per_node`` in-edges per node (DARTS 2) or every edge
  (NB201, where an edge may hold ``none``);
- how a derived cell turns into an ``Arch`` of the space (``space.from_genotype``), and how many
  parameter-free ops a cell holds (the collapse watch, ``space.cell_ops``).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

from monas.arch import Arch
from monas.capabilities import CAPABILITIES, CapabilityError


class SpaceAdapter:
    """Space-specific parts of a DARTS-family search (see module docstring).

    A space without ``mixture_layout()`` raises :class:`monas.capabilities.CapabilityError`
    naming the ``supernet.mixture`` capability (the engine refuses such a space before any work).
    """

    def __init__(self, space) -> None:
        layout = getattr(space, "mixture_layout", None)
        if not callable(layout) or not callable(getattr(space, "cell_ops", None)):
            raise CapabilityError(f"DARTS-family plugins need the capability 'supernet.mixture' "
                                  f"({CAPABILITIES['supernet.mixture']}); space {getattr(space, 'name', space)!r} "
                                  "does not offer it")
        self.space = space
        self.name = space.name
        self.layout = layout()
        self.cell_types: Tuple[str, ...] = tuple(self.layout.cell_types)
        self.node_edges: Tuple[Tuple[int, ...], ...] = tuple(tuple(e) for e in self.layout.node_edges)
        self.all_ops: Tuple[str, ...] = tuple(self.layout.ops)
        self.edges_per_node: Optional[int] = self.layout.edges_per_node
        self.op_sets: Tuple[str, ...] = tuple(self.layout.op_sets)
        self.num_edges = sum(len(g) for g in self.node_edges)

    # ---- supernet ---------------------------------------------------------------------
    def supernet_kwargs(self, C: int, layers: Optional[int], in_channels: int, num_classes: int,
                        ops: Optional[Sequence[str]] = None, op_set: str = "darts",
                        partial_channels: Optional[int] = None) -> Dict:
        """Keyword arguments of ``space.supernet`` (without ``mode``) for this search.

        ``layers`` None takes the layout's small default (DARTS 5 cells, NB201 1 cell per stage).
        ``ops`` (a subset of the op columns) needs a layout with ``custom_ops``; ``op_set`` one of
        the layout's ``op_sets``.
        """
        layers = self.layout.search_depth if layers is None else int(layers)
        kw: Dict = {"C": int(C), "in_channels": int(in_channels), "num_classes": int(num_classes),
                    self.layout.depth_keyword: layers}
        if partial_channels is not None:
            kw["partial_channels"] = int(partial_channels)
        if ops is not None and tuple(ops) != self.all_ops:
            if not self.layout.custom_ops:
                raise ValueError(f"the {self.name!r} supernet has the fixed ops {list(self.all_ops)}; got {list(ops)}")
            kw["ops"] = list(ops)
        elif ops is not None and self.layout.custom_ops:
            kw["ops"] = list(ops)
        if op_set != "darts":
            if op_set not in self.op_sets:
                raise ValueError(f"op_set={op_set!r} does not exist in the {self.name!r} space; accepted: "
                                 f"{', '.join(self.op_sets)}")
            kw["op_set"] = op_set
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
        return dict(self.space.cell_ops(arch))

    def parameter_free(self, arch: Arch) -> Dict[str, int]:
        """Collapse watch: parameter-free ops per cell type and skip-connects in the normal cell.

        Keys: ``<cell type>`` (count of the layout's ``param_free`` ops) and ``skip`` (the
        skip_connect count of the first cell type: DARTS normal, NB201 its one cell).
        """
        free = self.layout.param_free
        cells = self.cells(arch)
        out = {t: sum(op in free for op in ops) for t, ops in cells.items()}
        out["skip"] = sum(op == "skip_connect" for op in cells[self.cell_types[0]])
        return out
