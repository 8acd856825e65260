"""FreeDARTS: data-agnostic selection of a supernet's ops by their ZEROS scores.

:func:`one_pass` is the official code (METHODS.md section 4 [C]): one pass of official ZEROS
(:func:`monas.objectives.zero_cost.zeros_official`), then the derivation. Its result has the
same form as the iterative pruning's (one round; per edge the ops in ascending score order, as
if all but the best had been pruned at once), so the front walk works on both.

:func:`iterative_prune` is the earlier reconstruction [U], used with ZEROS-eval
(:func:`monas.objectives.zero_cost.zeros_scores`, BN bypassed, mask alphas). Choices:

- **Masks:** alpha_{e,o} starts at 1 for every op the space's genotypes may contain and at 0
  for the others (DARTS: ``none`` never competes, since the DARTS rule drops it anyway; NB201:
  ``none`` is a legal op and competes, but its output is zero, so its score is exactly 0 and it
  goes in the first round).
- **Schedule:** each round scores all live ops once, then on every edge with more than one
  survivor sets the masks of the ``ops_per_round`` lowest-scoring survivors to 0 (ties: the
  earlier column first), never the last one; with ``ops_per_round=1`` round r leaves |O| - r
  survivors per edge and |O| - 1 rounds end with one op per edge. More per round is the
  faster variant [M].
- **Per-edge normalisation** (S / sum_o S over the edge's survivors) is not applied [U]:
  pruning compares ops within an edge, where it changes nothing, and after the last round every
  edge's normalised score would be 1, leaving the DARTS topology step nothing to rank.
- **Topology (DARTS):** per node the 2 incoming edges whose surviving op has the highest
  last-round score (the DARTS rule, ``derive_cell``); NB201 keeps every edge.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from monas.arch import Arch
from monas.objectives.zero_cost import ZEROS_ALPHA_STD, zeros_official, zeros_scores


@dataclass
class PruningResult:
    """What a FreeDARTS search leaves: the final masks, the scores of every round (before that
    round's pruning), per cell type and edge the op columns in the order they were pruned (the
    survivor last) and, aligned with it, the round each op was last scored in."""

    masks: Dict[str, torch.Tensor]
    rounds: List[Dict[str, torch.Tensor]] = field(default_factory=list)
    order: Dict[str, List[List[int]]] = field(default_factory=dict)
    last_round: Dict[str, List[List[int]]] = field(default_factory=dict)

    @property
    def final_scores(self) -> Dict[str, torch.Tensor]:
        """Scores of the last round (every edge still had its survivor then)."""
        return self.rounds[-1]

    def to_dict(self) -> dict:
        return {"masks": {t: m.tolist() for t, m in self.masks.items()},
                "rounds": [{t: s.tolist() for t, s in r.items()} for r in self.rounds],
                "order": self.order, "last_round": self.last_round}

    @classmethod
    def from_dict(cls, d: dict) -> "PruningResult":
        tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
        return cls({t: tensor(m) for t, m in d["masks"].items()},
                   [{t: tensor(s) for t, s in r.items()} for r in d["rounds"]],
                   {t: [list(map(int, e)) for e in edges] for t, edges in d["order"].items()},
                   {t: [list(map(int, e)) for e in edges] for t, edges in d["last_round"].items()})


def initial_masks(net: nn.Module, allowed_ops: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
    """Mask 1 on every op in ``allowed_ops`` (default: all of ``net.ops``), 0 elsewhere."""
    ops = list(net.ops)
    allowed = ops if allowed_ops is None else [o for o in ops if o in set(allowed_ops)]
    if not allowed:
        raise ValueError(f"no supernet op is allowed; supernet ops: {', '.join(ops)}, allowed: {list(allowed_ops)}")
    row = torch.tensor([1.0 if o in allowed else 0.0 for o in ops], dtype=torch.float64)
    return {t: row.repeat(e, 1) for t, (e, _) in net.arch_shapes().items()}


def iterative_prune(net: nn.Module, input_shape: Sequence[int] = (3, 32, 32),
                    allowed_ops: Optional[Sequence[str]] = None, ops_per_round: int = 1,
                    dtype: torch.dtype = torch.float64, bn: str = "bypass") -> PruningResult:
    """Prune ``net``'s ops (module docstring) until one op per edge survives.

    ``net`` is a supernet at initialisation (see :func:`monas.objectives.zero_cost.kaiming_init`);
    its weights are unchanged afterwards. ``input_shape`` is the all-ones input's [C, H, W].
    """
    if int(ops_per_round) < 1:
        raise ValueError(f"ops_per_round must be >= 1, got {ops_per_round}")
    masks = initial_masks(net, allowed_ops)
    live = {t: [torch.nonzero(m[e]).flatten().tolist() for e in range(m.shape[0])] for t, m in masks.items()}
    order: Dict[str, List[List[int]]] = {t: [[] for _ in rows] for t, rows in live.items()}
    last_round: Dict[str, List[List[int]]] = {t: [[] for _ in rows] for t, rows in live.items()}
    rounds: List[Dict[str, torch.Tensor]] = []
    while True:
        scores = zeros_scores(net, masks, None, input_shape, dtype, bn=bn)["scores"]
        rounds.append(scores)
        if all(len(ops) <= 1 for rows in live.values() for ops in rows):
            break
        for t, rows in live.items():
            for e, ops in enumerate(rows):
                k = min(int(ops_per_round), len(ops) - 1)
                if k <= 0:
                    continue
                ranked = sorted(ops, key=lambda o: (float(scores[t][e, o]), o))
                for o in ranked[:k]:
                    masks[t][e, o] = 0.0
                    ops.remove(o)
                    order[t][e].append(o)
                    last_round[t][e].append(len(rounds) - 1)
    for t, rows in live.items():
        for e, ops in enumerate(rows):
            order[t][e].extend(ops)
            last_round[t][e].extend([len(rounds) - 1] * len(ops))
    return PruningResult(masks=masks, rounds=rounds, order=order, last_round=last_round)


def one_pass(net: nn.Module, input_shape: Sequence[int] = (3, 32, 32),
             allowed_ops: Optional[Sequence[str]] = None, seed: int = 0, std: float = ZEROS_ALPHA_STD,
             sign: str = "signed", dtype: torch.dtype = torch.float64) -> PruningResult:
    """The official FreeDARTS search: one pass of official ZEROS over every op of ``net`` (raw
    alphas of ``seed``, ``std``, ``sign``; ops outside ``allowed_ops`` such as DARTS' ``none``
    are mixed in as the official code does, but never survive). On every edge the allowed op
    with the highest score survives (ties: the later column); ``order`` lists the allowed ops by
    ascending score (ties: the earlier column first). ``net``'s weights are unchanged."""
    allowed = initial_masks(net, allowed_ops)
    scores = zeros_official(net, input_shape, seed=seed, std=std, sign=sign, dtype=dtype)["scores"]
    masks, order, last_round = {}, {}, {}
    for t, m in allowed.items():
        masks[t] = torch.zeros_like(m)
        order[t], last_round[t] = [], []
        for e in range(m.shape[0]):
            ops = torch.nonzero(m[e]).flatten().tolist()
            ranked = sorted(ops, key=lambda o: (float(scores[t][e, o]), o))
            masks[t][e, ranked[-1]] = 1.0
            order[t].append(ranked)
            last_round[t].append([0] * len(ranked))
    return PruningResult(masks=masks, rounds=[scores], order=order, last_round=last_round)


def derive_arch(space, net: nn.Module, result: PruningResult,
                choice: Optional[Dict[str, List[int]]] = None) -> Arch:
    """The architecture of the survivors: NB201 one op per edge; DARTS the top-2 edges per node
    by the survivor's last-round score (the DARTS rule).

    ``choice`` {cell type: [op column per edge]} replaces the survivors by other ops while the
    edges are still ranked by the survivors' scores (the topology stays; used to walk a front).
    """
    weights = {}
    for t, m in result.masks.items():
        s = (m * result.final_scores[t]).sum(dim=1)  # each edge's survivor score
        scale = float(s.max()) if float(s.max()) > 0 else 1.0
        w = torch.zeros_like(m)
        cols = choice[t] if choice is not None else [int(torch.argmax(m[e])) for e in range(m.shape[0])]
        for e, o in enumerate(cols):
            w[e, o] = 1.0 + float(s[e]) / scale  # > 0 even for a zero score: the op stays the argmax
        weights[t] = w.float()
    genotype = net.derive_genotype(weights)
    return genotype if isinstance(genotype, Arch) else space.from_genotype(genotype)
