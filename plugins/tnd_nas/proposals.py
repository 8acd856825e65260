"""Candidates from the learned distributions: low-entropy sampling that avoids known architectures.

For policy k, :func:`propose` draws ``draws`` samples from pi_k and proposes the most probable
one (under pi_k) that is new: not evaluated, not already proposed, and, with ``skip_dominated``,
not predicted to be dominated. The policy's derived architecture (the argmax option of every
variable) is tried first, so ``ask`` returns each policy's derived architecture while it is new,
then the most probable unexplored neighbours of it: the late, low-entropy sampling of a converged distribution [M].

Front neighbours [M]: with probability ``front_neighbours`` per proposal (after the random
start), policy k proposes instead its most probable new architecture among those one variable
away from a point of the evaluated front (:func:`propose_near_front`). The policy still
chooses (by its probabilities), but only next to what is already non-dominated: a converged
policy's own draws stay next to its argmax, so without this the front between the policies'
targets fills slowly. Cross-validated with ``policy_lr`` (plugins/tnd_nas/README.md, Results).

Predicted dominance [M] (uses only costs, which the engine measures cheaply for any
architecture): a candidate is skipped when some point of the archive's front is both more
accurate than the best architecture policy k has found (by its reward) and no more costly in
every cost objective; the candidate would need to beat its policy's best to be worth the
evaluation. When no candidate passes, the draws are widened with the dev code's
epsilon-greedy option (uniform mixing per edge), then the filter is dropped.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Set

import numpy as np

EPSILONS = (0.0, 0.1, 0.3, 1.0)


class FrontFilter:
    """Predicted-dominance test against the front points (accuracy ``front_acc``, costs
    ``front_costs`` (F, C)) more accurate than ``ref_acc``."""

    def __init__(self, front_acc: np.ndarray, front_costs: np.ndarray) -> None:
        self.front_acc = np.asarray(front_acc, dtype=np.float64)
        self.front_costs = np.asarray(front_costs, dtype=np.float64).reshape(len(self.front_acc), -1)

    def dominated(self, costs: np.ndarray, ref_acc: float) -> bool:
        if not len(self.front_acc) or not np.isfinite(ref_acc):
            return False
        better = self.front_acc > ref_acc
        if not better.any():
            return False
        # a point that costs exactly as much predicts nothing: the candidate may beat it (discrete
        # costs such as params tie often); only a point cheaper in some cost and no dearer in any
        c = np.asarray(costs)[None, :]
        fc = self.front_costs[better]
        return bool(np.any(np.all(fc <= c, axis=1) & np.any(fc < c, axis=1)))


def propose(policies, k: int, adapter, rng: np.random.Generator, known: Set[str], known_codes: Set[bytes],
            costs_of: Callable, ref_acc: float, front: Optional[FrontFilter], draws: int = 256,
            max_checks: int = 64):
    """The candidate of policy ``k`` (module docstring), or None when every draw is known.

    ``known``: keys evaluated or already proposed; ``known_codes``: their samples' bytes;
    ``costs_of(arch)``: cost vector through the engine's cache (called for at most
    ``max_checks`` candidates per epsilon level).
    """
    probs = policies.probs(k)
    derived = adapter.sample_of(adapter.derive(probs))
    derived = policies.argmax(k)[None] if derived is None else derived[None]
    for use_filter in ((True, False) if front is not None else (False,)):
        for eps in EPSILONS:
            S = np.unique(policies.sample(k, draws, rng, eps=eps), axis=0)
            lp = policies.log_prob_np(S, k)
            S = np.concatenate([derived, S[np.argsort(-lp, kind="stable")]])
            found = first_new(S, adapter, known, known_codes, costs_of, ref_acc, front if use_filter else None,
                              max_checks)
            if found is not None:
                return found
    return None


def first_new(S: np.ndarray, adapter, known: Set[str], known_codes: Set[bytes], costs_of: Callable, ref_acc: float,
              front: Optional[FrontFilter], max_checks: int = 64):
    """The first sample of ``S`` (in order) that is new and, with ``front``, not predicted
    dominated (at most ``max_checks`` cost checks), as (arch, sample); None when there is none."""
    checks = 0
    for i in range(len(S)):
        code = S[i].tobytes()
        if code in known_codes:
            continue
        arch = adapter.to_arch(S[i])
        if arch.key in known:
            continue
        if front is not None:
            if checks >= max_checks:
                break
            checks += 1
            if front.dominated(costs_of(arch), ref_acc):
                continue
        return arch, S[i]
    return None


def neighbours(samples: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Every sample one variable away from a row of ``samples`` (allowed: bool (V, W)), unique."""
    out = []
    for x in np.asarray(samples, dtype=np.int64).reshape(-1, allowed.shape[0]):
        for i in range(len(x)):
            for j in np.flatnonzero(allowed[i]):
                if j != x[i]:
                    y = x.copy()
                    y[i] = j
                    out.append(y)
    return np.unique(np.array(out, dtype=np.int64), axis=0) if out else np.zeros((0, allowed.shape[0]), np.int64)


def propose_near_front(policies, k: int, adapter, pool: np.ndarray, known: Set[str], known_codes: Set[bytes],
                       costs_of: Callable, ref_acc: float, front: Optional[FrontFilter], max_checks: int = 64):
    """Policy k's most probable new architecture one variable away from a front point (``pool``:
    :func:`neighbours` of the front); options the policy has shrunk away are never proposed."""
    if not len(pool):
        return None
    lp = policies.log_prob_np(pool, k)
    order = np.argsort(-lp, kind="stable")
    S = pool[order[np.isfinite(lp[order])]]
    for f in ((front, None) if front is not None else (None,)):
        found = first_new(S, adapter, known, known_codes, costs_of, ref_acc, f, max_checks)
        if found is not None:
            return found
    return None
