"""Relaxations: how a DARTS-family method turns its architecture parameters into supernet
weights, probabilities (for the hardware penalty) and derived architectures.

Architecture parameters live outside the supernet as a flat dict of ``nn.Parameter``:
``"alpha.<cell type>"`` (edges, ops) op logits and, for methods with edge logits,
``"beta.<cell type>"`` (edges,). Subclasses override :meth:`Relaxation.weights` (the forward
weights of one step) and, where the method's distribution differs, :meth:`edge_inclusion` and
:meth:`pair_logp`.

:class:`Relaxation` itself is DARTS: ``weights = softmax(alpha)`` on every edge, no edge
weights, DARTS derivation (top-2 in-edges per node by their best non-``none`` weight, argmax
op).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.arch import Arch
from monas.arch_weights import mixture
from monas.plugins.darts.derive import darts_genotypes, edge_genotypes, pairs_from_edge_scores
from monas.plugins.darts.spaces import SpaceAdapter

Weights = Dict[str, torch.Tensor]


def node_softmax(beta: torch.Tensor, node_edges: Sequence[Sequence[int]]) -> torch.Tensor:
    """Softmax of (num_edges,) edge logits within each node's in-edges (PC-DARTS edge norm)."""
    parts = [None] * beta.shape[-1]
    for rows in node_edges:
        idx = torch.as_tensor(list(rows), device=beta.device)
        s = F.softmax(beta[idx], dim=-1)
        for j, r in enumerate(rows):
            parts[r] = s[j]
    return torch.stack(parts)


class Relaxation:
    """DARTS' continuous relaxation (see module docstring); the base of every method's.

    ``adapter`` is the space's :class:`SpaceAdapter`; ``ops`` the supernet's op names in column
    order. ``mode`` is the supernet mode the method searches with.
    """

    mode = "mixture"
    uses_beta = False

    def __init__(self, adapter: SpaceAdapter, ops: Sequence[str]) -> None:
        self.adapter = adapter
        self.ops = tuple(ops)
        # ops a derived architecture may use (DARTS genotypes never hold `none`; NB201 may)
        # a space that keeps edges_per_node in-edges never derives 'none' (the edge is dropped instead)
        self.derivable = np.array([not (op == "none" and adapter.edges_per_node is not None) for op in self.ops])

    # ---- parameters -------------------------------------------------------------------
    def new_parameters(self, net: nn.Module, seed: int, std: float = 1e-3) -> Dict[str, nn.Parameter]:
        """Fresh alpha (``net.new_arch_parameters``) and, when used, beta ~ std * N(0, 1), seeded."""
        params = {f"alpha.{t}": p for t, p in net.new_arch_parameters(std=std, seed=seed).items()}
        if self.uses_beta:
            g = torch.Generator().manual_seed(int(seed) + 1)
            device = next(iter(params.values())).device
            for t in self.adapter.cell_types:
                params[f"beta.{t}"] = nn.Parameter((std * torch.randn(self.adapter.num_edges, generator=g)).to(device))
        return params

    @staticmethod
    def alphas(params) -> Weights:
        return {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("alpha.")}

    @staticmethod
    def betas(params) -> Weights:
        return {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("beta.")}

    # ---- forward weights --------------------------------------------------------------
    def weights(self, params, epoch: int, epochs: int,
                generator: Optional[torch.Generator] = None) -> Tuple[Weights, Optional[Weights]]:
        """(op weights, edge weights or None) for one forward pass at ``epoch`` (0-based)."""
        return {t: mixture(a) for t, a in self.alphas(params).items()}, None

    def describe(self, epoch: int, epochs: int) -> str:
        """Per-epoch note for progress lines (e.g. the Gumbel temperature)."""
        return ""

    # ---- the derived-architecture distribution (penalty and derivation) ---------------
    def op_probabilities(self, params) -> Weights:
        """P(op | edge kept) over the derivable ops (DARTS: ``none`` excluded and renormalised)."""
        mask = torch.as_tensor(self.derivable)
        return {t: mixture(a, mask.to(a.device).expand_as(a)) for t, a in self.alphas(params).items()}

    def edge_scores(self, params) -> Optional[Weights]:
        """Per-edge multipliers of the derivation score (None: all 1)."""
        return None

    def edge_inclusion(self, params) -> Weights:
        """P(edge kept in the derived cell).

        [M] DARTS has no edge distribution: the derivation keeps 2 of the n in-edges of each
        node, so each edge counts 2/n (NB201 keeps every edge: 1).
        """
        out = {}
        for t, a in self.alphas(params).items():
            incl = torch.ones(a.shape[0], dtype=a.dtype, device=a.device)
            if self.adapter.edges_per_node:
                for rows in self.adapter.node_edges:
                    incl[list(rows)] = min(1.0, self.adapter.edges_per_node / len(rows))
            out[t] = incl
        return out

    def expected_probabilities(self, params) -> Weights:
        """P(edge kept) * P(op | kept) per (edge, op): the weights of an expected cost."""
        incl = self.edge_inclusion(params)
        return {t: incl[t][:, None] * p for t, p in self.op_probabilities(params).items()}

    def pair_logp(self, params) -> Optional[Dict[str, List[np.ndarray]]]:
        """Per node (n_in, n_in) log-scores of keeping each pair of in-edges (DARTS space)."""
        scores = self.edge_scores(params)
        if scores is None:
            return None
        logs = {t: np.log(np.clip(s.detach().cpu().double().numpy(), 1e-300, None)) for t, s in scores.items()}
        return pairs_from_edge_scores(logs, self.adapter.node_edges)

    def derive(self, params, k: int = 1) -> List[Tuple[float, Arch]]:
        """The ``k`` best architectures (log-score, Arch of the space), best first.

        Op scores are log softmax(alpha) over all ops with non-derivable ones excluded, so the
        best architecture is DARTS' rule (see ``monas.plugins.darts.derive``).
        """
        out = []
        with torch.no_grad():
            op_logp = {}
            for t, a in self.alphas(params).items():
                lp = F.log_softmax(a.detach().cpu().double(), dim=-1).numpy()
                lp[:, ~self.derivable] = -np.inf
                op_logp[t] = lp
            if self.adapter.edges_per_node is not None:
                ranked = darts_genotypes(op_logp, self.ops, self.adapter.node_edges, self.pair_logp(params), k)
            else:
                ranked = edge_genotypes(op_logp[self.adapter.cell_types[0]], self.ops, k)
        for score, genotype in ranked:
            out.append((float(score), self.adapter.to_arch(genotype)))
        return out

    # ---- supernet ---------------------------------------------------------------------
    def supernet_options(self) -> Dict:
        """Extra ``space.supernet`` keyword arguments of this method (ops, op set, K)."""
        return {}

