"""The DARTS evaluation network (NetworkCIFAR of quark0/darts ``cnn/model.py``, re-implemented).

Stem 3x3 conv (in_channels -> 3C) + BN; ``layers`` cells with reductions (C doubles, stride 2)
at ``layers // 3`` and ``2 * layers // 3``; an optional auxiliary head on the output of cell
``2 * layers // 3``; global average pooling + linear. Any input size works (spatial sizes
halve with ceiling at reductions).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.search_spaces.darts.genotype import CONCAT, NUM_NODES, canonical_genotype, genotype_op_set
from monas.search_spaces.darts.operations import FactorizedReduce, Identity, ReLUConvBN, drop_path, make_op


def reduction_layers(layers: int) -> Tuple[int, int]:
    """Indices of the reduction cells of a ``layers``-cell network (DARTS rule)."""
    return layers // 3, 2 * layers // 3


class Cell(nn.Module):
    """One discrete cell: preprocess both inputs to C channels, 4 nodes of 2 ops, concat."""

    def __init__(self, pairs, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool, op_set: str = "darts") -> None:
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=True)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=True)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=True)
        self.indices = tuple(int(i) for _, i in pairs)
        self.ops = nn.ModuleList(
            make_op(name, C, 2 if reduction and i < 2 else 1, True, op_set) for name, i in pairs)
        self.multiplier = len(CONCAT)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for n in range(NUM_NODES):
            hs = []
            for e in (2 * n, 2 * n + 1):
                op = self.ops[e]
                h = op(states[self.indices[e]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in CONCAT], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS' CIFAR auxiliary head: ReLU, avg-pool 5/3, 1x1 conv 128, BN, ReLU, 2x2 conv 768,
    BN, ReLU, linear.

    [M] DARTS assumes an 8x8 input. For other sizes the 5x5 pool is skipped when the input is
    smaller than 5, and the map is adaptively average-pooled to 2x2 before the 2x2 conv; at
    8x8 this is exactly the DARTS head (same parameters at every size).
    """

    def __init__(self, C: int, num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        if min(x.shape[-2:]) >= 5:
            x = F.avg_pool2d(x, 5, stride=3, padding=0, count_include_pad=False)
        x = self.conv1(x)
        if tuple(x.shape[-2:]) != (2, 2):
            x = F.adaptive_avg_pool2d(x, 2)
        x = self.conv2(x)
        return self.classifier(x.flatten(1))


class DartsNetwork(nn.Module):
    """Discrete DARTS network of a genotype (see module docstring).

    ``forward(x)`` returns the logits; ``forward_with_aux(x)`` returns (logits, aux logits or
    None; aux only with ``auxiliary=True`` in training mode). ``drop_path_prob`` may be
    reassigned between epochs (DARTS ramps it linearly); drop-path is applied only in
    training, never to identity ops.
    """

    def __init__(self, genotype: Any, C: int = 36, layers: int = 20, num_classes: int = 10,
                 in_channels: int = 3, auxiliary: bool = False, drop_path_prob: float = 0.0,
                 op_set: Optional[str] = None) -> None:
        super().__init__()
        if layers < 1 or C < 1:
            raise ValueError(f"DartsNetwork needs layers >= 1 and C >= 1, got layers={layers}, C={C}")
        if C % 2:
            raise ValueError(f"DartsNetwork needs an even C (FactorizedReduce halves it), got C={C}")
        self.genotype = canonical_genotype(genotype)
        # the ops the genotype was searched with (genotype.genotype_op_set), unless given
        op_set = genotype_op_set(self.genotype) if op_set is None else op_set
        self.op_set = op_set
        self.layers = layers
        self.auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        self.reduction_layers = reduction_layers(layers)
        C_curr = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        self.aux_layer = 2 * layers // 3
        C_aux = None
        reduction_prev = False
        for i in range(layers):
            reduction = i in self.reduction_layers
            if reduction:
                C_curr *= 2
            cell = Cell(self.genotype["reduce" if reduction else "normal"], C_prev_prev, C_prev, C_curr,
                        reduction, reduction_prev, op_set)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if i == self.aux_layer:
                C_aux = C_prev
        self.auxiliary_head = AuxiliaryHead(C_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward_with_aux(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        logits_aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_layer and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, logits_aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]
