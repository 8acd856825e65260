"""ParetoArchive: every evaluation of a run, its feasible Pareto front, and decisions on it.

Conventions (shared with pymoo and Optuna):

- Objective values are stored as the evaluation reports them (natural units); ``F()`` gives the
  minimisation form, maximised objectives negated.
- Only evaluations whose state is ``complete`` and whose value of every objective is a finite
  number take part in sorting; failed, pruned or NaN-valued ones are kept in ``evaluations`` but
  never enter a front.
- An evaluation is feasible when it is complete and every violation is <= 0; its total violation
  is the sum of the positive violations (a NaN violation counts as infinitely violated).
- The feasible front is kept incrementally: each ``add`` compares the new point with the current
  front only (vectorised numpy), so adding costs O(front size x objectives), never a re-sort.
  Among points with identical objective values only the first one added stays on the front.
"""
from __future__ import annotations

import math
import warnings
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from monas.context import ObjectiveSpec
from monas.evaluation import EvalState, Evaluation
from monas.indicators import (
    DEFAULT_REF,
    front_share,
    hypervolume_ratio,
    normalise,
    normalised_hypervolume,
)
from monas.objective import check_direction

with warnings.catch_warnings():
    # pymoo's decision_making imports a scipy name that SciPy deprecates; not ours to fix.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pymoo.mcdm.high_tradeoff import HighTradeoffPoints

__all__ = ["ParetoArchive", "hypervolume_ratio", "front_share"]

_INITIAL_CAPACITY = 1024


class ParetoArchive:
    """Every evaluation ever added, with the current feasible non-dominated front.

    ``objectives`` fixes the objective labels (keys of ``Evaluation.values``) and directions;
    their order is the column order of ``F()``.
    """

    def __init__(self, objectives: Sequence[ObjectiveSpec]) -> None:
        objectives = list(objectives)
        if not objectives:
            raise ValueError("objectives is empty; accepted: one or more ObjectiveSpec(label, direction)")
        for o in objectives:
            if not (hasattr(o, "label") and hasattr(o, "direction")):
                raise TypeError(f"objective {o!r}; accepted: ObjectiveSpec(label, direction)")
            check_direction(o.direction)
        labels = [o.label for o in objectives]
        if len(set(labels)) != len(labels):
            raise ValueError(f"objective labels {labels} repeat; accepted: distinct labels")
        self.objectives: List[ObjectiveSpec] = objectives
        self.labels: List[str] = labels
        self.evaluations: List[Evaluation] = []
        self._signs = np.array([o.sign for o in objectives], dtype=float)
        m = len(labels)
        # Growable per-evaluation arrays (capacity doubles), so queries never rebuild from dicts.
        self._F = np.empty((_INITIAL_CAPACITY, m))
        self._cv = np.empty(_INITIAL_CAPACITY)
        self._sortable = np.zeros(_INITIAL_CAPACITY, dtype=bool)
        self._feasible = np.zeros(_INITIAL_CAPACITY, dtype=bool)
        # The front: rows [:_fn] of column-major buffers (one contiguous array per objective,
        # so the per-add comparisons are plain 1-D vector ops).
        self._fn = 0
        self._fF = np.empty((64, m), order="F")
        self._fI = np.empty(64, dtype=np.int64)
        self._generators: Dict[str, int] = {}
        self._front_cache: Optional[List[Evaluation]] = None
        self._ranked_cache: Optional[List[np.ndarray]] = None

    # ------------------------------------------------------------------ adding
    def add(self, evaluation: Evaluation) -> bool:
        """Store ``evaluation``; True when it entered the current feasible front.

        Front points it dominates leave the front. A point equal in every objective to a front
        point does not enter (the first one added stays). Cost: O(front size), no re-sort.
        """
        if not isinstance(evaluation, Evaluation):
            raise TypeError(f"add() got {type(evaluation).__name__}; accepted: monas Evaluation")
        i = len(self.evaluations)
        if i == len(self._cv):
            self._grow()
        f = np.array([evaluation.values.get(k, math.nan) for k in self.labels], dtype=float)
        f *= self._signs
        sortable = evaluation.state == EvalState.COMPLETE and bool(np.isfinite(f).all())
        violations = list(evaluation.violations.values())
        cv = math.inf if any(math.isnan(v) for v in violations) else evaluation.total_violation
        feasible = sortable and cv == 0.0
        self.evaluations.append(evaluation)
        self._F[i] = f
        self._cv[i] = cv
        self._sortable[i] = sortable
        self._feasible[i] = feasible
        self._generators.setdefault(evaluation.generator, 0)
        self._ranked_cache = None
        if not feasible:
            return False
        k = self._fn
        if k:
            P = self._fF
            covered = P[:k, 0] <= f[0]
            for j in range(1, len(f)):
                covered &= P[:k, j] <= f[j]
            if covered.any():
                return False  # dominated by, or equal to, a point already on the front
            dominated = P[:k, 0] >= f[0]  # f equals none of them, so >= everywhere: f dominates
            for j in range(1, len(f)):
                dominated &= P[:k, j] >= f[j]
            if dominated.any():
                keep = ~dominated
                rest = P[:k][keep]
                k = len(rest)
                self._fI[:k] = self._fI[: self._fn][keep]
                self._fF[:k] = rest
        if k == len(self._fI):
            F_new = np.empty((2 * k, len(f)), order="F")
            F_new[:k] = self._fF[:k]
            self._fF = F_new
            self._fI = np.resize(self._fI, 2 * k)
        self._fF[k] = f
        self._fI[k] = i
        self._fn = k + 1
        self._front_cache = None
        return True

    def extend(self, evaluations) -> int:
        """``add`` each evaluation in order; returns how many entered the front on arrival."""
        return sum(self.add(e) for e in evaluations)

    @property
    def _front_F(self) -> np.ndarray:
        return self._fF[: self._fn]

    @property
    def _front_idx(self) -> np.ndarray:
        return self._fI[: self._fn]

    def _grow(self) -> None:
        n = 2 * len(self._cv)
        self._F = np.resize(self._F, (n, self._F.shape[1]))
        self._cv = np.resize(self._cv, n)
        self._sortable = np.resize(self._sortable, n)
        self._feasible = np.resize(self._feasible, n)

    def __len__(self) -> int:
        return len(self.evaluations)

    # ----------------------------------------------------------------- queries
    def F(self, evaluations: Optional[Sequence[Evaluation]] = None) -> np.ndarray:
        """Minimisation-form values, one row per evaluation (all of them by default).

        Columns follow ``labels``; maximised objectives are negated; a missing or failed value
        is NaN. The result is a fresh array.
        """
        if evaluations is None:
            return self._F[: len(self.evaluations)].copy()
        rows = [[e.values.get(k, math.nan) for k in self.labels] for e in evaluations]
        return np.asarray(rows, dtype=float).reshape(len(rows), len(self.labels)) * self._signs

    @property
    def signs(self) -> np.ndarray:
        """Per objective: -1 for maximised, +1 for minimised (natural value x sign = F column)."""
        return self._signs.copy()

    def sortable_mask(self) -> np.ndarray:
        """Per evaluation: complete with a finite value of every objective (may enter sorting)."""
        return self._sortable[: len(self.evaluations)].copy()

    def feasible_mask(self) -> np.ndarray:
        """Per evaluation: sortable and violating no constraint."""
        return self._feasible[: len(self.evaluations)].copy()

    def front(self) -> List[Evaluation]:
        """The current non-dominated feasible evaluations (empty when none is feasible).

        Ordered by the first objective, best first (then by the next objectives).
        """
        if self._front_cache is None:
            ev = self.evaluations
            order = np.lexsort(self._front_F.T[::-1])
            self._front_cache = [ev[i] for i in self._front_idx[order].tolist()]
        return list(self._front_cache)

    def front_F(self) -> np.ndarray:
        """Minimisation-form values of ``front()``, in the same order."""
        if not len(self._front_idx):
            return np.empty((0, len(self.labels)))
        return self._front_F[np.lexsort(self._front_F.T[::-1])]

    def _ranked_indices(self) -> List[np.ndarray]:
        if self._ranked_cache is None:
            n = len(self.evaluations)
            feas = np.flatnonzero(self._feasible[:n])
            groups: List[np.ndarray] = []
            if len(feas):
                for front in NonDominatedSorting().do(self._F[feas]):
                    groups.append(np.sort(feas[np.asarray(front, dtype=int)]))
            infeas = np.flatnonzero(self._sortable[:n] & ~self._feasible[:n])
            if len(infeas):
                order = infeas[np.argsort(self._cv[infeas], kind="stable")]
                cv = self._cv[order]
                cuts = np.flatnonzero(cv[1:] != cv[:-1]) + 1
                groups.extend(np.split(order, cuts))
            self._ranked_cache = groups
        return self._ranked_cache

    def ranked(self) -> List[List[Evaluation]]:
        """Constrained non-dominated sorting of the sortable evaluations, best group first.

        Feasible evaluations come first, in pymoo ``NonDominatedSorting`` fronts (identical
        points share a front). Infeasible ones follow, grouped by equal total violation, in
        ascending order of it; objective values do not order infeasible points. Within a group
        the order is the order of addition. Cached until the next ``add``.
        """
        ev = self.evaluations
        return [[ev[i] for i in g] for g in self._ranked_indices()]

    def truncate(self, k: int) -> List[Evaluation]:
        """``k`` survivors, NSGA-II style: whole groups of ``ranked()`` while they fit, then the
        split group by pymoo crowding distance ("cd", descending; the extremes of a front have
        infinite distance and survive first). Ties keep the earlier evaluation; a split
        infeasible group (equal violation) keeps the earlier ones. Fewer than ``k`` come back
        when fewer are sortable.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"k={k!r}; accepted: an integer >= 0")
        survivors: List[int] = []
        crowding = get_crowding_function("cd")
        for g in self._ranked_indices():
            room = k - len(survivors)
            if room <= 0:
                break
            if len(g) <= room:
                survivors.extend(g.tolist())
                continue
            if self._feasible[g[0]]:
                cd = crowding.do(self._F[g])
                g = g[np.lexsort((g, -cd))]
            survivors.extend(g[:room].tolist())
        return [self.evaluations[i] for i in survivors]

    # ------------------------------------------------------------- indicators
    def _point(self, value, default: np.ndarray, name: str) -> np.ndarray:
        """A bound in minimisation form from a {label: natural value} mapping or an array."""
        if value is None:
            return default
        if isinstance(value, Mapping):
            out = default.copy()
            for label, v in value.items():
                if label not in self.labels:
                    raise ValueError(f"{name} names {label!r}; accepted labels: {', '.join(self.labels)}")
                if not isinstance(v, (int, float, np.number)) or not np.isfinite(v):
                    raise ValueError(f"{name}[{label!r}]={v!r}; accepted: a finite number")
                out[self.labels.index(label)] = float(v) * self._signs[self.labels.index(label)]
            return out
        out = np.asarray(value, dtype=float).reshape(-1)
        if out.shape != default.shape or not np.isfinite(out).all():
            raise ValueError(
                f"{name}={value!r}; accepted: a mapping label -> value (natural units) or "
                f"{len(self.labels)} finite numbers in minimisation form"
            )
        return out

    def hypervolume(self, ideal=None, nadir=None, ref: float = DEFAULT_REF) -> float:
        """pymoo ``HV`` of the feasible front, normalised; 0.0 when no point is feasible.

        Normalisation: each objective (minimisation form) is mapped so ``ideal`` -> 0 and
        ``nadir`` -> 1; the reference point is ``ref`` (default 1.1) in every normalised
        coordinate, and front points beyond it add nothing. By default ``ideal`` and ``nadir``
        are the current front's own column minima and maxima: that value describes the front's
        shape but is NOT comparable between runs or over time as the front moves. To compare,
        pass fixed bounds, either as a mapping ``{label: value}`` in natural units (e.g.
        ``ideal={"accuracy": 100, "params": 0}``; labels left out keep the front's value) or as
        an array in minimisation form (the ``F()`` convention).
        """
        P = self._front_F
        if not len(P):
            return 0.0
        lo = self._point(ideal, P.min(axis=0), "ideal")
        hi = self._point(nadir, P.max(axis=0), "nadir")
        if np.any(hi < lo):
            raise ValueError(
                f"nadir {hi.tolist()} is better than ideal {lo.tolist()} in minimisation form; "
                "accepted: nadir no better than ideal in every objective"
            )
        return normalised_hypervolume(P, lo, hi, ref)

    def contributions(self) -> Dict[str, int]:
        """Generator name -> number of current front points it proposed.

        Every generator that proposed any evaluation is listed (0 when none is on the front),
        in order of first appearance; the counts sum to ``len(front())``.
        """
        counts = dict.fromkeys(self._generators, 0)
        for i in self._front_idx:
            counts[self.evaluations[i].generator] += 1
        return counts

    # --------------------------------------------------------- decision making
    def knee(self, max_points: int = 1000) -> Optional[Evaluation]:
        """The front's knee: pymoo ``HighTradeoffPoints`` on the front normalised to [0, 1] by
        its own ideal and nadir. When pymoo finds several high trade-off points, or none, or the
        front has fewer than 3 points (or one objective), the point nearest (Euclidean, in the
        normalised space) to the ideal point among the candidates is returned. None when no
        evaluation is feasible.

        pymoo's search is quadratic in the front size (about 0.1 s at 1,000 points), so a front
        larger than ``max_points`` is first thinned to ``max_points`` points evenly spaced in
        ``front()`` order (both ends kept; normalisation still uses the whole front). Thinning
        keeps the shape, not every point: the answer is then a point near the full front's knee.
        """
        if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 3:
            raise ValueError(f"max_points={max_points!r}; accepted: an integer >= 3")
        front, P = self.front(), self.front_F()
        if not front:
            return None
        Z = normalise(P, P.min(axis=0), P.max(axis=0))
        candidates = np.arange(len(front))
        if len(front) >= 3 and Z.shape[1] >= 2:
            pool = candidates
            if len(front) > max_points:
                pool = np.unique(np.linspace(0, len(front) - 1, max_points).round().astype(int))
            # pymoo sets warnings.filterwarnings("ignore") globally inside _do; keep it local.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    found = HighTradeoffPoints().do(Z[pool])
                except ValueError:
                    found = None  # pymoo takes max() of an empty set when no trade-off is finite
            if found is not None and len(found):
                candidates = pool[np.asarray(found, dtype=int)]
        dist = np.linalg.norm(Z[candidates], axis=1)
        return front[int(candidates[np.argmin(dist)])]

    def best(self, objective: str, bounds: Mapping[str, float]) -> Optional[Evaluation]:
        """The feasible evaluation with the best value of ``objective`` among those meeting
        ``bounds`` ({label: bound} in natural units: value <= bound for a minimised objective,
        value >= bound for a maximised one). None when nothing feasible meets the bounds.

        The answer is always a front point: a dominated candidate's dominator meets the bounds
        too and is no worse. Ties go to the earlier evaluation.
        """
        if objective not in self.labels:
            raise ValueError(f"objective {objective!r}; accepted: {', '.join(self.labels)}")
        if not isinstance(bounds, Mapping):
            raise TypeError(f"bounds={bounds!r}; accepted: a mapping label -> bound (natural units)")
        P, idx = self._front_F, self._front_idx
        ok = np.ones(len(idx), dtype=bool)
        for label, bound in bounds.items():
            if label not in self.labels:
                raise ValueError(f"bounds name {label!r}; accepted labels: {', '.join(self.labels)}")
            if not isinstance(bound, (int, float, np.number)) or not np.isfinite(bound):
                raise ValueError(f"bound {label}={bound!r}; accepted: a finite number")
            j = self.labels.index(label)
            ok &= P[:, j] <= float(bound) * self._signs[j]
        if not ok.any():
            return None
        j = self.labels.index(objective)
        cand = np.flatnonzero(ok)
        best = cand[np.lexsort((idx[cand], P[cand, j]))[0]]
        return self.evaluations[idx[best]]
