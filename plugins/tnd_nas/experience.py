"""What the engine has evaluated, as TND-NAS sees it: samples, accuracies, costs, ranks, rewards.

The black-box mode (and the one-shot mode after its search) learns from the engine's
evaluations: a policy step draws M architectures from pi_k *restricted to the evaluated ones*,
which is what rejection sampling against the evaluated set gives: draws that hit an evaluated
architecture are rewarded from the cache at no budget cost (accuracy from the evaluation,
costs through ``ctx.measure``); draws that miss are the candidates that ``ask`` proposes (see
:mod:`.proposals`) and are rewarded once the engine has evaluated them. Every evaluation in
``ctx.archive`` counts, whichever generator of a portfolio proposed it.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from monas.plugins.tnd_nas.rewards import constrained_ranks, pareto_reward, product_reward


class Experience:
    """Evaluated architectures as samples of ``adapter`` with the values the rewards need.

    ``accuracy``: the accuracy label; ``accuracy_from_error``: the label holds an error in % (the
    reward uses 100 - value); ``costs``: cost labels; ``measure(arch, label)``: the engine's
    cached measurement.
    """

    def __init__(self, adapter, accuracy: str, accuracy_from_error: bool, costs: Sequence[str], measure) -> None:
        self.adapter = adapter
        self.accuracy = accuracy
        self.accuracy_from_error = accuracy_from_error
        self.costs = list(costs)
        self.measure = measure
        self.keys: Dict[str, int] = {}
        self.codes: Dict[bytes, int] = {}
        self.archs: List = []
        self.samples: List[np.ndarray] = []
        self.acc: List[float] = []
        self.cost_rows: List[np.ndarray] = []
        self.violation: List[float] = []
        self.ok: List[bool] = []
        self.n_synced = 0

    def __len__(self) -> int:
        return len(self.archs)

    def sync(self, archive) -> int:
        """Take in the archive's evaluations added since the last call; returns how many."""
        new = archive.evaluations[self.n_synced:]
        self.n_synced = len(archive.evaluations)
        added = 0
        for ev in new:
            if ev.arch.key in self.keys:
                continue
            sample = self.adapter.sample_of(ev.arch)
            self.keys[ev.arch.key] = len(self.archs)
            if sample is None:  # uses an op this run does not search: remembered, never learned from
                self.archs.append(ev.arch)
                self.samples.append(None)
                self.acc.append(math.nan)
                self.cost_rows.append(np.full(len(self.costs), math.nan))
                self.violation.append(math.inf)
                self.ok.append(False)
                continue
            self.codes[sample.tobytes()] = len(self.archs)
            ok = ev.state.value == "complete" and self.accuracy in ev.values
            acc = float(ev.values.get(self.accuracy, math.nan))
            if self.accuracy_from_error:
                acc = 100.0 - acc
            costs = np.full(len(self.costs), math.nan)
            if ok:
                try:
                    costs = np.array([float(self.measure(ev.arch, c)) for c in self.costs])
                except Exception:  # a cost that cannot be measured: the evaluation failed for us
                    ok = False
            ok = ok and math.isfinite(acc) and bool(np.all(np.isfinite(costs))) and bool(np.all(costs > 0))
            self.archs.append(ev.arch)
            self.samples.append(sample)
            self.acc.append(acc if ok else math.nan)
            self.cost_rows.append(costs)
            self.violation.append(ev.total_violation if ok else math.inf)
            self.ok.append(ok)
            added += 1
        return added

    def usable(self) -> np.ndarray:
        """Indices of evaluations a policy can learn from (complete, finite, positive costs)."""
        return np.flatnonzero(np.array(self.ok, dtype=bool))

    def objective_matrix(self, idx: np.ndarray) -> np.ndarray:
        """Minimisation form (-accuracy, costs...) of evaluations ``idx``."""
        acc = np.array(self.acc)[idx]
        costs = np.array(self.cost_rows)[idx].reshape(len(idx), len(self.costs))
        return np.concatenate([-acc[:, None], costs], axis=1)

    def rewards(self, kind: str, idx: np.ndarray, sweep, temperature: float) -> np.ndarray:
        """Reward of evaluations ``idx`` under every policy of ``sweep``: (n_policies, len(idx))."""
        costs = np.array(self.cost_rows)[idx].reshape(len(idx), len(self.costs))
        if kind == "product":
            return product_reward(np.array(self.acc)[idx], costs, sweep.targets, sweep.w(), sweep.w_below())
        ranks = constrained_ranks(self.objective_matrix(idx), np.array(self.violation)[idx])
        return pareto_reward(ranks, costs, sweep.targets, sweep.w(), sweep.w_below(), temperature)

    def cached_steps(self, policies, kind: str, sweep, temperature: float, M: int, steps: int,
                     rng: np.random.Generator) -> Optional[np.ndarray]:
        """``steps`` REINFORCE steps of every policy, each on M draws of pi_k restricted to the
        evaluated architectures (rewards from the cache). Returns each policy's best evaluation
        index (by its reward), or None when nothing usable was evaluated yet."""
        idx = self.usable()
        if len(idx) == 0:
            return None
        S = np.stack([self.samples[i] for i in idx])
        R = self.rewards(kind, idx, sweep, temperature)  # (n, N)
        for _ in range(int(steps)):
            self._step(policies, S, R, M, rng)
        return idx[R.argmax(axis=1)]

    @staticmethod
    def _step(policies, S: np.ndarray, R: np.ndarray, M: int, rng: np.random.Generator) -> None:
        idx = np.arange(len(S))
        logp = policies.log_prob_np(S)  # (n, N)
        draws = np.zeros((policies.n, M), dtype=np.int64)
        for k in range(policies.n):
            lp = logp[k]
            finite = np.isfinite(lp)
            if not finite.any():  # this policy gives no evaluated architecture any probability
                draws[k] = -1
                continue
            p = np.where(finite, np.exp(lp - lp[finite].max()), 0.0)
            draws[k] = rng.choice(len(idx), size=M, p=p / p.sum())
        rewards = np.zeros((policies.n, M))
        samples = np.zeros((policies.n, M, S.shape[1]), dtype=np.int64)
        for k in range(policies.n):
            if draws[k, 0] < 0:  # zero advantage on its own argmax: no learning signal
                samples[k] = policies.argmax(k)[None]
                base = float(policies.baseline[k])
                rewards[k] = 0.0 if math.isnan(base) else base
            else:
                samples[k] = S[draws[k]]
                rewards[k] = R[k, draws[k]]
        policies.step(samples, rewards)
