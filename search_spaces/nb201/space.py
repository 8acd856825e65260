"""The NAS-Bench-201 cell space: 6 edges, 5 ops each, 15,625 cells.

Genotype: a tuple of 6 op names in edge order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), the order of
the NB201 string and of the benchmark table's ``op_i_j`` columns. Key: the canonical NB201
string, e.g. ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|...|``.
"""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from monas.arch import Arch
from monas.search_space import ArchError, CellLayout, Choice, SearchSpace

OPS: Tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: Tuple[Tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
EDGE_COLUMNS: Tuple[str, ...] = tuple(f"op_{i}_{j}" for i, j in EDGES)


def genotype_to_str(ops: Sequence[str]) -> str:
    nodes, k = [], 0
    for i in (1, 2, 3):
        parts = []
        for j in range(i):
            parts.append(f"{ops[k]}~{j}")
            k += 1
        nodes.append("|" + "|".join(parts) + "|")
    return "+".join(nodes)


def str_to_genotype(text: str) -> Tuple[str, ...]:
    nodes = str(text).strip().split("+")
    if len(nodes) != 3:
        raise ArchError(f"NB201 string {text!r}: expected 3 nodes joined by '+', got {len(nodes)}")
    ops: List[str] = []
    for i, node in enumerate(nodes, start=1):
        parts = [p for p in node.strip("|").split("|") if p]
        if len(parts) != i:
            raise ArchError(f"NB201 string {text!r}: node {i} needs {i} inputs, got {len(parts)}")
        for j, part in enumerate(parts):
            op, _, src = part.partition("~")
            if src != str(j):
                raise ArchError(f"NB201 string {text!r}: node {i} input {j} reads '~{src}'")
            ops.append(op)
    return _check_ops(ops)


def without_dead_ops(ops: Sequence[str]) -> Tuple[str, ...]:
    """The genotype with ``none`` on every edge whose output never reaches the cell output.

    Node j's value feeds node 3 only through edges that are not ``none``; an op on an edge into a
    node that does not feed node 3 is computed and counted (params, FLOPs, latency) but cannot
    change the cell's output, so the two genotypes compute the same function. Example:
    ``(nor_conv_3x3, none, none, skip_connect, none, none)`` becomes
    ``(none, none, none, skip_connect, none, none)`` (node 1 feeds nothing).
    """
    ops = list(_check_ops(ops))
    feeds = {3: True}
    feeds[2] = ops[5] != "none"
    feeds[1] = ops[4] != "none" or (ops[2] != "none" and feeds[2])
    for k, (dst, _src) in enumerate(EDGES):
        if not feeds[dst]:
            ops[k] = "none"
    return tuple(ops)


def _check_ops(ops: Sequence[Any]) -> Tuple[str, ...]:
    ops = tuple(ops)
    if len(ops) != 6:
        raise ArchError(f"NB201 genotype needs 6 ops (edges {', '.join(EDGE_COLUMNS)}), got {len(ops)}")
    for op in ops:
        if op not in OPS:
            raise ArchError(f"NB201 op {op!r} is not in the space; accepted: {', '.join(OPS)}")
    return ops


class NB201Space(SearchSpace):
    """NAS-Bench-201 topology space (see module docstring).

    Parameters: ``C`` (initial channels, 16), ``N`` (cells per stage, 5), ``num_classes`` (10)
    and ``input_size`` (32) are the defaults of ``build`` and ``supernet``.
    """

    name = "nb201"
    #: the supernet offers both protocols of search_spaces/README.md
    supernet_protocols = ("single_path", "mixture")
    #: the ``supernet`` keyword that sets its depth (cells per stage)
    supernet_depth = "N"
    #: a small network and supernet for the contract tests (monas.testing)
    contract_params = {"C": 4, "N": 1}
    ops = OPS
    edges = EDGES

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, input_size: int = 32) -> None:
        self.C = C
        self.N = N
        self.num_classes = num_classes
        self.input_size = input_size

    def variables(self) -> List[Choice]:
        return [Choice(col, OPS) for col in EDGE_COLUMNS]

    def cardinalities(self) -> np.ndarray:
        return np.full(6, len(OPS), dtype=int)

    def make(self, ops: Sequence[str]) -> Arch:
        ops = _check_ops(ops)
        return Arch(self.name, genotype_to_str(ops), ops)

    def decode(self, x: Sequence[int]) -> Arch:
        x = [int(v) for v in x]
        if len(x) != 6 or any(not 0 <= v < len(OPS) for v in x):
            raise ArchError(f"NB201 encoding {x}: expected 6 indices in [0, {len(OPS) - 1}]")
        return self.make([OPS[v] for v in x])

    def encode(self, arch: Arch) -> np.ndarray:
        return np.array([OPS.index(op) for op in arch.genotype], dtype=int)

    def from_genotype(self, genotype: Any) -> Arch:
        if isinstance(genotype, str):
            return self.from_key(genotype)
        return self.make(genotype)

    def from_key(self, key: str) -> Arch:
        return self.make(str_to_genotype(key))

    def mixture_layout(self) -> CellLayout:
        """One cell type of 6 edges (node i reads every earlier node), the 5 ops, every edge kept."""
        groups: dict = {}
        for e, (i, _) in enumerate(EDGES):
            groups.setdefault(i, []).append(e)
        return CellLayout(cell_types=("cell",), node_edges=tuple(tuple(groups[i]) for i in sorted(groups)),
                          ops=tuple(OPS), edges_per_node=None, depth_keyword=self.supernet_depth, search_depth=1,
                          param_free=("skip_connect", "avg_pool_3x3", "none"))

    def cell_ops(self, arch: Arch) -> dict:
        """{cell type: the ops of the cell} (one cell type)."""
        return {"cell": tuple(self.check(arch).genotype)}

    def simplify(self, arch: Arch) -> Arch:
        """The same function without dead ops: ``none`` on every edge whose output never reaches
        the cell output (:func:`without_dead_ops`)."""
        return self.make(without_dead_ops(self.check(arch).genotype))

    def index(self, arch: Arch) -> int:
        """Position in the 5^6 enumeration (first edge most significant); not the NB201 index."""
        return int(np.ravel_multi_index(tuple(self.encode(arch)), (len(OPS),) * 6))

    def all(self) -> List[Arch]:
        """Every cell of the space, 15,625 in all."""
        grid = np.stack(np.unravel_index(np.arange(len(OPS) ** 6), (len(OPS),) * 6), axis=1)
        return [self.decode(row) for row in grid]

    def to_graph(self, arch: Arch) -> Tuple[np.ndarray, np.ndarray]:
        """Ops as nodes: input, the 6 op nodes, output; adjacency follows the data flow.

        Node features are one-hot over [input, output, *OPS]. An op node on edge i<-j reads the
        op nodes feeding node j (or the input when j = 0); the output reads the ops into node 3.
        """
        n = 8
        adj = np.zeros((n, n), dtype=np.float32)
        feats = np.zeros((n, 2 + len(OPS)), dtype=np.float32)
        feats[0, 0] = 1.0
        feats[7, 1] = 1.0
        into = {0: [0], 1: [], 2: [], 3: []}
        for k, ((i, j), op) in enumerate(zip(EDGES, arch.genotype)):
            into[i].append(k + 1)
        for k, ((i, j), op) in enumerate(zip(EDGES, arch.genotype)):
            feats[k + 1, 2 + OPS.index(op)] = 1.0
            for src in into[j]:
                adj[src, k + 1] = 1.0
        for src in into[3]:
            adj[src, 7] = 1.0
        return adj, feats

    def build(self, arch: Arch, C: int = None, N: int = None, num_classes: int = None, **kwargs):
        from monas.search_spaces.nb201.network import NB201Network

        arch = self.check(arch)
        return NB201Network(
            arch.genotype,
            C=C or self.C,
            N=N or self.N,
            num_classes=num_classes or self.num_classes,
            **kwargs,
        )

    def supernet(self, mode: str = "mixture", C: int = None, N: int = None, num_classes: int = None, **kwargs):
        from monas.search_spaces.nb201.supernet import NB201Supernet

        return NB201Supernet(
            mode=mode,
            C=C or self.C,
            N=N or self.N,
            num_classes=num_classes or self.num_classes,
            **kwargs,
        )
