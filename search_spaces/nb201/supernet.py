"""The NAS-Bench-201 weight-sharing supernet (AutoDL ``TinyNetworkDarts`` / ``TinyNetworkGDAS``).

One set of shared weights: the macro skeleton of :class:`NB201Network` (stem, 3 stages of N
cells, ResNet reduction blocks, BN-ReLU, GAP, linear) whose cells hold, on each of the 6
edges, all 5 ops. All cells share one architecture weight tensor {"cell": (6, 5)}
(NB201 convention). The edge output is ``sum_o w_o * o(x)``; the caller turns alphas into
weights with ``monas.arch_weights`` (softmax, Gumbel straight-through, one-hot).

Choices [M]:
- Search-cell BN is ``affine=False`` as in AutoDL's ``NAS201SearchCell`` (so, following AutoDL's
  ReLUConvBN, those convs keep a bias); ``track_running_stats=True`` by default (AutoDL's
  ``--track_running_stats 1``), configurable. Stem, reduction blocks and the last BN are
  affine, as in AutoDL's search networks.
- Ops whose weight is exactly 0 in value are not run; their weight is still added to the edge
  output (a scalar, 0 in value) so a straight-through estimator keeps its gradient (GDAS).
  Edges with edge weight exactly 0 are skipped the same way.
- ``partial`` (PC-DARTS): each edge's ops are built for C/K channels; the edge applies them to
  the first C/K channels, concatenates the untouched rest, and shuffles channels in K groups.
  NB201 cells never change resolution, so the bypass needs no pooling. ``edge_weights``
  multiply whole edge outputs (edge normalisation: the caller supplies the per-node softmax).
- The mode sets defaults (``partial_channels`` 4 for "partial", else 1) and ``net.mode``;
  "mixture", "gumbel" and "discrete" share the same forward, which the weights drive.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from monas.arch import Arch
from monas.search_spaces.nb201.operations import ResNetBasicBlock, make_op
from monas.search_spaces.nb201.space import EDGES, OPS, _check_ops, str_to_genotype

MODES: Tuple[str, ...] = ("mixture", "partial", "gumbel", "discrete")
CELL = "cell"


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """View channels as (groups, C/groups), swap the two axes, flatten (PC-DARTS shuffle)."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class MixedEdge(nn.Module):
    """All NB201 ops on one edge; with ``partial_channels`` K > 1 the ops see C/K channels."""

    def __init__(self, C: int, ops: Sequence[str], partial_channels: int, affine: bool,
                 track_running_stats: bool) -> None:
        super().__init__()
        self.K = partial_channels
        self.C_op = C // partial_channels
        self.ops = nn.ModuleList(make_op(name, self.C_op, self.C_op, 1, affine, track_running_stats)
                                 for name in ops)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: Sequence[bool]) -> torch.Tensor:
        """``sum_o weights[o] * op_o(x)`` over the ops with ``active[o]``; the others add their weight."""
        xa = x[:, : self.C_op] if self.K > 1 else x
        out = None
        for o, op in enumerate(self.ops):
            term = weights[o] * op(xa) if active[o] else weights[o]
            out = term if out is None else out + term
        if not any(active):  # no op ran: the weights alone (0 in value) on a zero map
            out = torch.zeros_like(xa) + out
        if self.K > 1:
            out = channel_shuffle(torch.cat([out, x[:, self.C_op:]], dim=1), self.K)
        return out


class SearchCell(nn.Module):
    """NB201 search cell: node i = sum_{j<i} edge_weight_{i<-j} * MixedEdge_{i<-j}(node j)."""

    def __init__(self, C: int, ops: Sequence[str], partial_channels: int, affine: bool,
                 track_running_stats: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(C, ops, partial_channels, affine, track_running_stats)
                                   for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: List[List[bool]],
                edge_weights: Optional[torch.Tensor], edge_active: List[bool]) -> torch.Tensor:
        nodes: List[Optional[torch.Tensor]] = [x, None, None, None]
        pending: List[Optional[torch.Tensor]] = [None] * 4  # skipped edges' weights, per node
        for e, ((i, j), edge) in enumerate(zip(EDGES, self.edges)):
            if not edge_active[e]:
                pending[i] = edge_weights[e] if pending[i] is None else pending[i] + edge_weights[e]
                continue
            out = edge(nodes[j] if nodes[j] is not None else torch.zeros_like(x), weights[e], active[e])
            if edge_weights is not None:
                out = edge_weights[e] * out
            nodes[i] = out if nodes[i] is None else nodes[i] + out
        for i in (1, 2, 3):
            if pending[i] is not None:
                base = nodes[i] if nodes[i] is not None else torch.zeros_like(x)
                nodes[i] = base + pending[i]
        return nodes[3] if nodes[3] is not None else torch.zeros_like(x)


class NB201Supernet(nn.Module):
    """Weight-sharing NB201 network; architecture weights come in through ``forward``.

    Parameters: ``mode`` (one of "mixture", "partial", "gumbel", "discrete"), ``C`` (16),
    ``N`` cells per stage (5), ``num_classes`` (10), ``in_channels`` (3), ``partial_channels``
    (K; None = 4 for "partial", 1 otherwise; C must be divisible by K), ``affine`` (False) and
    ``track_running_stats`` (True) for the search-cell BNs. The module's parameters are the
    shared weights only; alphas come from :meth:`new_arch_parameters`.
    """

    def __init__(self, mode: str = "mixture", C: int = 16, N: int = 5, num_classes: int = 10,
                 in_channels: int = 3, partial_channels: Optional[int] = None, affine: bool = False,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"NB201Supernet mode {mode!r}; accepted: {', '.join(MODES)}")
        for name, value in (("C", C), ("N", N), ("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"NB201Supernet: {name} must be a positive int, got {value!r}")
        K = (4 if mode == "partial" else 1) if partial_channels is None else partial_channels
        if not isinstance(K, int) or K < 1 or C % K != 0:
            raise ValueError(f"NB201Supernet: partial_channels must be a positive int dividing C={C}, got {K!r}")
        self.mode, self.C, self.N, self.num_classes, self.in_channels = mode, C, N, num_classes, in_channels
        self.partial_channels, self.affine, self.track_running_stats = K, affine, track_running_stats
        self.ops: List[str] = list(OPS)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers = []
        C_prev = C
        for stage, C_curr in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetBasicBlock(C_prev, C_curr, stride=2))
            layers.extend(SearchCell(C_curr, self.ops, K, affine, track_running_stats) for _ in range(N))
            C_prev = C_curr
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    # ---- architecture side (kept outside the module's parameters) ----
    def arch_shapes(self) -> Dict[str, Tuple[int, int]]:
        """{"cell": (6, 5)}: one weight per (edge, op), shared by every cell."""
        return {CELL: (len(EDGES), len(self.ops))}

    def new_arch_parameters(self, std: float = 1e-3, seed: int = 0) -> Dict[str, nn.Parameter]:
        """Fresh alphas ``std * N(0, 1)`` (seeded), on the module's device, NOT registered on it."""
        gen = torch.Generator().manual_seed(seed)
        device = self.classifier.weight.device
        return {ct: nn.Parameter((std * torch.randn(*shape, generator=gen)).to(device))
                for ct, shape in self.arch_shapes().items()}

    def arch_to_weights(self, arch) -> Tuple[Dict[str, torch.Tensor], None]:
        """One-hot weights of a discrete cell (an Arch, 6 op names or an NB201 string); no edge weights."""
        if isinstance(arch, Arch):
            if arch.space != "nb201":
                raise ValueError(f"NB201Supernet.arch_to_weights got an Arch of space {arch.space!r}; accepted: 'nb201'")
            genotype = _check_ops(arch.genotype)
        elif isinstance(arch, str):
            genotype = str_to_genotype(arch)
        else:
            genotype = _check_ops(arch)
        idx = torch.tensor([self.ops.index(op) for op in genotype], device=self.classifier.weight.device)
        return {CELL: nn.functional.one_hot(idx, len(self.ops)).float()}, None

    def derive_genotype(self, alphas: Dict[str, torch.Tensor]) -> Tuple[str, ...]:
        """NB201 derivation: the argmax op of each edge (``none`` is legal)."""
        w = self._check(alphas, (len(EDGES), len(self.ops)), "alphas")
        return tuple(self.ops[i] for i in w.argmax(dim=-1).tolist())

    # ---- forward ----
    def _check(self, weights, shape, what) -> torch.Tensor:
        if not isinstance(weights, dict) or CELL not in weights:
            got = sorted(weights) if isinstance(weights, dict) else type(weights).__name__
            raise ValueError(f"NB201Supernet {what} must be a dict with key 'cell', got {got}")
        w = weights[CELL]
        if tuple(w.shape) != shape:
            raise ValueError(f"NB201Supernet {what}['cell'] must have shape {shape}, got {tuple(w.shape)}")
        return w

    def forward(self, x: torch.Tensor, weights: Dict[str, torch.Tensor],
                edge_weights: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """Logits of the supernet driven by ``weights`` {"cell": (6, 5)} and optional
        ``edge_weights`` {"cell": (6,)}; zero weights skip ops / edges (module docstring)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"NB201Supernet expects input (batch, {self.in_channels}, H, W), "
                             f"got shape {tuple(x.shape)}")
        w = self._check(weights, (len(EDGES), len(self.ops)), "weights").to(x.dtype)
        active = (w != 0).tolist()  # one host sync per forward, not per op
        ew = None
        edge_active = [True] * len(EDGES)
        if edge_weights is not None:
            ew = self._check(edge_weights, (len(EDGES),), "edge_weights").to(x.dtype)
            edge_active = (ew != 0).tolist()
        out = self.stem(x)
        for layer in self.cells:
            out = layer(out, w, active, ew, edge_active) if isinstance(layer, SearchCell) else layer(out)
        out = self.global_pooling(self.lastact(out)).flatten(1)
        return self.classifier(out)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, C={self.C}, N={self.N}, partial_channels={self.partial_channels}"
