"""ROME's topology sampling: Gumbel-Top2 edge selection per node, and its closed forms.

For node j with incoming edges i, ROME (v2) turns edge logits beta into per-node probabilities
p_i = softmax_i(beta_{i,j}), draws Gumbel noise g_i and keeps the **two** edges with the largest
``log p_i + g_i``, so every node has in-degree exactly 2. Taking the top 2 of perturbed
log-probabilities is the same as drawing 2 edges without replacement from p (Gumbel-top-k
trick), so the marginal inclusion probability of edge i is

    pi_i = p_i + sum_{l != i} p_l * p_i / (1 - p_l)

(paper, Sec. 3.2), and a pair {i, k} is drawn with probability
``p_i p_k / (1 - p_i) + p_k p_i / (1 - p_k)``.

Gradient [M]: the paper only says the scheme is made differentiable. We use the
straight-through estimator B - stopgrad(B~) + B~ with the relaxed B~ = softmax((log p + g)/tau)
over the node's in-edges; kept edges have value 1 and dropped edges value exactly 0 (so the
supernet does not run them), while gradients flow through B~.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F


def _gumbel(shape, generator: Optional[torch.Generator], device) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device).clamp_(1e-10, 1.0 - 1e-10)
    return -torch.log(-torch.log(u))


def gumbel_top2(beta: torch.Tensor, node_edges: Sequence[Sequence[int]], tau: float,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Straight-through top-2 edge mask of one cell type (see module docstring).

    ``beta`` is (num_edges,) edge logits; ``node_edges`` lists the edge rows entering each node.
    Nodes with at most 2 in-edges keep them all (value 1, gradient still through B~). Returns
    a (num_edges,) tensor of exact 0/1 values carrying straight-through gradients. Rows whose
    relaxation comes out non-finite are redrawn.
    """
    if tau <= 0:
        raise ValueError(f"gumbel_top2 temperature must be > 0, got {tau}")
    parts = [None] * beta.shape[0]
    for rows in node_edges:
        idx = torch.as_tensor(list(rows), device=beta.device)
        logp = F.log_softmax(beta[idx], dim=-1)
        while True:
            g = _gumbel(logp.shape, generator, beta.device)
            soft = F.softmax((logp + g) / tau, dim=-1)
            if torch.isfinite(soft).all():
                break
        hard = torch.zeros_like(soft)
        top = torch.topk((logp + g).detach(), k=min(2, len(rows))).indices
        hard[top] = 1.0
        st = hard - soft.detach() + soft
        for j, r in enumerate(rows):
            parts[r] = st[j]
    return torch.stack(parts)


def inclusion_probabilities(p: torch.Tensor) -> torch.Tensor:
    """Marginal probability of each item being among 2 drawn without replacement from ``p``.

    ``p`` is a probability vector (last dim); with 2 or fewer items every item is kept (1).
    Differentiable in ``p``; rows sum to 2 when there are more than 2 items.
    """
    n = p.shape[-1]
    if n <= 2:
        return torch.ones_like(p)
    ratio = p / (1.0 - p).clamp_min(1e-12)            # p_l / (1 - p_l)
    others = ratio.sum(dim=-1, keepdim=True) - ratio  # sum over l != i
    return p + p * others


def pair_probabilities(p: torch.Tensor) -> torch.Tensor:
    """(n, n) matrix whose [i, k] entry is the probability that the drawn pair is {i, k}.

    Symmetric with a zero diagonal; the upper triangle sums to 1. For n = 2 the only pair has
    probability 1; for n = 1 the matrix is [[1]] (the node keeps its single edge).
    """
    n = p.shape[-1]
    if n == 1:
        return torch.ones(1, 1, dtype=p.dtype, device=p.device)
    if n == 2:
        return torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=p.dtype, device=p.device)
    first = p / (1.0 - p).clamp_min(1e-12)
    m = p[:, None] * first[None, :] + first[:, None] * p[None, :]  # p_i p_k/(1-p_k) + p_k p_i/(1-p_i)
    return m * (1.0 - torch.eye(n, dtype=p.dtype, device=p.device))


def node_inclusion(beta: torch.Tensor, node_edges: Sequence[Sequence[int]]) -> torch.Tensor:
    """(num_edges,) inclusion probability of every edge under Gumbel-Top2 of ``beta``."""
    parts = [None] * beta.shape[0]
    for rows in node_edges:
        idx = torch.as_tensor(list(rows), device=beta.device)
        pi = inclusion_probabilities(F.softmax(beta[idx], dim=-1))
        for j, r in enumerate(rows):
            parts[r] = pi[j]
    return torch.stack(parts)
