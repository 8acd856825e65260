"""FreeDARTS as a monas generator: training-free derivations, then a walk along their scores.

``ask`` returns, in order:

1. the architecture FreeDARTS derives from the supernet initialised with each of ``n_seeds``
   seeds (``seed``, ``seed`` + 1, ...; ``seed`` defaults to the engine's seed for this
   generator; the seed draws both the weights and the raw alphas), skipping repeats. With
   ``score="zeros"`` (default) as the official code: one pass of official ZEROS
   (:func:`one_pass`: train-mode BN, raw signed alpha ~ 1e-3) and the DARTS rule; with
   ``score="zeros_eval"`` the earlier reconstruction (:func:`iterative_prune` with BN bypassed:
   SynFlow per op);
2. up to ``front_size`` further candidates along a greedy walk from the first derivation, for
   a multi-objective front: each step demotes one edge's op to the op pruned just before it on
   that edge, choosing the edge whose ZEROS score drops least (log S_current - log S_next, both
   from the last round in which the two competed). Each step gives up little training-free
   merit for a cheaper op, so the walk runs from the derived architecture towards cheap ones;
   the engine measures the real objectives and the archive keeps what is non-dominated.

With constraints, a candidate is proposed only when every constrained objective, read through
``ctx.measure`` (the engine's cached measurement), satisfies its bound; the walk goes on through
infeasible steps. An empty ``ask`` means the generator is done.
"""
from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional, Sequence

import torch

from monas.arch import Arch
from monas.evaluation import Evaluation
from monas.generator import CandidateGenerator
from monas.objectives._build import input_shape_for
from monas.objectives.zero_cost import ALPHA_SIGNS, BN_MODES, DTYPES, ZEROS_ALPHA_STD, kaiming_init
from monas.plugins.free_darts.presets import PRESETS
from monas.plugins.free_darts.pruning import PruningResult, derive_arch, iterative_prune, one_pass
from monas.presets import merge_preset, signature_from

SEARCH_SCORES = ("zeros", "zeros_eval")


class FreeDARTS(CandidateGenerator):
    """Parameters: ``score`` ("zeros": official, one pass; "zeros_eval": iterative pruning on
    ZEROS-eval), ``n_seeds`` (1), ``seed`` (None: the engine's), ``front_size`` (0),
    ``alpha_std`` (1e-3) and ``alpha_sign`` ("signed"; "abs" as the NB201 notebook) of the raw
    alphas (zeros), ``ops_per_round`` (1) and ``bn`` ("bypass") of the pruning (zeros_eval),
    ``supernet_kwargs`` (None: the space's search supernet, e.g. NB201 C=16 N=5, DARTS C=16 with
    8 cells; the data's channels and classes when there is data), ``input_shape`` ([C, H, W] of
    the all-ones input; None: the data's, else 3 x the space's ``input_size``, else 3x32x32),
    ``dtype`` ("float64"), ``batch_size`` (1); ``preset`` ("paper", :mod:`.presets`) fills
    every parameter not given.
    """

    requires = ("supernet.mixture",)

    contract_params = {"n_seeds": 2, "front_size": 2}

    def __init__(self, preset: Optional[str] = None, **params: Any) -> None:
        """Keyword parameters as in the class docstring (the signature shown is ``_configure``'s)."""
        self._configure(preset=preset, **merge_preset("free_darts", PRESETS, preset, params))

    def _configure(self, score: str = "zeros", n_seeds: int = 1, seed: Optional[int] = None, front_size: int = 0,
                   alpha_std: float = ZEROS_ALPHA_STD, alpha_sign: str = "signed", ops_per_round: int = 1,
                   supernet_kwargs: Optional[Dict[str, Any]] = None, input_shape: Optional[Sequence[int]] = None,
                   dtype: str = "float64", bn: str = "bypass", batch_size: int = 1,
                   preset: Optional[str] = None) -> None:
        if score not in SEARCH_SCORES:
            raise ValueError(f"free_darts score {score!r}; accepted: {', '.join(SEARCH_SCORES)}")
        if int(n_seeds) < 1:
            raise ValueError(f"free_darts n_seeds must be >= 1, got {n_seeds}")
        if int(front_size) < 0:
            raise ValueError(f"free_darts front_size must be >= 0, got {front_size}")
        if dtype not in DTYPES:
            raise ValueError(f"free_darts dtype {dtype!r}; accepted: {', '.join(DTYPES)}")
        if bn not in BN_MODES:
            raise ValueError(f"free_darts bn {bn!r}; accepted: {', '.join(BN_MODES)}")
        if alpha_sign not in ALPHA_SIGNS:
            raise ValueError(f"free_darts alpha_sign {alpha_sign!r}; accepted: {', '.join(ALPHA_SIGNS)}")
        if not float(alpha_std) > 0:
            raise ValueError(f"free_darts alpha_std must be > 0, got {alpha_std}")
        if int(ops_per_round) < 1:
            raise ValueError(f"free_darts ops_per_round must be >= 1, got {ops_per_round}")
        self.score = score
        self.n_seeds = int(n_seeds)
        self.seed = seed
        self.front_size = int(front_size)
        self.alpha_std = float(alpha_std)
        self.alpha_sign = alpha_sign
        self.ops_per_round = int(ops_per_round)
        self.supernet_kwargs = dict(supernet_kwargs or {})
        self.input_shape = None if input_shape is None else [int(v) for v in input_shape]
        self.dtype = dtype
        self.bn = bn
        self.batch_size = int(batch_size)
        self.preset = preset

    # ------------------------------------------------------------------ search
    def setup(self, ctx) -> None:
        super().setup(ctx)
        self.seed_ = int(ctx.seed if self.seed is None else self.seed)
        self.results_: List[PruningResult] = []
        self.derived_: List[str] = []
        self.walk_: List[Dict[str, List[int]]] = []
        self.proposed_: set = set()
        self.pending_: List[str] = []  # asked, not yet told: proposed again by the next ask
        self.search_s_ = 0.0
        self._net = None

    def _shape(self) -> List[int]:
        space = self.ctx_.space
        if self.input_shape is None and self.ctx_.data is None and not getattr(space, "input_size", None):
            return [3, 32, 32]
        return list(input_shape_for(self.ctx_.evaluation, self.input_shape))

    def supernet(self, seed: int) -> torch.nn.Module:
        """The space's supernet, Kaiming-initialised with ``seed`` (the network FreeDARTS prunes)."""
        kwargs = dict(self.supernet_kwargs)
        kwargs.setdefault("in_channels", self._shape()[0])
        data = self.ctx_.data
        if data is not None and "num_classes" not in kwargs:
            kwargs["num_classes"] = int(data.num_classes)
        torch.manual_seed(seed)
        net = self.ctx_.space.supernet(mode="mixture", **kwargs)
        return kaiming_init(net, seed).to(self.ctx_.device or "cpu")

    def search(self, seed: int) -> PruningResult:
        """One FreeDARTS search at initialisation seed ``seed``; the net is kept for deriving."""
        t = time.perf_counter()
        self._net = self.supernet(seed)
        allowed = list(self.ctx_.space.ops)
        if self.score == "zeros":
            result = one_pass(self._net, self._shape(), allowed_ops=allowed, seed=seed, std=self.alpha_std,
                              sign=self.alpha_sign, dtype=DTYPES[self.dtype])
        else:
            result = iterative_prune(self._net, self._shape(), allowed_ops=allowed,
                                     ops_per_round=self.ops_per_round, dtype=DTYPES[self.dtype], bn=self.bn)
        self.search_s_ += time.perf_counter() - t
        self.ctx_.progress(f"free_darts: seed {seed} searched in {time.perf_counter() - t:.1f}s")
        return result

    def _derive(self, i: int, choice: Optional[Dict[str, List[int]]] = None) -> Arch:
        if self._net is None:  # after a resume: the net only provides shapes and the derivation rule
            self._net = self.supernet(self.seed_)
        return derive_arch(self.ctx_.space, self._net, self.results_[i], choice)

    # ------------------------------------------------------------------ the front walk
    def _next_step(self, position: Dict[str, List[int]]) -> Optional[Dict[str, List[int]]]:
        """Demote the edge whose op loses the least ZEROS score; None when nothing is left."""
        result = self.results_[0]
        arch = self._derive(0, self._choice(position))
        used = self._used_edges(arch, position)
        best, best_drop = None, math.inf
        for t, rows in result.order.items():
            for e, order in enumerate(rows):
                p = position[t][e]
                if p == 0 or (t, e) not in used:
                    continue
                cur, nxt = order[p], order[p - 1]
                rnd = result.rounds[result.last_round[t][e][p - 1]][t]
                s_cur, s_nxt = float(rnd[e, cur]), float(rnd[e, nxt])
                drop = math.inf if s_nxt <= 0 else math.log(max(s_cur, 1e-300)) - math.log(s_nxt)
                if best is None or drop < best_drop:
                    best, best_drop = (t, e), drop
        if best is None:
            return None
        new = {t: list(v) for t, v in position.items()}
        new[best[0]][best[1]] -= 1
        return new

    def _used_edges(self, arch: Arch, position: Dict[str, List[int]]) -> set:
        """Edges whose op appears in ``arch`` (all of them on NB201, the kept 8 per cell on DARTS)."""
        weights, edge_weights = self._net.arch_to_weights(arch)
        used = set()
        for t, w in weights.items():
            for e in range(w.shape[0]):
                live = edge_weights is None or float(edge_weights[t][e]) != 0.0
                if live and float(w[e].sum()) != 0.0:
                    used.add((t, e))
        return used

    def _choice(self, position: Dict[str, List[int]]) -> Dict[str, List[int]]:
        order = self.results_[0].order
        return {t: [order[t][e][p] for e, p in enumerate(rows)] for t, rows in position.items()}

    # ------------------------------------------------------------------ protocol
    def _feasible(self, arch: Arch) -> bool:
        return all(c.violation(self.ctx_.measure(arch, c.objective)) <= 0 for c in self.ctx_.constraints)

    def _fresh(self, arch: Arch) -> bool:
        return arch.key not in self.proposed_ and self._feasible(arch)

    def _candidates(self):
        """Candidates in order (module docstring), generated lazily; state lives in attributes."""
        while len(self.results_) < self.n_seeds:
            self.results_.append(self.search(self.seed_ + len(self.results_)))
            arch = self._derive(len(self.results_) - 1)
            self.derived_.append(arch.key)
            yield arch
        if self.front_size < 1:
            return
        if not self.walk_:
            self.walk_.append({t: [len(o) - 1 for o in rows] for t, rows in self.results_[0].order.items()})
        while True:  # ends when every used edge is down to its first-pruned op
            step = self._next_step(self.walk_[-1])
            if step is None:
                return
            self.walk_.append(step)
            yield self._derive(0, self._choice(step))

    def ask(self, n: int) -> List[Arch]:
        """Up to ``n`` candidates. Candidates asked but never told (a run stopped, or was killed,
        between an ask and its tell) are proposed again first, so a resumed run continues exactly
        as an uninterrupted one; the engine's cache answers those already evaluated."""
        if not self.pending_:
            self.pending_ = [a.key for a in self._ask(n)]
        return [self.ctx_.space.from_key(k) for k in self.pending_[:n]]

    def _ask(self, n: int) -> List[Arch]:
        out: List[Arch] = []
        walked = sum(1 for k in self.proposed_ if k not in self.derived_)
        for arch in self._candidates():
            if not self._fresh(arch):
                continue
            if arch.key not in self.derived_:
                if walked >= self.front_size:
                    break
                walked += 1
            self.proposed_.add(arch.key)
            out.append(arch)
            if len(out) >= n:
                break
        return out

    def tell(self, evaluations: Sequence[Evaluation]) -> None:
        told = {e.arch.key for e in evaluations}
        self.pending_ = [k for k in self.pending_ if k not in told]

    def state_dict(self) -> Dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results_], "derived": list(self.derived_),
                "walk": [dict(w) for w in self.walk_], "proposed": sorted(self.proposed_),
                "pending": list(self.pending_),
                "search_s": self.search_s_}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.results_ = [PruningResult.from_dict(d) for d in state["results"]]
        self.derived_ = list(state["derived"])
        self.walk_ = [{t: list(map(int, v)) for t, v in w.items()} for w in state["walk"]]
        self.proposed_ = set(state["proposed"])
        self.pending_ = list(state.get("pending", []))
        self.search_s_ = float(state["search_s"])


# the parameters of FreeDARTS are those of _configure (``inspect.signature(FreeDARTS)`` shows them)
FreeDARTS.__signature__ = signature_from(FreeDARTS._configure)
