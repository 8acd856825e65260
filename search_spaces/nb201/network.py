"""The discrete NAS-Bench-201 network of one cell genotype (AutoDL ``TinyNetwork``/``InferCell``).

Macro skeleton: stem (3x3 conv, no bias, + BN) -> N cells at C -> ResNet basic block (stride 2)
to 2C -> N cells -> basic block to 4C -> N cells -> BN -> ReLU -> global average pool -> linear.
Every cell runs the same genotype; all BNs are affine, all convs bias-free, the classifier has
a bias. With these choices ``sum(p.numel())`` over all parameters equals the benchmark's
``c10_params_M`` (which counts BN affine parameters and the classifier).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn as nn

from monas.search_spaces.nb201.operations import ResNetBasicBlock, make_op
from monas.search_spaces.nb201.space import EDGES, _check_ops


class NB201Cell(nn.Module):
    """One NB201 cell: node 0 = input, node i = sum over j < i of op_{i<-j}(node j), out = node 3.

    Every edge of the genotype is built and run, ``none`` included (it outputs zeros), exactly
    as AutoDL's ``InferCell``, so FLOP counts follow the benchmark's convention.
    """

    def __init__(self, genotype: Sequence[str], C: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.genotype = _check_ops(genotype)
        self.edges = nn.ModuleList(make_op(op, C, C, 1, affine, track_running_stats)
                                   for op in self.genotype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x, None, None, None]
        for (i, j), op in zip(EDGES, self.edges):
            out = op(nodes[j])
            nodes[i] = out if nodes[i] is None else nodes[i] + out
        return nodes[3]


class NB201Network(nn.Module):
    """The NB201 evaluation network for ``genotype`` (a tuple of 6 op names in EDGES order).

    Parameters: ``C`` initial channels (16), ``N`` cells per stage (5), ``num_classes`` (10),
    ``in_channels`` of the input images (3). Takes any input size >= 4x4 (global pooling;
    odd sizes are handled by the ceil-mode shortcut pool). ``forward`` returns logits.
    """

    def __init__(self, genotype: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        for name, value in (("C", C), ("N", N), ("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"NB201Network: {name} must be a positive int, got {value!r}")
        self.genotype: Tuple[str, ...] = _check_ops(genotype)
        self.C, self.N, self.num_classes, self.in_channels = C, N, num_classes, in_channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        cells = []
        C_prev = C
        for stage, C_curr in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                cells.append(ResNetBasicBlock(C_prev, C_curr, stride=2))
            cells.extend(NB201Cell(self.genotype, C_curr) for _ in range(N))
            C_prev = C_curr
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"NB201Network expects input (batch, {self.in_channels}, H, W), "
                             f"got shape {tuple(x.shape)}")
        out = self.lastact(self.cells(self.stem(x)))
        out = self.global_pooling(out).flatten(1)
        return self.classifier(out)

    def extra_repr(self) -> str:
        return f"genotype={self.genotype}, C={self.C}, N={self.N}"
