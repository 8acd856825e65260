"""DartsSupernet: the weight-sharing DARTS network (quark0/darts ``cnn/model_search.py`` and
PC-DARTS ``model_search.py``, re-implemented) under the monas supernet contract.

Per cell type 14 mixed edges in the order of ``genotype.EDGES`` (node 0 <- inputs 0,1;
node 1 <- 0,1,2; node 2 <- 0..3; node 3 <- 0..4). ``forward(x, weights, edge_weights=None)``:

- ``weights`` {"normal": (14, O), "reduce": (14, O)}: edge output = sum_o w_o * o(x) over the
  ops whose weight is non-zero in value; ops with weight exactly 0 are not run, their weight
  is still added (a zero in value) so a straight-through estimator keeps its gradient (GDAS).
- ``edge_weights`` {"normal": (14,), "reduce": (14,)} (optional): multiplies each edge output
  (PC-DARTS edge normalisation passes ``node_softmax(beta)``; ROME passes straight-through
  top-2 masks); edges with edge weight exactly 0 are not run (their weight is added likewise).

Partial channels (PC-DARTS, ``partial_channels=K > 1``): the ops see the first C/K channels
of the edge input; the other channels pass through (2x2 max-pooled, ceil mode, on stride-2
edges); the two parts are concatenated and channel-shuffled with K groups. BN inside ops is
affine=False; pools are followed by BN(affine=False), as in DARTS' search network; the stem
BN is affine, as in DARTS.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.arch import Arch
from monas.search_space import ArchError
from monas.search_spaces.darts.genotype import (
    CELL_TYPES, EDGES, NODE_SLICES, NUM_NODES, PRIMITIVES, canonical_genotype, derive_cell, edge_index,
)
from monas.search_spaces.darts.network import reduction_layers
from monas.search_spaces.darts.operations import OP_SETS, FactorizedReduce, ReLUConvBN, make_op

MODES: Tuple[str, ...] = ("mixture", "partial", "gumbel", "discrete")
DEFAULT_PARTIAL_CHANNELS = {"mixture": 1, "partial": 4, "gumbel": 1, "discrete": 1}
NUM_EDGES = len(EDGES)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """View channels as (groups, C/groups), transpose, flatten (a fixed permutation)."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def node_softmax(beta: torch.Tensor) -> torch.Tensor:
    """PC-DARTS edge normalisation: softmax of (14,) edge logits within each node's in-edges."""
    return torch.cat([F.softmax(beta[..., s], dim=-1) for s in NODE_SLICES], dim=-1)


class MixedEdge(nn.Module):
    """One edge: every candidate op on C/K channels, weighted sum of the active ones."""

    def __init__(self, C: int, stride: int, ops: Sequence[str], op_set: str, partial_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.k = partial_channels
        self.c_op = C // partial_channels
        self.ops = nn.ModuleList()
        for name in ops:
            op = make_op(name, self.c_op, stride, False, op_set)
            if "pool" in name:
                op = nn.Sequential(op, nn.BatchNorm2d(self.c_op, affine=False))
            self.ops.append(op)
        self.pass_pool = nn.MaxPool2d(2, 2, ceil_mode=True) if partial_channels > 1 and stride == 2 else None

    def forward(self, x: torch.Tensor, w: torch.Tensor, active: Sequence[bool]) -> torch.Tensor:
        xa = x[:, : self.c_op] if self.k > 1 else x
        out = None
        for o, op in enumerate(self.ops):
            if active[o]:
                y = w[o] * op(xa)
                out = y if out is None else out + y
        if out is None:
            h, wd = -(-x.size(2) // self.stride), -(-x.size(3) // self.stride)
            out = x.new_zeros(x.size(0), self.c_op, h, wd)
        if w.requires_grad and not all(active):
            out = out + w[[o for o, a in enumerate(active) if not a]].sum()
        if self.k == 1:
            return out
        rest = x[:, self.c_op:]
        if self.pass_pool is not None:
            rest = self.pass_pool(rest)
        return channel_shuffle(torch.cat([out, rest], dim=1), self.k)


class SearchCell(nn.Module):
    """A supernet cell: preprocess the two inputs to C channels, 4 nodes over 14 mixed edges."""

    def __init__(self, C_prev_prev: int, C_prev: int, C: int, reduction: bool, reduction_prev: bool,
                 ops: Sequence[str], op_set: str, partial_channels: int) -> None:
        super().__init__()
        self.reduction = reduction
        self.C = C
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(
            MixedEdge(C, 2 if reduction and inp < 2 else 1, ops, op_set, partial_channels) for _, inp in EDGES)
        self.multiplier = NUM_NODES

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, w: torch.Tensor, active: List[List[bool]],
                ew: Optional[torch.Tensor], edge_active: Optional[List[bool]]) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for n in range(NUM_NODES):
            acc = None
            skipped = []
            for inp, h in enumerate(states):
                e = edge_index(n, inp)
                if edge_active is not None and not edge_active[e]:
                    skipped.append(e)
                    continue
                y = self.edges[e](h, w[e], active[e])
                if ew is not None:
                    y = ew[e] * y
                acc = y if acc is None else acc + y
            if acc is None:
                h, wd = states[1].shape[-2:]
                if self.reduction:
                    h, wd = -(-h // 2), -(-wd // 2)
                acc = states[1].new_zeros(states[1].size(0), self.C, h, wd)
            if skipped and ew is not None and ew.requires_grad:
                acc = acc + ew[skipped].sum()
            states.append(acc)
        return torch.cat(states[2:], dim=1)


class DartsSupernet(nn.Module):
    """The DARTS weight-sharing network; parameters are the shared weights only.

    Parameters: ``mode`` (mixture | partial | gumbel | discrete: sets ``partial_channels`` to
    4 for partial, else 1, unless given), ``C`` (16), ``layers`` (8; reductions at layers//3 and
    2*layers//3), ``num_classes``, ``in_channels``, ``ops`` (op names in column order, default
    the 8 DARTS primitives; "sharp" = the 8 names with ``op_set="sharp"``), ``op_set`` ("darts"
    or "sharp": sep/dil convs as SharpSepConv), ``partial_channels`` (K), ``stem_multiplier`` (3).
    """

    def __init__(self, mode: str = "mixture", C: int = 16, layers: int = 8, num_classes: int = 10,
                 in_channels: int = 3, ops: Union[None, str, Sequence[str]] = None, op_set: str = "darts",
                 partial_channels: Optional[int] = None, stem_multiplier: int = 3) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown DARTS supernet mode {mode!r}; accepted: {', '.join(MODES)}")
        if isinstance(ops, str):
            if ops not in OP_SETS:
                raise ValueError(f"ops={ops!r}: give a list of op names or an op set ({', '.join(OP_SETS)})")
            op_set, ops = ops, None
        if op_set not in OP_SETS:
            raise ValueError(f"unknown op_set {op_set!r}; accepted: {', '.join(OP_SETS)}")
        ops = tuple(PRIMITIVES if ops is None else ops)
        if not ops or len(set(ops)) != len(ops):
            raise ValueError(f"ops must be a non-empty list of distinct op names, got {list(ops)}")
        K = DEFAULT_PARTIAL_CHANNELS[mode] if partial_channels is None else int(partial_channels)
        if K < 1 or C % K or C % 2 or ("skip_connect" in ops and (C // K) % 2):
            raise ValueError(f"partial_channels={K} with C={C}: need C even, K >= 1 dividing C, and C/K "
                             f"even when skip_connect is an op (FactorizedReduce halves it)")
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.mode = mode
        self.C = C
        self.layers = layers
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.ops = ops
        self.op_set = op_set
        self.partial_channels = K
        self.reduction_layers = reduction_layers(layers)
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in self.reduction_layers
            if reduction:
                C_curr *= 2
            cell = SearchCell(C_prev_prev, C_prev, C_curr, reduction, reduction_prev, ops, op_set, K)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    # ---- architecture parameters (created outside the module) ---------------------------
    def arch_shapes(self) -> Dict[str, Tuple[int, int]]:
        return {t: (NUM_EDGES, len(self.ops)) for t in CELL_TYPES}

    def _device(self) -> torch.device:
        return self.classifier.weight.device

    def new_arch_parameters(self, std: float = 1e-3, seed: int = 0) -> Dict[str, nn.Parameter]:
        """Op logits alpha {cell type: (14, O)} ~ std * N(0, 1), seeded, on the net's device."""
        g = torch.Generator().manual_seed(seed)
        return {t: nn.Parameter((std * torch.randn(*shape, generator=g)).to(self._device()))
                for t, shape in self.arch_shapes().items()}

    def new_edge_parameters(self, std: float = 1e-3, seed: int = 0) -> Dict[str, nn.Parameter]:
        """Edge logits beta {cell type: (14,)} ~ std * N(0, 1) (PC-DARTS, ROME), seeded."""
        g = torch.Generator().manual_seed(seed)
        return {t: nn.Parameter((std * torch.randn(NUM_EDGES, generator=g)).to(self._device()))
                for t in CELL_TYPES}

    def arch_to_weights(self, arch: Any, device: Optional[torch.device] = None
                        ) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """(one-hot op weights, 0/1 edge masks) of a discrete Arch or genotype: the 8 chosen
        edges of each cell get weight 1 on their op; the other 6 edges get all-zero rows."""
        genotype = canonical_genotype(arch.genotype if isinstance(arch, Arch) else arch)
        device = device or self._device()
        weights, edges = {}, {}
        for t in CELL_TYPES:
            w = torch.zeros(NUM_EDGES, len(self.ops))
            m = torch.zeros(NUM_EDGES)
            for k, (op, inp) in enumerate(genotype[t]):
                if op not in self.ops:
                    raise ArchError(f"{t} node {k // 2} uses op {op!r}, which this supernet does not "
                                    f"have; its ops: {', '.join(self.ops)}")
                e = edge_index(k // 2, inp)
                w[e, self.ops.index(op)] = 1.0
                m[e] = 1.0
            weights[t], edges[t] = w.to(device), m.to(device)
        return weights, edges

    def derive_genotype(self, weights: Dict[str, Any], edge_scores: Optional[Dict[str, Any]] = None) -> Arch:
        """The DARTS derivation (``genotype.derive_cell``) on per-edge op weights (e.g.
        softmax(alpha)), optionally times per-edge scores (e.g. node_softmax(beta))."""
        from monas.search_spaces.darts.space import DartsSpace

        genotype = {}
        for t in CELL_TYPES:
            w = _to_numpy(weights[t])
            s = None if edge_scores is None else _to_numpy(edge_scores[t])
            genotype[t] = derive_cell(w, self.ops, s)
        return DartsSpace().make(genotype)

    # ---- forward ------------------------------------------------------------------------
    def _check(self, weights: Dict[str, torch.Tensor], edge_weights: Optional[Dict[str, torch.Tensor]]) -> None:
        for t, shape in self.arch_shapes().items():
            if t not in weights or tuple(weights[t].shape) != shape:
                got = tuple(weights[t].shape) if t in weights else "missing"
                raise ValueError(f"weights[{t!r}]: expected shape {shape} (edges, ops {list(self.ops)}), got {got}")
            if edge_weights is not None and (t not in edge_weights or tuple(edge_weights[t].shape) != (NUM_EDGES,)):
                got = tuple(edge_weights[t].shape) if t in edge_weights else "missing"
                raise ValueError(f"edge_weights[{t!r}]: expected shape ({NUM_EDGES},), got {got}")

    def forward(self, x: torch.Tensor, weights: Dict[str, torch.Tensor],
                edge_weights: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        self._check(weights, edge_weights)
        # One host sync per cell type decides which ops and edges run.
        active = {t: (weights[t] != 0).detach().cpu().tolist() for t in CELL_TYPES}
        edge_active = ({t: (edge_weights[t] != 0).detach().cpu().tolist() for t in CELL_TYPES}
                       if edge_weights is not None else None)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            t = "reduce" if cell.reduction else "normal"
            ew = edge_weights[t] if edge_weights is not None else None
            ea = edge_active[t] if edge_active is not None else None
            s0, s1 = s1, cell(s0, s1, weights[t], active[t], ew, ea)
        return self.classifier(self.global_pooling(s1).flatten(1))


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
