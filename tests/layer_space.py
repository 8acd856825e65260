"""A search space defined in the tests, neither nb201 nor darts: a chain of ``n_layers`` layers,
each one of 3 choices (identity, 3x3 conv, 5x5 conv), with a discrete network and a
weight-sharing supernet that offers the single-path protocol (and nothing else)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from monas.arch import Arch
from monas.search_space import ArchError, Choice, SearchSpace

OPTIONS: Tuple[str, ...] = ("skip", "conv3", "conv5")


def _op(name: str, width: int) -> nn.Module:
    if name == "skip":
        return nn.Identity()
    k = 3 if name == "conv3" else 5
    return nn.Sequential(nn.Conv2d(width, width, k, padding=k // 2, bias=False), nn.BatchNorm2d(width), nn.ReLU())


class _Stem(nn.Module):
    def __init__(self, in_channels: int, width: int, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        self.head = nn.Linear(width, num_classes)


class LayerNet(_Stem):
    def __init__(self, ops: Sequence[str], width: int, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, width, num_classes)
        self.layers = nn.ModuleList(_op(o, width) for o in ops)

    def forward(self, x):
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean((2, 3)))


class LayerSupernet(_Stem):
    """Every choice of every layer; ``forward(x, weights)`` sums the choices a layer weighs != 0."""

    def __init__(self, n_layers: int, width: int, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, width, num_classes)
        self.layers = nn.ModuleList(nn.ModuleList(_op(o, width) for o in OPTIONS) for _ in range(n_layers))

    def arch_to_weights(self, arch: Arch):
        idx = torch.tensor([OPTIONS.index(o) for o in arch.genotype])
        return {"layers": nn.functional.one_hot(idx, len(OPTIONS)).float()}, None

    def forward(self, x, weights: Dict[str, torch.Tensor], edge_weights=None):
        w = weights["layers"]
        x = self.stem(x)
        for l, ops in enumerate(self.layers):
            row = w[l].tolist()
            x = sum(w[l, o] * op(x) for o, op in enumerate(ops) if row[o] != 0)
        return self.head(x.mean((2, 3)))


class LayerSpace(SearchSpace):
    """``n_layers`` categorical layers of 3 choices; key = the choices joined by '-'."""

    name = "layers"
    supernet_protocols = ("single_path",)

    def __init__(self, n_layers: int = 8, width: int = 16) -> None:
        self.n_layers, self.width = int(n_layers), int(width)

    def variables(self) -> List[Choice]:
        return [Choice(f"layer{i}", OPTIONS) for i in range(self.n_layers)]

    def decode(self, x: Sequence[int]) -> Arch:
        x = [int(v) for v in x]
        if len(x) != self.n_layers or any(not 0 <= v < len(OPTIONS) for v in x):
            raise ArchError(f"layers encoding {x}: expected {self.n_layers} indices in [0, 2]")
        return self.from_genotype([OPTIONS[v] for v in x])

    def encode(self, arch: Arch) -> np.ndarray:
        return np.array([OPTIONS.index(o) for o in arch.genotype], dtype=int)

    def from_genotype(self, genotype: Any) -> Arch:
        ops = tuple(genotype)
        if len(ops) != self.n_layers or any(o not in OPTIONS for o in ops):
            raise ArchError(f"layers genotype {ops!r}: expected {self.n_layers} of {OPTIONS}")
        return Arch(self.name, "-".join(ops), ops)

    def from_key(self, key: str) -> Arch:
        return self.from_genotype(key.split("-"))

    def build(self, arch: Arch, num_classes: int = 10, in_channels: int = 1, **kwargs: Any):
        return LayerNet(self.check(arch).genotype, self.width, in_channels, num_classes)

    def supernet(self, mode: str = "mixture", C: Optional[int] = None, num_classes: int = 10, in_channels: int = 1,
                 **kwargs: Any):
        return LayerSupernet(self.n_layers, C or self.width, in_channels, num_classes)


class NoSupernetSpace(LayerSpace):
    """The same choices without any network: only what every space offers."""

    name = "layers_plain"
    build = SearchSpace.build
    supernet = SearchSpace.supernet
