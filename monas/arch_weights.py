"""Per-edge op weights that drive a supernet's forward pass, one function per search mode.

Every supernet takes ``weights`` as a dict {cell type: tensor (edges, ops)} and optionally
``edge_weights`` {cell type: tensor (edges,)}. An op whose weight is exactly 0 in value is not
run (its weight is still added, so a straight-through estimator keeps its gradient); an edge
whose edge weight is exactly 0 is not run either. Architecture parameters (alpha, beta) live
outside the supernet module so weight and architecture optimisers stay separate.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F


def mixture(alpha: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """DARTS continuous relaxation: softmax over the (optionally masked) ops of each edge."""
    if mask is not None:
        alpha = alpha.masked_fill(~mask.bool(), float("-inf"))
    return F.softmax(alpha, dim=-1)


def gumbel_straight_through(alpha: torch.Tensor, tau: float, generator: Optional[torch.Generator] = None,
                            mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """GDAS single path: one op per edge by Gumbel-max on log_softmax(alpha), straight-through.

    Returns h = onehot(argmax p) - stopgrad(p) + p with p = softmax((log_softmax(alpha) + g)/tau);
    resamples rows that come out inf or NaN.
    """
    logits = alpha if mask is None else alpha.masked_fill(~mask.bool(), float("-inf"))
    log_p = F.log_softmax(logits, dim=-1)
    while True:
        u = torch.rand(alpha.shape, generator=generator, device=alpha.device).clamp_(1e-10, 1.0 - 1e-10)
        g = -torch.log(-torch.log(u))
        p = F.softmax((log_p + g) / tau, dim=-1)
        if torch.isfinite(p).all():
            break
    index = p.argmax(dim=-1, keepdim=True)
    hard = torch.zeros_like(p).scatter_(-1, index, 1.0)
    return hard - p.detach() + p


def one_hot(indices: Sequence[int], num_ops: int) -> torch.Tensor:
    """A discrete subnet: weight 1 on the chosen op of each edge, 0 elsewhere (no gradient)."""
    idx = torch.as_tensor(list(indices), dtype=torch.long)
    return F.one_hot(idx, num_ops).float()


def max_w(weights: torch.Tensor) -> torch.Tensor:
    """sharpDARTS Max-W weighting: 1 - max(w) + w per edge (best op 1, none vanishes)."""
    return 1.0 - weights.max(dim=-1, keepdim=True).values + weights


def sample_categorical(alpha: torch.Tensor, generator: Optional[torch.Generator] = None,
                       mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One op index per edge drawn from Categorical(softmax(alpha)) over the active ops."""
    probs = mixture(alpha.detach(), mask)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


WeightDict = Dict[str, torch.Tensor]
