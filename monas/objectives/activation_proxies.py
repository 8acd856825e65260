"""Training-free proxies that look at one batch of data: NASWOT and jacob_cov (Mellor et al.).

Both score a network at initialisation from a single batch ``x`` of N inputs, without labels
and without a weight update:

- **NASWOT** (Mellor et al., ICML 2021, "Neural Architecture Search without Training"): every
  ReLU input is turned into a binary code (1 where the pre-activation is > 0), the codes of all
  ReLUs of a sample are concatenated into c_i of length N_A, and the kernel is
  K_ij = N_A - d_H(c_i, c_j) = c_i . c_j + (1 - c_i) . (1 - c_j), the number of units on which
  samples i and j agree. The score is log det K. K is a sum of integer Gram matrices, so det K
  is a non-negative integer: a non-singular kernel scores >= 0, and a singular one (two samples
  with the same code, e.g. a network that ignores its input) scores 0, the infimum.
- **jacob_cov** (Mellor et al., arXiv 2006.04647 v1): J_i = d(sum of the outputs)/d x_i, one
  backward pass of ones over the batch (as the reference code); Sigma = the correlation matrix
  of the N flattened J_i; with its eigenvalues v and k = 1e-5 the score is
  -sum_i (log(v_i + k) + 1 / (v_i + k)) (higher: less correlated Jacobians). A sample whose J is
  constant has no defined correlation; it counts as perfectly correlated (entry 1), the worst
  case, so the score stays finite.

The network runs in train mode, as the reference code leaves it (BatchNorm normalises with the
batch's statistics); its mode, weights, gradients and buffers (BN running statistics) are the
same afterwards. ReLUs are found as ``nn.ReLU`` modules (a functional ``relu`` is not seen).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
import torch.nn as nn

JACOB_COV_K = 1e-5


class _Scoring:
    """Train mode for the duration; mode, buffers and parameter gradients restored on exit."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net

    def __enter__(self) -> nn.Module:
        self._training = self.net.training
        self._buffers = {n: b.detach().clone() for n, b in self.net.named_buffers()}
        self._grads = {n: None if p.grad is None else p.grad.detach().clone() for n, p in self.net.named_parameters()}
        self.net.train(True)
        return self.net

    def __exit__(self, *exc) -> None:
        with torch.no_grad():
            for n, b in self.net.named_buffers():
                b.copy_(self._buffers[n])
        for n, p in self.net.named_parameters():
            p.grad = self._grads[n]
        self.net.train(self._training)


def naswot_kernel(codes: np.ndarray) -> np.ndarray:
    """K_ij = c_i . c_j + (1 - c_i) . (1 - c_j) for binary codes (N, N_A): N_A minus the Hamming
    distance of codes i and j (float64)."""
    c = np.asarray(codes, dtype=np.float64)
    return c @ c.T + (1.0 - c) @ (1.0 - c).T


def naswot_score(net: nn.Module, x: torch.Tensor,
                 forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> float:
    """NASWOT of ``net`` on the batch ``x`` (module docstring): log det of the Hamming kernel of
    the ReLU codes; 0 for a singular kernel. ``forward(x)`` defaults to ``net(x)``."""
    codes = []

    def hook(module, inp):
        codes.append((inp[0].detach() > 0).reshape(inp[0].shape[0], -1).cpu())

    hooks = [m.register_forward_pre_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with _Scoring(net), torch.no_grad():
            (forward or net)(x)
    finally:
        for h in hooks:
            h.remove()
    if not codes:
        raise ValueError("naswot: the network ran no nn.ReLU module, so there are no activation codes")
    K = naswot_kernel(torch.cat(codes, dim=1).numpy())
    sign, logdet = np.linalg.slogdet(K)
    return float(logdet) if sign > 0 and np.isfinite(logdet) else 0.0


def jacob_cov_from_jacobians(jacobians: np.ndarray, k: float = JACOB_COV_K) -> float:
    """-sum(log(v + k) + 1/(v + k)) over the eigenvalues v of the correlation matrix of the rows
    of ``jacobians`` (N, D); undefined correlations (a constant row) count as 1."""
    J = np.asarray(jacobians, dtype=np.float64).reshape(len(jacobians), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(J)
    corr = np.nan_to_num(np.atleast_2d(corr), nan=1.0)
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def input_jacobians(net: nn.Module, x: torch.Tensor,
                    forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> np.ndarray:
    """d(sum of the outputs)/dx for the batch ``x`` in train mode: (N, *x.shape[1:]) float64."""
    with _Scoring(net):
        xg = x.detach().clone().requires_grad_(True)
        y = (forward or net)(xg)
        (g,) = torch.autograd.grad(y.sum(), [xg])
    return g.detach().to(torch.float64).cpu().numpy()


def jacob_cov_score(net: nn.Module, x: torch.Tensor,
                    forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None, k: float = JACOB_COV_K) -> float:
    """jacob_cov of ``net`` on the batch ``x`` (module docstring). ``forward(x)`` defaults to ``net(x)``."""
    if x.shape[0] < 2:
        raise ValueError(f"jacob_cov needs a batch of at least 2 inputs, got {x.shape[0]}")
    return jacob_cov_from_jacobians(input_jacobians(net, x, forward), k)
