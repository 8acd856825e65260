"""The discrete network of one MobileNet-space genotype: stem, stages of MBConv blocks, head.

MBConv (MobileNetV2 inverted residual, with MobileNetV3's optional squeeze-excite): 1x1
expansion to ``expansion * C_in`` channels, BN, ReLU6; depthwise ``kernel`` x ``kernel``
convolution (the block's stride), BN, ReLU6; squeeze-excite when chosen; 1x1 projection, BN; a
residual connection when the stride is 1 and the channels do not change. The first block of a
stage carries the stage's stride and channel change. Head: 1x1 conv to ``head`` channels, BN,
ReLU6, global average pooling, dropout, linear. Any input size of at least 1x1 works (padding
``kernel // 2`` and global pooling).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


def conv_bn_act(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention: x * hardsigmoid(W2 relu(W1 mean(x))), reduction 4 (MobileNetV3)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * nn.functional.hardsigmoid(self.expand(nn.functional.relu(self.reduce(s))))


class MBConv(nn.Module):
    """One inverted-residual block (see module docstring)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int, se: bool) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.expand = conv_bn_act(c_in, hidden)
        self.depthwise = conv_bn_act(hidden, hidden, kernel, stride, groups=hidden)
        self.se = SqueezeExcite(hidden) if se else None
        self.project = conv_bn_act(hidden, c_out, act=False)
        self.residual = stride == 1 and c_in == c_out

    def body(self, x: torch.Tensor, se: bool = True) -> torch.Tensor:
        """The block without its residual; ``se=False`` leaves out a squeeze-excite it has."""
        h = self.depthwise(self.expand(x))
        if se and self.se is not None:
            h = self.se(h)
        return self.project(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


class MobileNet(nn.Module):
    """The network of ``genotype`` (stages of ``(kernel, expansion, se)`` blocks) with stage
    ``widths`` and ``strides``, ``stem`` and ``head`` channels; ``forward`` returns logits."""

    def __init__(self, genotype: Sequence[Sequence[Sequence[int]]], widths: Sequence[int], strides: Sequence[int],
                 stem: int, head: int, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = conv_bn_act(in_channels, stem, 3)
        blocks, c_in = [], stem
        for stage, c_out, stride in zip(genotype, widths, strides):
            for b, (k, e, se) in enumerate(stage):
                blocks.append(MBConv(c_in, c_out, k, e, stride if b == 0 else 1, bool(se)))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn_act(c_in, head)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(head, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(self.dropout(x.mean((2, 3))))
