"""Per-edge categorical policies over ops, updated by REINFORCE with a moving-average baseline.

A :class:`PolicySet` holds ``n`` independent policies (one per point of the (target, w) sweep),
each with logits alpha {cell type: (edges, ops)}; stacked, alpha[t] has shape (n, edges, ops).
Policy k draws an architecture by sampling, on every edge independently, an op from
Categorical(softmax(alpha_k[edge])) over the edge's *active* ops (the progressive stages switch
ops off, :mod:`.shrinking`). log pi_k(a) sums the per-edge log-probabilities over all edges of
all cell types (TND-NAS dev code: 14 normal + 14 reduce edges).

REINFORCE (METHODS.md section 3, step 3d-e) for M samples a_m with rewards R_m:

    loss_k = (1/M) sum_m (R_m - b_k) * (-log pi_k(a_m))        (b_k detached)
    alpha_k.grad = -(1/M) sum_m (R_m - b_k) (onehot(a_m) - softmax(alpha_k))

then the gradient norm of each policy is clipped to ``grad_clip`` (5) and Adam (lr 1e-2,
betas (0.5, 0.999), weight decay 1e-3 at dev HEAD) takes the step, which *raises* the
probability of above-baseline samples. Baseline: b = mean(R) at a policy's first step, then
b <- b + gamma (mean(R) - b) with gamma = 0.95. Nothing else ever writes a gradient into alpha:
the supernet's cross-entropy sees ``alpha.detach()`` only.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from monas.hardware import pinned_threads


def policy_gradient_loss(alpha: Dict[str, torch.Tensor], masks: Dict[str, torch.Tensor],
                         samples: Dict[str, torch.Tensor], advantages: torch.Tensor,
                         weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Sum over policies of the REINFORCE surrogate ``(1/M) sum_m A_km * (-log pi_k(a_km))``.

    ``alpha[t]``, ``masks[t]``: (n, E, O); ``samples[t]``: (n, M, E) op indices; ``advantages``:
    (n, M), R - b, treated as constants. ``weights`` (n, M), optional, replaces the 1/M of each
    sample (e.g. importance weights); by default every sample weighs 1/M.
    """
    logp = log_prob(alpha, masks, samples)  # (n, M)
    w = torch.full_like(logp, 1.0 / logp.shape[1]) if weights is None else weights
    return -(w * advantages.detach() * logp).sum()


def log_prob(alpha: Dict[str, torch.Tensor], masks: Dict[str, torch.Tensor],
             samples: Dict[str, torch.Tensor]) -> torch.Tensor:
    """log pi_k(a_km), summed over all edges of all cell types: (n, M)."""
    total = None
    for t, a in alpha.items():
        lp = F.log_softmax(a.masked_fill(~masks[t], float("-inf")), dim=-1)  # (n, E, O)
        s = samples[t]  # (n, M, E)
        picked = torch.gather(lp.unsqueeze(1).expand(-1, s.shape[1], -1, -1), 3, s.unsqueeze(-1)).squeeze(-1)
        term = picked.sum(-1)
        total = term if total is None else total + term
    return total


class PolicySet:
    """``n`` TND-NAS policies over ``shapes`` {cell type: (E, O)} with their optimiser and baselines.

    Parameters: ``lr`` (Adam, 1e-2 in the dev code), ``betas`` ((0.5, 0.999)), ``weight_decay``
    (1e-3), ``gamma`` (baseline update rate, 0.95), ``grad_clip`` (per-policy norm, 5; None
    disables), ``init_std`` (alpha ~ init_std * N(0, 1), 1e-3 as DARTS), ``seed``, ``valid``
    ({t: bool (E, O)}: the columns that are options; default all).
    """

    def __init__(self, shapes: Dict[str, Tuple[int, int]], n: int, lr: float = 1e-2,
                 betas: Tuple[float, float] = (0.5, 0.999), weight_decay: float = 1e-3, gamma: float = 0.95,
                 grad_clip: Optional[float] = 5.0, init_std: float = 1e-3, seed: int = 0,
                 valid: Optional[Dict[str, np.ndarray]] = None) -> None:
        if int(n) < 1:
            raise ValueError(f"PolicySet needs n >= 1 policies, got {n}")
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"baseline gamma must be in (0, 1], got {gamma}")
        self.shapes = {t: (int(e), int(o)) for t, (e, o) in shapes.items()}
        self.n = int(n)
        self.gamma = float(gamma)
        self.grad_clip = grad_clip
        gen = torch.Generator().manual_seed(int(seed))
        self.alpha: Dict[str, torch.nn.Parameter] = {
            t: torch.nn.Parameter(init_std * torch.randn(self.n, e, o, generator=gen, dtype=torch.float64))
            for t, (e, o) in self.shapes.items()}
        # ``valid`` {t: bool (E, O)}: the options that exist (a variable with fewer options than
        # the widest one has its extra columns off from the start)
        self.masks: Dict[str, torch.Tensor] = {
            t: (torch.ones(self.n, e, o, dtype=torch.bool) if valid is None or t not in valid
                else torch.as_tensor(np.asarray(valid[t], dtype=bool)).expand(self.n, e, o).clone())
            for t, (e, o) in self.shapes.items()}
        self.optimizer = torch.optim.Adam(list(self.alpha.values()), lr=float(lr), betas=tuple(betas),
                                          weight_decay=float(weight_decay))
        self.baseline = torch.full((self.n,), float("nan"), dtype=torch.float64)
        self.steps = 0

    # ---- distributions ------------------------------------------------------------------
    def log_probs(self, k: Optional[int] = None) -> Dict[str, np.ndarray]:
        """log softmax(alpha) over the active ops (inactive ops: -inf), in numpy (tiny arrays:
        numpy beats torch's thread pool here): (n, E, O), or (E, O) for policy ``k``."""
        out = {}
        for t, a in self.alpha.items():
            x = a.detach().numpy() if k is None else a.detach().numpy()[k]
            m = self.masks[t].numpy() if k is None else self.masks[t].numpy()[k]
            x = np.where(m, x, -np.inf)
            z = x - x.max(axis=-1, keepdims=True)
            out[t] = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return out

    def probs(self, k: Optional[int] = None) -> Dict[str, np.ndarray]:
        """softmax(alpha) over the active ops (inactive ops get 0): (n, E, O) or (E, O) for ``k``."""
        return {t: np.exp(lp) for t, lp in self.log_probs(k).items()}

    def sample(self, k: int, m: int, rng: np.random.Generator, eps: float = 0.0) -> np.ndarray:
        """``m`` samples of policy ``k`` as (m, total edges) op indices, cell types concatenated.

        ``eps`` > 0 mixes each edge's distribution with the uniform one over its active ops
        (the dev code's epsilon-greedy option).
        """
        parts = []
        for t, p in self.probs(k).items():
            if eps > 0.0:
                active = self.masks[t][k].numpy()
                p = (1.0 - eps) * p + eps * active / active.sum(-1, keepdims=True)
            cum = np.cumsum(p, axis=-1)
            u = rng.random((m, p.shape[0], 1))
            idx = (u > cum[None]).sum(-1)
            parts.append(np.minimum(idx, p.shape[1] - 1))
        return np.concatenate(parts, axis=1)

    def log_prob_np(self, samples: np.ndarray, k: Optional[int] = None) -> np.ndarray:
        """log pi_k(a) of ``samples`` (N, total edges) under every policy, (n, N), or under
        policy ``k`` only, (N,)."""
        S = np.asarray(samples, dtype=np.int64)
        total, i = 0.0, 0
        for t, lp in self.log_probs(k).items():
            e = lp.shape[-2]
            idx = S[:, i:i + e]  # (N, E)
            i += e
            if k is None:
                total = total + lp[:, np.arange(e)[None, :], idx].sum(-1)  # (n, N)
            else:
                total = total + lp[np.arange(e)[None, :], idx].sum(-1)
        return np.asarray(total, dtype=np.float64)

    def _split(self, samples: np.ndarray, shared: bool) -> Dict[str, torch.Tensor]:
        """(n, M, E_total) or, with ``shared``, (N, E_total) for every policy -> {t: (n, M, E)}."""
        s = torch.as_tensor(np.asarray(samples), dtype=torch.long)
        if shared:
            s = s.unsqueeze(0).expand(self.n, -1, -1)
        out, i = {}, 0
        for t, (e, _) in self.shapes.items():
            out[t] = s[..., i:i + e]
            i += e
        return out

    def argmax(self, k: int) -> np.ndarray:
        """The most probable sample of policy ``k`` (argmax op of each edge)."""
        return np.concatenate([p.argmax(-1) for p in self.probs(k).values()])

    # ---- REINFORCE ----------------------------------------------------------------------
    def step(self, samples: np.ndarray, rewards: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
        """One REINFORCE step of every policy (module docstring); returns the advantages (n, M).

        ``samples``: (n, M, total edges); ``rewards``: (n, M); ``weights`` (n, M) optional per-
        sample weights summing to 1 per policy (default 1/M, the plain estimator).
        """
        with pinned_threads(1):  # tiny tensors: a thread pool only adds contention
            return self._step(samples, rewards, weights)

    def _step(self, samples, rewards, weights) -> np.ndarray:
        R = torch.as_tensor(np.asarray(rewards, dtype=np.float64))
        n, m = R.shape
        if n != self.n:
            raise ValueError(f"PolicySet.step got rewards for {n} policies, holds {self.n}")
        w = torch.full_like(R, 1.0 / m) if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float64))
        mean = (w * R).sum(1) / w.sum(1).clamp_min(1e-300)
        fresh = torch.isnan(self.baseline)
        self.baseline[fresh] = mean[fresh]
        adv = R - self.baseline[:, None]
        self.optimizer.zero_grad(set_to_none=True)
        loss = policy_gradient_loss(self.alpha, self.masks, self._split(samples, shared=False), adv, w)
        loss.backward()
        self._clip()
        self.optimizer.step()
        self.baseline = self.baseline + self.gamma * (mean - self.baseline)
        self.steps += 1
        return adv.numpy()

    def _clip(self) -> None:
        if self.grad_clip is None:
            return
        sq = None
        for a in self.alpha.values():
            g = a.grad if a.grad is not None else torch.zeros_like(a)
            s = (g ** 2).flatten(1).sum(1)
            sq = s if sq is None else sq + s
        scale = (float(self.grad_clip) / (sq.sqrt() + 1e-12)).clamp(max=1.0)
        for a in self.alpha.values():
            if a.grad is not None:
                a.grad.mul_(scale.view(-1, 1, 1))

    # ---- state --------------------------------------------------------------------------
    def state_dict(self) -> Dict:
        return {
            "alpha": {t: a.detach().clone() for t, a in self.alpha.items()},
            "masks": {t: m.clone() for t, m in self.masks.items()},
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline.clone(),
            "steps": self.steps,
        }

    def load_state_dict(self, state: Dict) -> None:
        with torch.no_grad():
            for t, a in self.alpha.items():
                a.copy_(state["alpha"][t])
                self.masks[t] = state["masks"][t].clone().bool()
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"].clone()
        self.steps = int(state["steps"])
