"""The DARTS candidate operations (quark0/darts ``cnn/operations.py``, re-implemented).

Every op maps ``C`` channels to ``C`` channels; at stride 2 the spatial size becomes
ceil(H/2) x ceil(W/2) for every op, so odd input sizes work too (DARTS itself assumes even
sizes; see ``FactorizedReduce``). ``affine`` is False in the search network and True in the
evaluation network.
"""
from __future__ import annotations

from typing import Callable, Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.search_spaces.darts.genotype import PRIMITIVES  # noqa: F401  (re-exported)


class ReLUConvBN(nn.Module):
    """ReLU -> conv -> BN (the 1x1 preprocessing of cell inputs)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """One ReLU -> depthwise kxk (dilated, strided) -> pointwise 1x1 -> BN block."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """The DARTS separable conv: the dilation-1 DilConv block twice, the second at stride 1."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            DilConv(C_in, C_in, kernel_size, stride, padding, 1, affine=affine),
            DilConv(C_in, C_out, kernel_size, 1, padding, 1, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Identity(nn.Module):
    """skip_connect at stride 1 (its own class so drop-path can recognise and spare it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` op: zeros, taking every ``stride``-th pixel first so shapes match."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """ReLU, two 1x1 stride-2 convs of C_out/2 (the second shifted by one pixel), concat, BN.

    [M] For odd H or W the input is zero-padded by one row/column at the bottom/right before
    the shift, so both halves have ceil(H/2) x ceil(W/2) pixels; for even sizes the padding is
    never sampled and the op equals the DARTS one exactly.
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = x
        if x.size(2) % 2 or x.size(3) % 2:
            shifted = F.pad(x, (0, x.size(3) % 2, 0, x.size(2) % 2))
        out = torch.cat([self.conv_1(x), self.conv_2(shifted[:, :, 1:, 1:])], dim=1)
        return self.bn(out)


OpBuilder = Callable[[int, int, bool], nn.Module]

OPS: Dict[str, OpBuilder] = {
    "none": lambda C, stride, affine: Zero(stride),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1,
                                                           count_include_pad=False),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "skip_connect": lambda C, stride, affine: (
        Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
}

OP_SETS = ("darts", "sharp")


def make_op(name: str, C: int, stride: int, affine: bool, op_set: str = "darts") -> nn.Module:
    """The op ``name`` on ``C`` channels; ``op_set="sharp"`` makes sep/dil convs SharpSepConv."""
    if op_set == "sharp":
        from monas.search_spaces.darts.sharp_operations import SHARP_OPS

        builder = SHARP_OPS.get(name)
    elif op_set == "darts":
        builder = OPS.get(name)
    else:
        raise ValueError(f"unknown op_set {op_set!r}; accepted: {', '.join(OP_SETS)}")
    if builder is None:
        known = sorted(OPS) if op_set == "darts" else sorted(SHARP_OPS)
        raise ValueError(f"unknown DARTS op {name!r} in op_set {op_set!r}; accepted: {', '.join(known)}")
    return builder(C, stride, affine)


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob``, scaling survivors by 1/keep (not in place)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask
