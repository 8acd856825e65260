"""A MobileNetV2/V3-style macro space: stages of inverted-residual blocks (ProxylessNAS, FBNet, OFA).

Each stage has a depth choice; each block a kernel size (3, 5, 7) and an expansion ratio (3, 4,
6); squeeze-excite is a choice per stage (default), per block, or absent (``se``).

Genotype: a tuple of stages, each a tuple of its *active* blocks ``(kernel, expansion, se)``
(``se`` 0 or 1; with ``se="stage"`` every block of a stage shares it), so the depth of a stage
is its block count. Key: stages joined by ``_``, blocks by ``-``, a block ``k{kernel}e{expansion}``
with ``s`` appended when it has squeeze-excite, e.g. ``k3e4s-k5e6s_k7e3_k3e3-k3e3_k5e6``.

Canonical keys: the choices of a block beyond its stage's depth cannot change the network, so
``decode`` drops them and ``encode`` writes option 0 for them; two encodings that differ only
there are one architecture with one key.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from monas.arch import Arch
from monas.search_space import ArchError, Choice, SearchSpace

SE_MODES: Tuple[str, ...] = ("stage", "block", "none")
_BLOCK = re.compile(r"^k(\d+)e(\d+)(s?)$")

Block = Tuple[int, int, int]


def _ints(name: str, values: Sequence[Any], minimum: int = 1) -> Tuple[int, ...]:
    values = tuple(values)
    if not values or any(not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < minimum for v in values):
        raise ValueError(f"mobilenet: {name} must be a non-empty list of ints >= {minimum}, got {list(values)!r}")
    return tuple(int(v) for v in values)


class MobileNetSpace(SearchSpace):
    """Stages of MBConv blocks with searched depth, kernel, expansion and squeeze-excite.

    Parameters: ``channels`` (output channels per stage, (16, 24, 32, 64)), ``strides`` (per
    stage, (1, 2, 2, 2)), ``depths`` (depth options of every stage, (1, 2, 3)), ``kernels``
    ((3, 5, 7)), ``expansions`` ((3, 4, 6)), ``se`` ("stage": one squeeze-excite choice per
    stage, "block": one per block, "none": no squeeze-excite), ``stem_channels`` (16),
    ``head_channels`` (128), ``width_mult`` (1.0, scales every width), ``num_classes`` (10),
    ``in_channels`` (3) and ``input_size`` (32). The defaults are small so a network builds
    and runs in milliseconds on a CPU; widen with ``width_mult`` or ``C``.
    """

    name = "mobilenet"
    #: the supernet runs one architecture's path (search_spaces/README.md)
    supernet_protocols = ("single_path",)
    #: a small space for the contract tests (2 stages, 2 depth options)
    contract_params = {"channels": (8, 16), "strides": (1, 2), "depths": (1, 2), "stem_channels": 8,
                       "head_channels": 16}

    def __init__(self, channels: Sequence[int] = (16, 24, 32, 64), strides: Sequence[int] = (1, 2, 2, 2),
                 depths: Sequence[int] = (1, 2, 3), kernels: Sequence[int] = (3, 5, 7),
                 expansions: Sequence[int] = (3, 4, 6), se: str = "stage", stem_channels: int = 16,
                 head_channels: int = 128, width_mult: float = 1.0, num_classes: int = 10, in_channels: int = 3,
                 input_size: int = 32) -> None:
        self.channels = _ints("channels", channels)
        self.strides = _ints("strides", strides)
        if len(self.strides) != len(self.channels):
            raise ValueError(f"mobilenet: strides has {len(self.strides)} entries, channels {len(self.channels)}; "
                             "give one stride per stage")
        self.depths = tuple(sorted(set(_ints("depths", depths))))
        self.kernels = _ints("kernels", kernels)
        if any(k % 2 == 0 for k in self.kernels):
            raise ValueError(f"mobilenet: kernels must be odd, got {list(self.kernels)}")
        self.expansions = _ints("expansions", expansions)
        if se not in SE_MODES:
            raise ValueError(f"mobilenet: se={se!r}; accepted: {', '.join(SE_MODES)}")
        self.se = se
        self.stem_channels = _ints("stem_channels", [stem_channels])[0]
        self.head_channels = _ints("head_channels", [head_channels])[0]
        if not float(width_mult) > 0:
            raise ValueError(f"mobilenet: width_mult must be > 0, got {width_mult!r}")
        self.width_mult = float(width_mult)
        self.num_classes = _ints("num_classes", [num_classes])[0]
        self.in_channels = _ints("in_channels", [in_channels])[0]
        self.input_size = _ints("input_size", [input_size])[0]

    # ---- layout ---------------------------------------------------------------------------
    @property
    def max_depth(self) -> int:
        return self.depths[-1]

    @property
    def n_stages(self) -> int:
        return len(self.channels)

    def slots(self) -> List[Tuple[int, int]]:
        """(stage, block) of every block position the space can fill, in network order."""
        return [(s, b) for s in range(self.n_stages) for b in range(self.max_depth)]

    def candidates(self) -> List[Tuple[int, int]]:
        """(kernel, expansion) of every block option, in the order the supernet weighs them."""
        return [(k, e) for k in self.kernels for e in self.expansions]

    def widths(self, C: Optional[int] = None) -> Tuple[int, Tuple[int, ...], int]:
        """(stem, per-stage, head) channels: scaled by ``width_mult``, and by ``C`` / the first
        stage's channels when ``C`` (the width of the first stage) is given."""
        scale = self.width_mult * (float(C) / self.channels[0] if C else 1.0)

        def w(c: int) -> int:
            return max(1, int(round(c * scale)))

        return w(self.stem_channels), tuple(w(c) for c in self.channels), w(self.head_channels)

    # ---- choices --------------------------------------------------------------------------
    def variables(self) -> List[Choice]:
        out: List[Choice] = []
        for s in range(self.n_stages):
            out.append(Choice(f"s{s + 1}_depth", self.depths))
            if self.se == "stage":
                out.append(Choice(f"s{s + 1}_se", (0, 1)))
            for b in range(self.max_depth):
                out.append(Choice(f"s{s + 1}_b{b + 1}_kernel", self.kernels))
                out.append(Choice(f"s{s + 1}_b{b + 1}_expansion", self.expansions))
                if self.se == "block":
                    out.append(Choice(f"s{s + 1}_b{b + 1}_se", (0, 1)))
        return out

    def decode(self, x: Sequence[int]) -> Arch:
        x = [int(v) for v in x]
        cards = self.cardinalities()
        if len(x) != len(cards) or any(not 0 <= v < c for v, c in zip(x, cards)):
            raise ArchError(f"mobilenet encoding {x}: expected {len(cards)} indices, "
                            f"each below {[int(c) for c in cards]}")
        it = iter(x)
        stages = []
        for _s in range(self.n_stages):
            depth = self.depths[next(it)]
            stage_se = next(it) if self.se == "stage" else 0
            blocks = []
            for b in range(self.max_depth):
                k, e = self.kernels[next(it)], self.expansions[next(it)]
                se = next(it) if self.se == "block" else stage_se
                if b < depth:  # blocks beyond the depth cannot change the network: dropped
                    blocks.append((k, e, se))
            stages.append(tuple(blocks))
        return self.make(stages)

    def encode(self, arch: Arch) -> np.ndarray:
        x: List[int] = []
        for blocks in arch.genotype:
            x.append(self.depths.index(len(blocks)))
            if self.se == "stage":
                x.append(int(blocks[0][2]))
            for b in range(self.max_depth):
                k, e, se = blocks[b] if b < len(blocks) else (self.kernels[0], self.expansions[0], 0)
                x += [self.kernels.index(k), self.expansions.index(e)]
                if self.se == "block":
                    x.append(int(se))
        return np.array(x, dtype=int)

    # ---- genotypes and keys -----------------------------------------------------------------
    def make(self, stages: Sequence[Sequence[Sequence[Any]]]) -> Arch:
        """The Arch of a genotype (see module docstring); raises ArchError naming what is wrong."""
        if isinstance(stages, (str, bytes)) or len(stages) != self.n_stages:
            raise ArchError(f"mobilenet genotype needs {self.n_stages} stages (tuples of blocks), got {stages!r}")
        out = []
        for s, blocks in enumerate(stages):
            blocks = tuple(tuple(int(v) for v in blk) for blk in blocks)
            if len(blocks) not in self.depths:
                raise ArchError(f"mobilenet stage {s + 1} has {len(blocks)} blocks; accepted depths: "
                                f"{', '.join(map(str, self.depths))}")
            for blk in blocks:
                if len(blk) != 3 or blk[0] not in self.kernels or blk[1] not in self.expansions or blk[2] not in (0, 1):
                    raise ArchError(f"mobilenet stage {s + 1} block {blk!r}: expected (kernel in {self.kernels}, "
                                    f"expansion in {self.expansions}, se 0 or 1)")
            ses = {blk[2] for blk in blocks}
            if self.se == "none" and ses != {0}:
                raise ArchError(f"mobilenet stage {s + 1}: this space has no squeeze-excite (se='none')")
            if self.se == "stage" and len(ses) > 1:
                raise ArchError(f"mobilenet stage {s + 1}: squeeze-excite is chosen per stage (se='stage'); "
                                "its blocks must agree")
            out.append(blocks)
        key = "_".join("-".join(f"k{k}e{e}{'s' if se else ''}" for k, e, se in blocks) for blocks in out)
        return Arch(self.name, key, tuple(out))

    def from_genotype(self, genotype: Any) -> Arch:
        if isinstance(genotype, str):
            return self.from_key(genotype)
        try:
            return self.make(genotype)
        except (TypeError, ValueError) as err:
            if isinstance(err, ArchError):
                raise
            raise ArchError(f"mobilenet genotype {genotype!r}: {err}") from None

    def from_key(self, key: str) -> Arch:
        stages = []
        for part in str(key).split("_"):
            blocks = []
            for text in part.split("-"):
                m = _BLOCK.match(text)
                if not m:
                    raise ArchError(f"mobilenet key {key!r}: block {text!r} is not k<kernel>e<expansion>[s] "
                                    "(stages joined by '_', blocks by '-')")
                blocks.append((int(m.group(1)), int(m.group(2)), int(bool(m.group(3)))))
            stages.append(blocks)
        return self.make(stages)

    # ---- networks ---------------------------------------------------------------------------
    def to_graph(self, arch: Arch) -> Tuple[np.ndarray, np.ndarray]:
        """A chain: input, one node per block position, output (the same node count for every
        architecture). Node features: one-hot over [input, output, skip, every (kernel,
        expansion)], then squeeze-excite (0/1), then the stage one-hot. A position beyond its
        stage's depth is a ``skip`` node."""
        cands = self.candidates()
        slots = self.slots()
        n = len(slots) + 2
        width = 3 + len(cands) + 1 + self.n_stages
        adj = np.zeros((n, n), dtype=np.float32)
        feats = np.zeros((n, width), dtype=np.float32)
        feats[0, 0] = 1.0
        feats[n - 1, 1] = 1.0
        for i in range(n - 1):
            adj[i, i + 1] = 1.0
        for i, (s, b) in enumerate(slots, start=1):
            blocks = arch.genotype[s]
            if b < len(blocks):
                k, e, se = blocks[b]
                feats[i, 3 + cands.index((k, e))] = 1.0
                feats[i, 3 + len(cands)] = float(se)
            else:
                feats[i, 2] = 1.0
            feats[i, 4 + len(cands) + s] = 1.0
        return adj, feats

    def build(self, arch: Arch, num_classes: Optional[int] = None, in_channels: Optional[int] = None,
              C: Optional[int] = None, dropout: float = 0.0):
        """The discrete network of ``arch`` (:class:`MobileNet`): any input size of at least 1x1,
        ``num_classes`` and ``in_channels`` default to the space's; ``C`` sets the first stage's width."""
        from monas.search_spaces.mobilenet.network import MobileNet

        arch = self.check(arch)
        stem, widths, head = self.widths(C)
        return MobileNet(arch.genotype, widths, self.strides, stem, head,
                         num_classes=num_classes or self.num_classes, in_channels=in_channels or self.in_channels,
                         dropout=dropout)

    def supernet(self, mode: str = "single_path", num_classes: Optional[int] = None,
                 in_channels: Optional[int] = None, C: Optional[int] = None):
        """The weight-sharing network (:class:`MobileNetSupernet`): every (kernel, expansion)
        of every block position with and without squeeze-excite; single-path protocol only
        (``mode`` is accepted for the callers that name one: "single_path", "mixture",
        "discrete" give the same module, driven by the weights)."""
        from monas.search_spaces.mobilenet.supernet import MODES, MobileNetSupernet

        if mode not in MODES:
            raise ValueError(f"mobilenet supernet mode {mode!r}; accepted: {', '.join(MODES)}")
        stem, widths, head = self.widths(C)
        return MobileNetSupernet(self, widths, stem, head, num_classes=num_classes or self.num_classes,
                                 in_channels=in_channels or self.in_channels)
