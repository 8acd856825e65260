"""sharpDARTS ops (ahundt/sharpDARTS ``cnn/operations.py``, re-implemented; METHODS.md §5).

In the "sharp" op set both ``sep_conv_*`` and ``dil_conv_*`` are SharpSepConv, so dilated ops
are as deep as separable ones; the other DARTS primitives are unchanged (cells keep C_in =
C_out, so sharpDARTS' ResizablePool reduces to the plain pool). The extra sharpDARTS names
(flood/choke variants) are available for custom op lists of a supernet.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn

from monas.search_spaces.darts.operations import OPS, OpBuilder


class SharpSepConv(nn.Module):
    """ReLU -> dw kxk (stride, dilation) -> 1x1 to C_mid -> BN -> ReLU -> dw kxk (stride 1,
    no dilation, padding (k-1)/2) -> 1x1 to C_out -> BN.

    ``C_mid`` defaults to ``C_out * C_mid_mult`` (mult 1; 4 for "flood"; a fixed 32 for "choke").
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int = 1,
                 dilation: int = 1, affine: bool = True, C_mid_mult: float = 1,
                 C_mid: Optional[int] = None) -> None:
        super().__init__()
        mid = int(C_mid) if C_mid else int(C_out * C_mid_mult)
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, mid, 1, padding=0, bias=False),
            nn.BatchNorm2d(mid, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(mid, mid, kernel_size, stride=1, padding=(kernel_size - 1) // 2, dilation=1,
                      groups=mid, bias=False),
            nn.Conv2d(mid, C_out, 1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


SHARP_OPS: Dict[str, OpBuilder] = dict(OPS)
SHARP_OPS.update({
    "sep_conv_3x3": lambda C, stride, affine: SharpSepConv(C, C, 3, stride, padding=1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SharpSepConv(C, C, 5, stride, padding=2, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: SharpSepConv(C, C, 3, stride, padding=2, dilation=2,
                                                           affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: SharpSepConv(C, C, 5, stride, padding=4, dilation=2,
                                                           affine=affine),
    "flood_conv_3x3": lambda C, stride, affine: SharpSepConv(C, C, 3, stride, padding=1, affine=affine,
                                                             C_mid_mult=4),
    "dil_flood_conv_3x3": lambda C, stride, affine: SharpSepConv(C, C, 3, stride, padding=2, dilation=2,
                                                                 affine=affine, C_mid_mult=4),
    "choke_conv_3x3": lambda C, stride, affine: SharpSepConv(C, C, 3, stride, padding=1, affine=affine,
                                                             C_mid=32),
    "dil_choke_conv_3x3": lambda C, stride, affine: SharpSepConv(C, C, 3, stride, padding=2, dilation=2,
                                                                 affine=affine, C_mid=32),
})
