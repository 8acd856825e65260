"""A third-party search space: a chain of conv layers, each with a width and a kernel size.

Layer i is ``conv(kernel) -> BN -> ReLU`` to ``width`` channels, or absent (width 0); absent
layers are dropped from the key, so chains that differ only in where their absent layers sit
are one network with one key (canonical keys).
"""
from typing import Any, List, Sequence

import numpy as np
import torch.nn as nn

from monas import Arch
from monas.search_space import ArchError, Choice, SearchSpace

WIDTHS = (0, 8, 16, 32)
KERNELS = (1, 3, 5)


class ConvChainSpace(SearchSpace):
    """``n_layers`` layers of (width in WIDTHS, kernel in KERNELS). Key: ``w16k3-w8k1``
    (present layers in order; ``empty`` when none)."""

    name = "conv_chain"
    contract_params = {"n_layers": 3}

    def __init__(self, n_layers: int = 4) -> None:
        self.n_layers = int(n_layers)

    def variables(self) -> List[Choice]:
        return [Choice(f"layer{i}_{what}", opts) for i in range(self.n_layers)
                for what, opts in (("width", WIDTHS), ("kernel", KERNELS))]

    def decode(self, x: Sequence[int]) -> Arch:
        x = [int(v) for v in x]
        if len(x) != 2 * self.n_layers or any(not 0 <= v < len(o.options) for v, o in zip(x, self.variables())):
            raise ArchError(f"conv_chain encoding {x}: expected {2 * self.n_layers} option indices")
        return self.from_genotype([(WIDTHS[x[2 * i]], KERNELS[x[2 * i + 1]]) for i in range(self.n_layers)])

    def encode(self, arch: Arch) -> np.ndarray:
        layers = list(arch.genotype) + [(0, KERNELS[0])] * (self.n_layers - len(arch.genotype))
        return np.array([i for w, k in layers for i in (WIDTHS.index(w), KERNELS.index(k))], dtype=int)

    def from_genotype(self, genotype: Any) -> Arch:
        try:
            layers = [(int(w), int(k)) for w, k in genotype]
        except (TypeError, ValueError):
            raise ArchError(f"conv_chain genotype {genotype!r}: expected (width, kernel) pairs") from None
        if len(layers) > self.n_layers or any(w not in WIDTHS or k not in KERNELS for w, k in layers):
            raise ArchError(f"conv_chain genotype {genotype!r}: at most {self.n_layers} layers, "
                            f"widths {WIDTHS}, kernels {KERNELS}")
        present = tuple((w, k) for w, k in layers if w > 0)
        return Arch(self.name, "-".join(f"w{w}k{k}" for w, k in present) or "empty", present)

    def from_key(self, key: str) -> Arch:
        if key == "empty":
            return self.from_genotype([])
        try:
            return self.from_genotype([tuple(int(v) for v in p[1:].split("k")) for p in key.split("-")])
        except ValueError:
            raise ArchError(f"conv_chain key {key!r}: expected layers like w16k3 joined by '-'") from None

    def build(self, arch: Arch, num_classes: int = 10, in_channels: int = 3, **kwargs: Any) -> nn.Module:
        layers, c = [], in_channels
        for w, k in self.check(arch).genotype:
            layers += [nn.Conv2d(c, w, k, padding=k // 2, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
