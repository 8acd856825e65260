"""The DARTS cell space: a normal and a reduction cell, 4 nodes of 2 distinct inputs each.

Variables (24 categorical choices, every vector decodes to a valid genotype), per cell type
``t`` in (normal, reduce) and node ``j`` in 0..3:

- ``t_node{j}_inputs``: the input pair, one of the C(2+j, 2) pairs "i,k" (i < k) of states
  0..j+1, in ``itertools.combinations`` order (1, 3, 6, 10 options);
- ``t_node{j}_op_a``: the op on the smaller input; ``t_node{j}_op_b``: the op on the larger
  one; each among the 7 non-``none`` DARTS ops in DARTS order.

Genotype and key formats: see ``monas.search_spaces.darts.genotype``.
"""
from __future__ import annotations

import itertools
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from monas.arch import Arch
from monas.search_space import ArchError, CellLayout, Choice, SearchSpace
from monas.search_spaces.darts.genotype import (
    CELL_TYPES, GENOTYPE_OPS, NUM_NODES, canonical_genotype, genotype_to_key,
    key_to_genotype,
)

INPUT_PAIRS: Tuple[Tuple[Tuple[int, int], ...], ...] = tuple(
    tuple(itertools.combinations(range(n + 2), 2)) for n in range(NUM_NODES))
# Graph node features (columns of to_graph's feature matrix).
GRAPH_FEATURES: Tuple[str, ...] = ("input_c_k-2", "input_c_k-1", "output") + GENOTYPE_OPS + ("reduction_cell",)
CELL_GRAPH_NODES = 11  # c_{k-2}, c_{k-1}, 8 op nodes, output


class DartsSpace(SearchSpace):
    """DARTS CNN cell space (see module docstring).

    Constructor parameters are the defaults of ``build`` (``C`` 36, ``layers`` 20) and of
    ``supernet`` (``search_C`` 16, ``search_layers`` 8); ``num_classes`` and ``in_channels``
    serve both.
    """

    name = "darts"
    #: the supernet offers both protocols of search_spaces/README.md
    supernet_protocols = ("single_path", "mixture")
    #: the ``supernet`` keyword that sets its depth (cells)
    supernet_depth = "layers"
    #: a small network and supernet for the contract tests (monas.testing)
    contract_params = {"C": 4, "layers": 3, "search_C": 4, "search_layers": 3}
    ops = GENOTYPE_OPS

    def __init__(self, C: int = 36, layers: int = 20, num_classes: int = 10, in_channels: int = 3,
                 search_C: int = 16, search_layers: int = 8) -> None:
        self.C = C
        self.layers = layers
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.search_C = search_C
        self.search_layers = search_layers

    # ---- variables / encoding -----------------------------------------------------------
    def variables(self) -> List[Choice]:
        out = []
        for cell in CELL_TYPES:
            for n in range(NUM_NODES):
                out.append(Choice(f"{cell}_node{n}_inputs", tuple(f"{i},{k}" for i, k in INPUT_PAIRS[n])))
                out.append(Choice(f"{cell}_node{n}_op_a", GENOTYPE_OPS))
                out.append(Choice(f"{cell}_node{n}_op_b", GENOTYPE_OPS))
        return out

    def cardinalities(self) -> np.ndarray:
        per_cell = []
        for n in range(NUM_NODES):
            per_cell += [len(INPUT_PAIRS[n]), len(GENOTYPE_OPS), len(GENOTYPE_OPS)]
        return np.array(per_cell * len(CELL_TYPES), dtype=int)

    def decode(self, x: Sequence[int]) -> Arch:
        cards = self.cardinalities()
        try:
            x = [int(v) for v in x]
        except (TypeError, ValueError):
            raise ArchError(f"DARTS encoding {x!r}: expected {len(cards)} integer option indices") from None
        if len(x) != len(cards):
            raise ArchError(f"DARTS encoding has {len(x)} entries, expected {len(cards)} (see variables())")
        for i, (v, c) in enumerate(zip(x, cards)):
            if not 0 <= v < c:
                raise ArchError(f"DARTS encoding entry {i} ({self.variables()[i].name}) = {v}, "
                                f"accepted 0..{c - 1}")
        genotype = {}
        k = 0
        for cell in CELL_TYPES:
            pairs = []
            for n in range(NUM_NODES):
                i, j = INPUT_PAIRS[n][x[k]]
                pairs += [(GENOTYPE_OPS[x[k + 1]], i), (GENOTYPE_OPS[x[k + 2]], j)]
                k += 3
            genotype[cell] = pairs
        return self.make(genotype)

    def encode(self, arch: Arch) -> np.ndarray:
        genotype = canonical_genotype(arch.genotype)
        x = []
        for cell in CELL_TYPES:
            pairs = genotype[cell]
            for n in range(NUM_NODES):
                (op_a, i), (op_b, j) = pairs[2 * n], pairs[2 * n + 1]
                x += [INPUT_PAIRS[n].index((i, j)), GENOTYPE_OPS.index(op_a), GENOTYPE_OPS.index(op_b)]
        return np.array(x, dtype=int)

    # ---- construction -------------------------------------------------------------------
    def make(self, genotype: Any) -> Arch:
        """Arch of a genotype dict or DARTS Genotype (validated and made canonical)."""
        canonical = canonical_genotype(genotype)
        return Arch(self.name, genotype_to_key(canonical), canonical)

    def from_genotype(self, genotype: Any) -> Arch:
        if isinstance(genotype, str):
            return self.from_key(genotype)
        return self.make(genotype)

    def from_key(self, key: str) -> Arch:
        genotype = key_to_genotype(key)
        return Arch(self.name, genotype_to_key(genotype), genotype)

    # ---- graph --------------------------------------------------------------------------
    def mixture_layout(self) -> CellLayout:
        """Normal and reduction cells of 14 edges (node j reads the 2 inputs and the nodes before
        it), the 8 DARTS ops in column order, 2 in-edges kept per node, ``layers`` cells."""
        from monas.search_spaces.darts.genotype import NODE_SLICES, PRIMITIVES

        return CellLayout(cell_types=tuple(CELL_TYPES),
                          node_edges=tuple(tuple(range(s.start, s.stop)) for s in NODE_SLICES),
                          ops=tuple(PRIMITIVES), edges_per_node=2, depth_keyword=self.supernet_depth, search_depth=5,
                          param_free=("skip_connect", "max_pool_3x3", "avg_pool_3x3"),
                          op_sets=("darts", "sharp"), custom_ops=True)

    def with_op_set(self, arch: Arch, op_set: str) -> Arch:
        """``arch`` whose genotype names the op implementation ``op_set`` (one of the layout's
        ``op_sets``): built, priced and retrained with those ops; "darts" gives the plain cell."""
        genotype = dict(self.check(arch).genotype)
        genotype.pop("op_set", None)
        if op_set != "darts":
            genotype["op_set"] = op_set
        return self.make(genotype)

    def cell_ops(self, arch: Arch) -> dict:
        """{cell type: the ops of the cell's 8 kept edges}."""
        genotype = self.check(arch).genotype
        return {t: tuple(op for op, _ in genotype[t]) for t in CELL_TYPES}

    def to_graph(self, arch: Arch) -> Tuple[np.ndarray, np.ndarray]:
        """Op-edges as op-nodes; (adjacency (22, 22), features (22, 11)), both float32.

        Layout: nodes 0..10 are the normal cell, 11..21 the reduction cell; within a cell,
        0 = c_{k-2}, 1 = c_{k-1}, 2..9 = the 8 ops in canonical genotype order (node j's two
        ops at 2+2j and 3+2j), 10 = the output (concat of the 4 nodes). ``adj[src, dst] = 1``
        follows the data flow: an op reading input 0/1 has that input node as source, one
        reading intermediate node i has node i's two op nodes as sources; the output reads
        all 8 op nodes. No self-loops; the two cells are not connected (block diagonal).
        Features are one-hot over ``GRAPH_FEATURES`` = [c_{k-2}, c_{k-1}, output, 7 ops],
        plus a last column set to 1 on every node of the reduction cell.
        """
        genotype = self.check(arch).genotype
        n = CELL_GRAPH_NODES
        adj = np.zeros((2 * n, 2 * n), dtype=np.float32)
        feats = np.zeros((2 * n, len(GRAPH_FEATURES)), dtype=np.float32)
        for c, cell in enumerate(CELL_TYPES):
            base = c * n
            feats[base + 0, 0] = feats[base + 1, 1] = feats[base + 10, 2] = 1.0
            for e, (op, inp) in enumerate(genotype[cell]):
                node = base + 2 + e
                feats[node, 3 + GENOTYPE_OPS.index(op)] = 1.0
                sources = [base + inp] if inp < 2 else [base + 2 + 2 * (inp - 2), base + 3 + 2 * (inp - 2)]
                for s in sources:
                    adj[s, node] = 1.0
                adj[node, base + 10] = 1.0
            if cell == "reduce":
                feats[base:base + n, -1] = 1.0
        return adj, feats

    # ---- networks -----------------------------------------------------------------------
    def build(self, arch: Arch, C: Optional[int] = None, layers: Optional[int] = None,
              num_classes: Optional[int] = None, in_channels: Optional[int] = None,
              auxiliary: bool = False, drop_path_prob: float = 0.0, op_set: Optional[str] = None):
        """The evaluation network (``DartsNetwork``) of ``arch``; None takes the space default.
        ``op_set`` None builds the ops the genotype names (its ``op_set``, plain DARTS ops when it
        names none), so a sharpDARTS cell is built with the SharpSepConv it was searched with."""
        from monas.search_spaces.darts.network import DartsNetwork

        arch = self.check(arch)
        return DartsNetwork(
            genotype=arch.genotype,
            C=C or self.C,
            layers=layers or self.layers,
            num_classes=num_classes or self.num_classes,
            in_channels=in_channels or self.in_channels,
            auxiliary=auxiliary,
            drop_path_prob=drop_path_prob,
            op_set=op_set,
        )

    def supernet(self, mode: str = "mixture", C: Optional[int] = None, layers: Optional[int] = None,
                 num_classes: Optional[int] = None, in_channels: Optional[int] = None, **kwargs: Any):
        """``DartsSupernet`` (modes mixture, partial, gumbel, discrete; see its docstring)."""
        from monas.search_spaces.darts.supernet import DartsSupernet

        return DartsSupernet(
            mode=mode,
            C=C or self.search_C,
            layers=layers or self.search_layers,
            num_classes=num_classes or self.num_classes,
            in_channels=in_channels or self.in_channels,
            **kwargs,
        )

