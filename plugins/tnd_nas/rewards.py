"""TND-NAS rewards: the soft-constraint product and the Pareto-rank reward, over a (target, w) sweep.

For policy k with targets T_kc (one per cost objective c) and weights w_kc:

- ``product`` (METHODS.md section 3, step 3c; MnasNet-style soft constraint):
  R = acc * prod_c (cost_c / T_kc) ** w_kc, accuracy as a fraction (acc% / 100).
- ``pareto`` [M]: the accuracy factor is replaced by the Pareto-rank score exp(-rank / tau), the
  rank being the sample's level in the constrained non-dominated sorting of the sampled batch
  together with the archive (feasible points first, by pymoo ``NonDominatedSorting`` on
  (-accuracy, costs); infeasible ones after, by total violation); rank 0 = not dominated.
  R = exp(-rank / tau) * prod_c (cost_c / T_kc) ** w_kc.

``w_below`` [M] (MnasNet's alpha/beta pair): the exponent used when cost_c <= T_kc. None keeps
w on both sides, the TND-NAS dev code's form, where T only rescales R and the trade-off point
is set by w alone; a positive ``w_below`` with a negative ``w`` centres the reward on the
target (the reward peaks at cost = T), so each target of the sweep becomes a point of the front.
w = 0 (and ``w_below`` 0 or None) gives the accuracy-only reward.

Per-cost exponents [M]: ``w`` and ``w_below`` may also be a mapping {cost label: number or list
over the policies}, so a policy can weigh its costs differently; a cost with w = 0 (and
``w_below`` 0) is left out of that policy's reward (it stays an objective of the engine's front).
With params and latency this lets part of the sweep trace the params axis whatever the latency,
reaching the large-but-sparse cells that a diagonal sweep (every cost at the same quantile)
never targets.

Targets [M]: unless given, the sweep's targets are spaced geometrically between the smallest and
the largest cost seen on ``n_calibration`` random architectures of the space, measured by the
engine (``ctx.measure``): T_kc = lo_c * (hi_c / lo_c) ** q_k with q_k evenly spaced over
``target_range`` (default (0, 1)). Far-out cheap cells (below Tukey's fence Q1 - 3 IQR of the
log costs, ``target_fence``; e.g. cells with no path to the output, 0.005 ms on a phone where
working cells start at 1 ms) are set apart: the first policy targets the cheapest of them and
the others span the working cells, from the cheapest one above the fence.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

REWARDS = ("product", "pareto")
Number = Union[int, float]


def soft_constraint_factor(costs: np.ndarray, targets: np.ndarray, w: np.ndarray,
                           w_below: Optional[np.ndarray] = None) -> np.ndarray:
    """prod_c (cost_c / T_kc) ** w_kc for every policy k and sample: (n_policies, N).

    ``costs``: (N, C) positive; ``targets``, ``w``, ``w_below``: (n_policies, C).
    """
    costs = np.asarray(costs, dtype=np.float64)
    if costs.size and np.any(costs <= 0):
        raise ValueError("soft-constraint reward needs positive costs (cost / target is raised to w); "
                         f"got a cost of {costs.min():g}")
    ratio = costs[None, :, :] / np.asarray(targets, dtype=np.float64)[:, None, :]  # (n, N, C)
    w = np.asarray(w, dtype=np.float64)[:, None, :]
    if w_below is not None:
        w = np.where(ratio <= 1.0, np.asarray(w_below, dtype=np.float64)[:, None, :], w)
    return np.prod(ratio ** w, axis=2)


def product_reward(acc: np.ndarray, costs: np.ndarray, targets: np.ndarray, w: np.ndarray,
                   w_below: Optional[np.ndarray] = None) -> np.ndarray:
    """R = acc/100 * prod_c (cost_c/T_kc)^w_kc: (n_policies, N); ``acc`` in percent, (N,)."""
    return np.asarray(acc, dtype=np.float64)[None, :] / 100.0 * soft_constraint_factor(costs, targets, w, w_below)


def constrained_ranks(F: np.ndarray, violation: Optional[np.ndarray] = None) -> np.ndarray:
    """Rank of each row of ``F`` (minimisation form): its non-dominated level among the feasible
    rows (0 = non-dominated); infeasible rows (violation > 0) come after every feasible level,
    one level per distinct total violation, in ascending order. Rows with NaN get the last level."""
    F = np.asarray(F, dtype=np.float64)
    n = len(F)
    ranks = np.zeros(n, dtype=np.int64)
    if n == 0:
        return ranks
    cv = np.zeros(n) if violation is None else np.asarray(violation, dtype=np.float64)
    finite = np.isfinite(F).all(axis=1) & np.isfinite(cv)
    feas = np.flatnonzero(finite & (cv <= 0))
    top = 0
    if len(feas):
        _, r = NonDominatedSorting().do(F[feas], return_rank=True)
        ranks[feas] = r
        top = int(r.max()) + 1
    infeas = np.flatnonzero(finite & (cv > 0))
    if len(infeas):
        levels = np.unique(cv[infeas], return_inverse=True)[1]
        ranks[infeas] = top + levels
        top += int(levels.max()) + 1
    ranks[~finite] = top
    return ranks


def pareto_score(ranks: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """exp(-rank / temperature): 1 on the non-dominated level, decaying with the level."""
    return np.exp(-np.asarray(ranks, dtype=np.float64) / float(temperature))


def pareto_reward(ranks: np.ndarray, costs: np.ndarray, targets: np.ndarray, w: np.ndarray,
                  w_below: Optional[np.ndarray] = None, temperature: float = 1.0) -> np.ndarray:
    """R = exp(-rank/tau) * prod_c (cost_c/T_kc)^w_kc: (n_policies, N)."""
    return pareto_score(ranks, temperature)[None, :] * soft_constraint_factor(costs, targets, w, w_below)


#: how calibrated targets are spread between the cheapest and the costliest calibration cell
SPACINGS = ("log", "linear", "quantile")


class Sweep:
    """The (target, w) points of a TND-NAS run, one per policy (module docstring).

    ``costs``: cost-objective labels; ``n``: number of points; ``w`` and ``w_below``: a number
    (every point), a list cycled over the points, or a mapping {cost label: number or list} (a
    cost missing from the mapping gets 0 in ``w`` and ``w_below``); ``targets``: None (calibrated, see
    :meth:`calibrate`) or {cost label: list of n targets}; ``target_range``: (q_lo, q_hi).
    """

    def __init__(self, costs: Sequence[str], n: int, w: Union[Number, Sequence[Number]] = -1.5,
                 w_below: Union[None, Number, Sequence[Number]] = 1.5,
                 targets: Optional[Dict[str, Sequence[Number]]] = None,
                 target_range: Tuple[float, float] = (0.0, 1.0), target_spacing: str = "log",
                 target_fence: Optional[float] = 3.0) -> None:
        if target_spacing not in SPACINGS:
            raise ValueError(f"target_spacing {target_spacing!r}; accepted: {', '.join(SPACINGS)}")
        self.spacing = target_spacing
        if target_fence is not None and not (isinstance(target_fence, (int, float)) and target_fence > 0):
            raise ValueError(f"target_fence must be a positive number or null, got {target_fence!r}")
        self.fence = None if target_fence is None else float(target_fence)
        self.costs = list(costs)
        self.n = int(n)
        self.w_matrix = _per_cost(w, self.costs, self.n, "w")
        self.w_below_matrix = None if w_below is None else _per_cost(w_below, self.costs, self.n, "w_below")
        lo, hi = (float(v) for v in target_range)
        # beyond [0, 1] the targets extrapolate the calibrated log span (random cells rarely reach
        # the cheapest or the costliest cells of a space)
        if not -1.0 <= lo <= hi <= 2.0:
            raise ValueError(f"target_range must satisfy -1 <= lo <= hi <= 2, got {list(target_range)}")
        self.q = np.linspace(lo, hi, self.n) if self.n > 1 else np.array([(lo + hi) / 2])
        self.targets: Optional[np.ndarray] = None
        if targets is not None:
            missing = [c for c in self.costs if c not in targets]
            extra = [c for c in targets if c not in self.costs]
            if missing or extra:
                raise ValueError(f"targets must give a list for each cost objective {self.costs}; "
                                 f"missing {missing}, unknown {extra}")
            cols = []
            for c in self.costs:
                vals = [float(v) for v in targets[c]]
                if len(vals) != self.n or any(not v > 0 for v in vals):
                    raise ValueError(f"targets[{c!r}] needs {self.n} positive numbers (one per policy), got {vals}")
                cols.append(vals)
            self.targets = np.array(cols).T

    @property
    def calibrated(self) -> bool:
        return self.targets is not None

    def calibrate(self, cost_samples: np.ndarray, upper: Optional[np.ndarray] = None) -> None:
        """Targets from the costs (N, C) of random architectures (geometric spacing). ``upper``
        (C,), optional: hard bounds of the costs (constraints ``cost <= b``); the targets span the
        calibration costs up to the bound, not beyond it, so no policy aims at infeasible cells."""
        c = np.asarray(cost_samples, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != len(self.costs) or len(c) == 0:
            raise ValueError(f"calibration costs must be (N>0, {len(self.costs)}), got {c.shape}")
        if upper is not None:
            upper = np.asarray(upper, dtype=np.float64).reshape(-1)
            feasible = np.all(c <= upper[None, :], axis=1)
            if feasible.any():  # the span of the feasible calibration cells, capped at the bounds
                c = np.minimum(c[feasible], upper[None, :])
        lo, hi, least = self._floor(c), c.max(axis=0), c.min(axis=0)
        if np.any(least <= 0):
            raise ValueError("cost objectives must be positive for the soft-constraint reward; "
                             f"calibration saw {dict(zip(self.costs, least.tolist()))}")
        hi = np.maximum(hi, lo * (1 + 1e-9))
        q = self.q[:, None]
        outliers = bool(np.any(lo > least)) and self.n > 2
        if outliers:  # the first policy keeps the cheapest cell's cost; the others span the working cells
            q = np.concatenate([self.q[:1], np.linspace(self.q[0], self.q[-1], self.n - 1)])[:, None]
        if self.spacing == "log":
            self.targets = lo[None, :] * (hi / lo)[None, :] ** q
        elif self.spacing == "linear":
            self.targets = np.maximum(lo[None, :] + (hi - lo)[None, :] * q, 1e-3 * lo[None, :])
        else:  # quantiles of the calibration costs (the range clipped to [0, 1])
            self.targets = np.quantile(c, np.clip(self.q, 0.0, 1.0), axis=0).reshape(self.n, len(self.costs))
        if outliers and self.spacing != "quantile":
            self.targets[0] = least

    def _floor(self, c: np.ndarray) -> np.ndarray:
        """Per cost, the cheapest calibration cost that is not a far-out low outlier: below
        Q1 - fence x IQR of the log costs (Tukey's fence) lie degenerate cells (e.g. a cell with no
        path from input to output times at 0.005 ms where working cells start at 1 ms); geometric
        targets from there would aim most policies at costs where nothing but those cells exist."""
        lo = c.min(axis=0)
        if self.fence is None or np.any(c <= 0):
            return lo
        L = np.log(c)
        q1, q3 = np.quantile(L, [0.25, 0.75], axis=0)
        fence = q1 - self.fence * (q3 - q1)
        return np.array([c[L[:, j] >= fence[j], j].min() for j in range(c.shape[1])])

    def w(self) -> np.ndarray:
        """(n_policies, n_costs) exponents above the targets."""
        return self.w_matrix.copy()

    def w_below(self) -> Optional[np.ndarray]:
        """(n_policies, n_costs) exponents at or below the targets (None: ``w`` on both sides)."""
        return None if self.w_below_matrix is None else self.w_below_matrix.copy()

    def points(self) -> List[Dict[str, object]]:
        """One dict per policy: its targets per cost, w and w_below (for reports)."""
        out = []
        for k in range(self.n):
            out.append({
                "targets": None if self.targets is None else dict(zip(self.costs, self.targets[k].tolist())),
                "w": dict(zip(self.costs, self.w_matrix[k].tolist())),
                "w_below": None if self.w_below_matrix is None else dict(zip(self.costs, self.w_below_matrix[k].tolist())),
            })
        return out

    def state_dict(self) -> Dict:
        return {"targets": None if self.targets is None else self.targets.tolist()}

    def load_state_dict(self, state: Dict) -> None:
        t = state.get("targets")
        self.targets = None if t is None else np.asarray(t, dtype=np.float64)


def _per_cost(value, costs: Sequence[str], n: int, name: str) -> np.ndarray:
    """(n, len(costs)) exponents from a number, a list over the points, or {cost: number or list}."""
    if isinstance(value, dict):
        unknown = [c for c in value if c not in costs]
        if unknown:
            raise ValueError(f"{name} names unknown cost objectives {unknown}; the costs are {list(costs)}")
        cols = [_cycle(value[c], n, f"{name}[{c!r}]") if c in value else np.zeros(n) for c in costs]
        return np.stack(cols, axis=1)
    return np.repeat(_cycle(value, n, name)[:, None], len(costs), axis=1)


def _cycle(value, n: int, name: str) -> np.ndarray:
    vals = [value] if isinstance(value, (int, float)) else list(value)
    try:
        arr = np.array([float(v) for v in vals])
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if len(arr) == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite number or a non-empty list of them, got {value!r}")
    return np.resize(arr, n)
