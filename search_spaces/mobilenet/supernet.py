"""The MobileNet space's weight-sharing supernet: single-path one-shot (ProxylessNAS / FBNet style).

Every block position holds one MBConv per (kernel, expansion) candidate, each with its own
weights and its own squeeze-excite. Architecture weights (the single-path protocol of
search_spaces/README.md):

- ``"blocks"``: (positions, candidates), one-hot on the block's (kernel, expansion); a row of
  zeros for a position beyond its stage's depth;
- ``"se"``: (positions, 2), one-hot on (without, with) squeeze-excite.

A position's output is ``(1 - sum_o w_o) * x + sum_o w_o * block_o(x)``: a row of zeros is the
identity (the block is skipped, as depth requires), a one-hot row runs exactly one candidate,
and an average of one-hot rows (a policy's expected path) mixes them. Candidates with weight
exactly 0 are not run, so a single path costs one candidate per position. The first position
of a stage is always active (depths are at least 1), so channel and stride changes are never
skipped.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from monas.arch import Arch
from monas.search_spaces.mobilenet.network import MBConv, conv_bn_act

MODES: Tuple[str, ...] = ("single_path", "mixture", "discrete")


class MobileNetSupernet(nn.Module):
    """Every candidate of every block position of ``space`` (a MobileNetSpace); see module doc."""

    def __init__(self, space, widths: Sequence[int], stem: int, head: int, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.space = space
        self.candidates = space.candidates()
        self.slots = space.slots()
        self.stem = conv_bn_act(in_channels, stem, 3)
        self.positions = nn.ModuleList()
        c_in = stem
        for s, b in self.slots:
            stride = space.strides[s] if b == 0 else 1
            c_out = widths[s]
            self.positions.append(nn.ModuleList(MBConv(c_in, c_out, k, e, stride, se=True) for k, e in self.candidates))
            c_in = c_out
        self.head = conv_bn_act(c_in, head)
        self.classifier = nn.Linear(head, num_classes)

    def arch_to_weights(self, arch: Arch) -> Tuple[Dict[str, torch.Tensor], None]:
        """One-hot weights of ``arch``'s path (see module docstring); no edge weights."""
        arch = self.space.check(arch)
        blocks = torch.zeros(len(self.slots), len(self.candidates))
        se = torch.zeros(len(self.slots), 2)
        for i, (s, b) in enumerate(self.slots):
            stage = arch.genotype[s]
            if b < len(stage):
                k, e, on = stage[b]
                blocks[i, self.candidates.index((k, e))] = 1.0
                se[i, int(on)] = 1.0
            else:
                se[i, 0] = 1.0
        return {"blocks": blocks, "se": se}, None

    def forward(self, x: torch.Tensor, weights: Dict[str, torch.Tensor],
                edge_weights: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        w, w_se = weights["blocks"], weights["se"]
        x = self.stem(x)
        for i, candidates in enumerate(self.positions):
            row, se_row = w[i].tolist(), w_se[i].tolist()
            if not any(row):
                continue
            out = None
            for o, block in enumerate(candidates):
                if row[o] == 0:
                    continue
                body = sum(w_se[i, j] * block.body(x, se=bool(j)) for j in (0, 1) if se_row[j] != 0)
                out = w[i, o] * body if out is None else out + w[i, o] * body
            # residual positions: (1 - sum w) * x + sum w_o * (x + body_o) = x + sum w_o * body_o
            out = x + out if candidates[0].residual else out
            x = out
        x = self.head(x)
        return self.classifier(x.mean((2, 3)))
