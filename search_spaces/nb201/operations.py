"""NAS-Bench-201 candidate operations and the ResNet reduction block.

Follows AutoDL-Projects (``xautodl/models/cell_operations.py``) in structure and in parameter
layout, so parameter counts match the benchmark:

- ``nor_conv_kxk``: ReLU -> Conv(k, pad k//2) -> BN. The conv has a bias only when the BN is not
  affine (AutoDL's ``bias=not affine``): eval nets (affine BN) have bias-free convs, search nets
  (affine=False) keep a conv bias.
- ``avg_pool_3x3``: 3x3 average pool, stride s, pad 1, padding not counted in the mean; a 1x1
  ReLU-Conv-BN adapts the channels first only when C_in != C_out.
- ``skip_connect``: identity (NB201 cells only use it at stride 1 with C_in == C_out).
- ``none``: zeros of the output shape.
- :class:`ResNetBasicBlock`: two 3x3 ReLU-Conv-BN (the first with the stride) plus a shortcut:
  at stride 2 a 2x2 average pool then a bias-free 1x1 conv, at stride 1 with a channel change a
  1x1 ReLU-Conv-BN, else identity.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from monas.search_spaces.nb201.space import OPS


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d -> BatchNorm2d (conv bias only when the BN is not affine)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=not affine),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: zeros with the output's shape (spatially strided, C_out channels)."""

    def __init__(self, C_in: int, C_out: int, stride: int = 1) -> None:
        super().__init__()
        self.C_in, self.C_out, self.stride = C_in, C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.C_in == self.C_out:
            return x.mul(0.0)
        shape = list(x.shape)
        shape[1] = self.C_out
        return x.new_zeros(shape)


class AvgPool(nn.Module):
    """``avg_pool_3x3``: optional 1x1 ReLU-Conv-BN (C_in != C_out), then 3x3 average pooling."""

    def __init__(self, C_in: int, C_out: int, stride: int = 1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.preprocess = (None if C_in == C_out else
                           ReLUConvBN(C_in, C_out, 1, 1, 0, affine, track_running_stats))
        self.pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)


def make_op(name: str, C_in: int, C_out: int, stride: int = 1, affine: bool = True,
            track_running_stats: bool = True) -> nn.Module:
    """Build the NB201 op ``name`` mapping C_in to C_out channels at ``stride``."""
    if name == "none":
        return Zero(C_in, C_out, stride)
    if name == "skip_connect":
        if stride != 1 or C_in != C_out:
            raise ValueError(f"skip_connect in NB201 cells needs stride 1 and C_in == C_out, "
                             f"got stride={stride}, C_in={C_in}, C_out={C_out}")
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(C_in, C_out, 1, stride, 0, affine, track_running_stats)
    if name == "nor_conv_3x3":
        return ReLUConvBN(C_in, C_out, 3, stride, 1, affine, track_running_stats)
    if name == "avg_pool_3x3":
        return AvgPool(C_in, C_out, stride, affine, track_running_stats)
    raise ValueError(f"unknown NB201 op {name!r}; accepted: {', '.join(OPS)}")


class ResNetBasicBlock(nn.Module):
    """Residual block between NB201 stages: conv_b(conv_a(x)) + shortcut(x).

    The stride-2 shortcut pools with ``ceil_mode=True`` so odd feature maps (e.g. 7x7) keep the
    conv branch's size; on even sizes this is AutoDL's plain 2x2 average pool.
    """

    def __init__(self, C_in: int, C_out: int, stride: int = 2, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ResNetBasicBlock stride must be 1 or 2, got {stride}")
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, affine, track_running_stats)
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True),
                nn.Conv2d(C_in, C_out, 1, stride=1, padding=0, bias=False),
            )
        elif C_in != C_out:
            self.downsample = ReLUConvBN(C_in, C_out, 1, 1, 0, affine, track_running_stats)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))
        residual = x if self.downsample is None else self.downsample(x)
        return residual + out
