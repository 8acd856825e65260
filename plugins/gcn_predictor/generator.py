"""GCNPredictorGenerator: propose what a GCN fitted to the archive places on the Pareto front.

METHODS.md section 6 (Chen et al., GCN fitting of the weight-sharing space), as a monas
generator:

1. **Sample** ``n_init`` architectures uniformly (step 2 of the method); the engine evaluates
   them. With an accuracy objective of fidelity ``supernet`` (inherited weights of a supernet a
   one-shot generator publishes) these labels are the supernet's noisy estimates, the paper's
   use; with any other objective (a table, short training) the GCN fits those evaluations.
   ``labels="supernet"`` is the paper's method without the engine in the loop: the generator
   trains (or reuses) the supernet itself, labels ``supernet_samples`` uniform subnets with their
   inherited-weight validation accuracy and fits the target to those (:mod:`.supernet`); the
   target of every pool member, evaluated or not, is then the GCN's prediction, and the
   archive only serves predicted costs (with measured costs there is no random start).
2. **Fit** a :class:`GCNPredictor` on every complete evaluation in the shared archive (all
   generators' work), cold the first time (``epochs``), then warm-started for
   ``refit_epochs`` every ``refit_every`` evaluations (incremental refits keep a run cheap).
3. **Predict** the whole pool: every cell of a space with at most ``max_pool`` architectures
   (NB201: all 15,625, the paper's lookup table), else ``pool_size`` uniform samples plus
   ``n_mutants`` mutations of the current front per refit. Evaluated pool members keep their
   true values.
4. **Costs** (every objective but ``target``): ``costs="measure"`` reads each pool member's
   value through ``ctx.measure`` (the engine's cached measurement, never recomputed here: meant
   for tables, params/FLOPs, latency look-up tables); ``"predict"`` adds them as further GCN
   outputs fitted to the archive (for costs too dear to measure for a whole pool, such as
   on-device latency); ``"auto"`` measures when every cost objective is cheap
   (``ObjectiveSpec.cheap``, i.e. ``Objective.cheap``: tables, params/FLOPs, latency LUTs), else
   predicts. Measuring a whole pool goes through the engine's cache, which a run directory
   persists (one line per value: the 15,625 NB201 cells once per run).
5. **Propose** unevaluated pool members in order of constrained non-dominated rank over
   (predicted or true target, measured or predicted costs), evaluated points included at their
   true values, with crowding distance (descending) inside a rank. A member that violates a
   constraint on measured costs is never proposed (when every feasible member is evaluated the
   generator is done); one predicted to violate a constraint on a predicted value only when
   nothing predicted feasible is left.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from monas.arch import Arch
from monas.evaluation import EvalState, Evaluation
from monas.generator import CandidateGenerator
from monas.objective import MAXIMIZE
from monas.plugins.gcn_predictor.model import GraphBatch, stack_graphs
from monas.plugins.gcn_predictor.predictor import GCNPredictor
from monas.plugins.gcn_predictor.presets import PRESETS
from monas.plugins.gcn_predictor.supernet import (
    SupernetSettings, build_supernet, label_subnets, load_weights, train_uniform,
)
from monas.presets import merge_preset, signature_from

COST_MODES = ("auto", "measure", "predict")
#: what the GCN fits: the archive's evaluations, or the supernet's estimates of uniform subnets
LABELS = ("archive", "supernet")
#: what ``labels="supernet"`` needs of a space (monas.capabilities)
SUPERNET_NEEDS = ("supernet.single_path",)


class GCNPredictorGenerator(CandidateGenerator):
    """Parameters: ``n_init`` (20 random candidates before the first fit), ``refit_every`` (20
    evaluations between refits; also the size of each proposal queue), ``batch_size`` (5 per
    ``ask``), ``target`` (objective label the GCN learns; default the first maximised objective,
    else the first), ``costs`` ("auto" | "measure" | "predict"), ``hidden``
    (32), ``layers`` (3), ``epochs`` (100, cold fits), ``refit_epochs`` (20, warm refits), ``lr``
    (1e-3), ``weight_decay`` (1e-4), ``fit_batch_size`` (64), ``ensemble`` (1), ``max_pool``
    (20000), ``pool_size`` (2000), ``n_mutants`` (200), ``threads`` (1: torch threads while
    fitting and predicting, restored afterwards; None leaves torch's setting).

    ``labels``: ``"archive"`` (default) fits the engine's evaluations; ``"supernet"`` (the paper's
    method, :mod:`.supernet`) fits the target to the inherited-weight accuracies of
    ``supernet_samples`` (200) uniform subnets on ``label_split`` ("valid", batches of
    ``label_batch_size`` 256), from the supernet a one-shot generator published, the weights
    in the file ``supernet`` (e.g. tnd_nas' ``checkpoints/<label>/tnd_nas_search.pt``), or one
    trained here by uniform single-path SGD (``supernet_C`` 8, ``supernet_depth`` None,
    ``supernet_kwargs``, ``supernet_epochs`` 10, ``supernet_batch_size`` 64,
    ``supernet_steps_per_epoch`` None, ``supernet_lr`` 0.05 cosine to ``supernet_lr_min`` 0).
    The costs are measured or predicted as above. ``preset="paper"``: :mod:`.presets`.

    The defaults are sized for speed (a 300-evaluation NB201 run refits 14 times and predicts
    all 15,625 cells each time in a few seconds on one CPU core); the predictor's own defaults
    (hidden 128, 300 epochs, METHODS.md [M]) serve one-off fits such as the lookup table."""

    requires = ("graph",)

    contract_params = {"n_init": 3, "refit_every": 2, "epochs": 5, "refit_epochs": 2, "hidden": 8}

    def __init__(self, preset: Optional[str] = None, **params: Any) -> None:
        """Keyword parameters as in the class docstring and the README (the signature shown is
        ``_configure``'s); ``preset`` (``"paper"``, :mod:`.presets`) fills every parameter not given."""
        self._configure(preset=preset, **merge_preset("gcn_predictor", PRESETS, preset, params))

    def _configure(self, n_init: int = 20, refit_every: int = 20, batch_size: int = 5,
                   target: Optional[str] = None, costs: str = "auto",
                   hidden: int = 32, layers: int = 3, epochs: int = 100, refit_epochs: int = 20,
                   lr: float = 1e-3, weight_decay: float = 1e-4, fit_batch_size: int = 64, ensemble: int = 1,
                   max_pool: int = 20000, pool_size: int = 2000, n_mutants: int = 200,
                   threads: Optional[int] = 1, labels: str = "archive", supernet: Optional[str] = None,
                   supernet_samples: int = 200, supernet_C: int = 8, supernet_depth: Optional[int] = None,
                   supernet_kwargs: Optional[Dict[str, Any]] = None, supernet_epochs: int = 10,
                   supernet_batch_size: int = 64, supernet_steps_per_epoch: Optional[int] = None,
                   supernet_lr: float = 0.05, supernet_lr_min: float = 0.0, label_split: str = "valid",
                   label_batch_size: int = 256, preset: Optional[str] = None) -> None:
        if costs not in COST_MODES:
            raise ValueError(f"costs={costs!r}; accepted: {', '.join(COST_MODES)}")
        if labels not in LABELS:
            raise ValueError(f"gcn_predictor labels={labels!r}; accepted: {', '.join(LABELS)}")
        for name, value in (("n_init", n_init), ("refit_every", refit_every), ("batch_size", batch_size),
                            ("epochs", epochs), ("refit_epochs", refit_epochs), ("pool_size", pool_size),
                            ("supernet_C", supernet_C), ("supernet_epochs", supernet_epochs),
                            ("supernet_batch_size", supernet_batch_size), ("label_batch_size", label_batch_size)):
            if int(value) < 1:
                raise ValueError(f"gcn_predictor {name} must be >= 1, got {value}")
        if int(n_init) < 2:
            raise ValueError(f"gcn_predictor n_init must be >= 2 (a fit needs 2 examples), got {n_init}")
        if int(supernet_samples) < 2:
            raise ValueError(f"gcn_predictor supernet_samples must be >= 2 (a fit needs 2 examples), got {supernet_samples}")
        self.n_init = int(n_init)
        self.refit_every = int(refit_every)
        self.batch_size = int(batch_size)
        self.target = target
        self.costs = costs
        self.hidden = int(hidden)
        self.layers = int(layers)
        self.epochs = int(epochs)
        self.refit_epochs = int(refit_epochs)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.fit_batch_size = int(fit_batch_size)
        self.ensemble = int(ensemble)
        self.max_pool = int(max_pool)
        self.pool_size = int(pool_size)
        self.n_mutants = int(n_mutants)
        if threads is not None and int(threads) < 1:
            raise ValueError(f"gcn_predictor threads must be >= 1 or null, got {threads}")
        self.threads = None if threads is None else int(threads)
        self.labels = labels
        self.supernet = None if supernet is None else str(supernet)
        self.supernet_samples = int(supernet_samples)
        self.supernet_C = int(supernet_C)
        self.supernet_depth = None if supernet_depth is None else int(supernet_depth)
        self.supernet_kwargs = dict(supernet_kwargs or {})
        self.supernet_epochs = int(supernet_epochs)
        self.supernet_batch_size = int(supernet_batch_size)
        self.supernet_steps_per_epoch = None if supernet_steps_per_epoch is None else int(supernet_steps_per_epoch)
        self.supernet_lr = float(supernet_lr)
        self.supernet_lr_min = float(supernet_lr_min)
        self.label_split = label_split
        self.label_batch_size = int(label_batch_size)
        self.preset = preset

    @property
    def supernet_settings(self) -> SupernetSettings:
        """How the supernet is built and, when trained here, trained (:mod:`.supernet`)."""
        return SupernetSettings(C=self.supernet_C, depth=self.supernet_depth, kwargs=dict(self.supernet_kwargs),
                                epochs=self.supernet_epochs, batch_size=self.supernet_batch_size,
                                steps_per_epoch=self.supernet_steps_per_epoch, lr=self.supernet_lr,
                                lr_min=self.supernet_lr_min)

    @property
    def needs_data(self) -> bool:
        """``labels="supernet"`` trains (or loads) a supernet and labels subnets on the study's data."""
        return self.labels == "supernet"

    def required_capabilities(self) -> Tuple[str, ...]:
        """``graph``; with ``labels="supernet"`` also the supernet's single-path protocol."""
        return self.requires + (SUPERNET_NEEDS if self.labels == "supernet" else ())

    # ------------------------------------------------------------------ set-up
    def setup(self, ctx) -> None:
        super().setup(ctx)
        labels = [o.label for o in ctx.objectives]
        if self.target is None:
            self.target_ = next((o.label for o in ctx.objectives if o.direction == MAXIMIZE), labels[0])
        elif self.target not in labels:
            raise ValueError(f"gcn_predictor target {self.target!r} is not an objective; accepted: {', '.join(labels)}")
        else:
            self.target_ = self.target
        self.cost_labels_ = [l for l in labels if l != self.target_]
        self.rng_ = np.random.default_rng(ctx.seed)
        self.predictor_ = GCNPredictor(hidden=self.hidden, layers=self.layers, epochs=self.epochs, lr=self.lr,
                                       weight_decay=self.weight_decay, batch_size=self.fit_batch_size,
                                       ensemble=self.ensemble, seed=ctx.seed)
        self.cost_mode_: Optional[str] = None if self.costs == "auto" else self.costs
        self.queue_: List[str] = []
        self.pending_: List[str] = []  # asked, not yet told: proposed again by the next ask
        self.proposed_: set = set()
        self.since_fit_ = 0
        self.n_refits_ = 0
        self.pool_keys_: Optional[List[str]] = None
        self._pool_archs: List[Arch] = []
        self._pool_index: Dict[str, int] = {}
        self._graphs: Optional[GraphBatch] = None
        self._measured: Dict[str, np.ndarray] = {}
        self.sn_predictor_ = GCNPredictor(hidden=self.hidden, layers=self.layers, epochs=self.epochs, lr=self.lr,
                                          weight_decay=self.weight_decay, batch_size=self.fit_batch_size,
                                          ensemble=self.ensemble, seed=ctx.seed + 1)
        self.sn_labels_: Optional[Dict[str, Any]] = None  # {"keys", "acc", "source"} once labelled
        if self.labels == "supernet" and ctx.data is None:
            raise ValueError("gcn_predictor labels='supernet' labels subnets with a supernet's accuracy and needs a "
                             "dataset in the study (e.g. digits); use labels='archive' with a table or trained accuracy")

    @property
    def predicted_labels(self) -> List[str]:
        """Labels the GCN fitted to the archive outputs: the target (unless it comes from the
        supernet labels), plus the costs when they are predicted."""
        costs = self.cost_labels_ if self.cost_mode_ == "predict" else []
        return costs if self.labels == "supernet" else [self.target_] + costs

    # ------------------------------------------------------------------ the pool
    def _enumerable(self) -> bool:
        space = self.ctx_.space
        return hasattr(space, "all") and space.size() <= self.max_pool

    def _add_to_pool(self, archs: Sequence[Arch]) -> None:
        new = [a for a in archs if a.key not in self._pool_index]
        if not new:
            return
        for a in new:
            self._pool_index[a.key] = len(self._pool_archs)
            self._pool_archs.append(a)
        batch = stack_graphs([self.ctx_.space.to_graph(a) for a in new])
        self._graphs = batch if self._graphs is None else GraphBatch(
            *(torch.cat([old, add]) for old, add in zip(self._graphs, batch)))
        for label, values in self._measured.items():
            self._measured[label] = np.concatenate([values, np.full(len(new), np.nan)])
        self.pool_keys_ = [a.key for a in self._pool_archs]

    def _build_pool(self, keys: Optional[Sequence[str]] = None) -> None:
        space = self.ctx_.space
        if keys is not None:
            self._add_to_pool([space.from_key(k) for k in keys])
        elif self._enumerable():
            self._add_to_pool(space.all())
        else:
            seen, archs = set(), []
            for _ in range(20 * self.pool_size):
                a = space.sample(self.rng_)
                if a.key not in seen:
                    seen.add(a.key)
                    archs.append(a)
                if len(archs) >= self.pool_size:
                    break
            self._add_to_pool(archs)

    def _grow_pool(self, front: Sequence[Evaluation]) -> None:
        """Large spaces: mutations of the current front join the pool at every refit."""
        if self._enumerable() or not front or self.n_mutants < 1:
            return
        space = self.ctx_.space
        picks = self.rng_.integers(len(front), size=self.n_mutants)
        self._add_to_pool([space.mutate(front[int(i)].arch, self.rng_) for i in picks])

    # ------------------------------------------------------------------ costs
    def _decide_costs(self) -> None:
        if self.cost_mode_ is not None:
            return
        cheap = {o.label: bool(getattr(o, "cheap", False)) for o in self.ctx_.objectives}
        self.cost_mode_ = "measure" if all(cheap[label] for label in self.cost_labels_) else "predict"

    def _measured_costs(self) -> np.ndarray:
        """(pool, costs) measured through the engine's cache; only new pool members are asked."""
        cols = []
        for label in self.cost_labels_:
            values = self._measured.setdefault(label, np.full(len(self._pool_archs), np.nan))
            for i in np.flatnonzero(np.isnan(values)):
                values[i] = self.ctx_.measure(self._pool_archs[int(i)], label)
            cols.append(values)
        return np.stack(cols, axis=1) if cols else np.zeros((len(self._pool_archs), 0))

    # ------------------------------------------------------------------ fit and rank
    def _complete(self) -> List[Evaluation]:
        labels = [o.label for o in self.ctx_.objectives]
        return [e for e in self.ctx_.archive.evaluations if e.state == EvalState.COMPLETE
                and all(np.isfinite(e.values.get(l, np.nan)) for l in labels)]

    def _refit(self) -> None:
        # The GCN's tensors are small: extra threads only add synchronisation, which costs ~10x
        # on a shared, busy machine (measured), so fits and predictions use ``threads``.
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            self._refit_now()
        finally:
            torch.set_num_threads(previous)

    def _refit_now(self) -> None:
        evs = self._complete()
        if self.pool_keys_ is None:
            self._build_pool()
        self._decide_costs()
        self._grow_pool(self.ctx_.archive.front())
        self._add_to_pool([e.arch for e in evs])  # the GCN reads graphs from the pool
        if self.labels == "supernet" and not self.sn_predictor_.fitted:
            self._fit_supernet_labels()
        if self.predicted_labels and len(evs) >= 2:
            idx = np.array([self._pool_index[e.arch.key] for e in evs])
            y = np.array([[e.values[l] for l in self.predicted_labels] for e in evs])
            warm = self.predictor_.fitted
            self.predictor_.fit(self._graphs.select(idx), y, epochs=self.refit_epochs if warm else self.epochs,
                                warm_start=warm)
        self.n_refits_ += 1
        self.since_fit_ = 0
        self.queue_ = self._rank(evs)

    def _rank(self, evs: List[Evaluation]) -> List[str]:
        """Unevaluated, unproposed pool keys in proposal order (module docstring, step 5)."""
        labels = [o.label for o in self.ctx_.objectives]
        values = np.empty((len(self._pool_archs), len(labels)))
        if self.predicted_labels:
            pred = self.predictor_.predict(self._graphs).reshape(len(self._pool_archs), -1)
            for k, label in enumerate(self.predicted_labels):
                values[:, labels.index(label)] = pred[:, k]
        t = labels.index(self.target_)
        if self.labels == "supernet":  # the GCN's lookup table of the supernet estimates
            values[:, t] = self.sn_predictor_.predict(self._graphs)
        if self.cost_mode_ == "measure":
            measured = self._measured_costs()
            for k, label in enumerate(self.cost_labels_):
                values[:, labels.index(label)] = measured[:, k]
        known = np.zeros(len(self._pool_archs), dtype=bool)
        for e in evs:
            i = self._pool_index[e.arch.key]
            row = [e.values[l] for l in labels]
            if self.labels == "supernet":  # [M] the target on one scale: the GCN's, also for evaluated points
                row[t] = values[i, t]
            values[i] = row
            known[i] = True
        violation = np.zeros(len(values))
        for c in self.ctx_.constraints:
            violation += np.maximum(0.0, c.violation(values[:, labels.index(c.objective)]))
        F = values * self.ctx_.signs()
        evaluated = set(e.arch.key for e in self.ctx_.archive.evaluations)
        open_ = np.array([not known[i] and k not in evaluated and k not in self.proposed_
                          for i, k in enumerate(self.pool_keys_)])
        feasible = violation <= 0
        order: List[int] = []
        want = self.refit_every
        cand = np.flatnonzero(feasible & (open_ | known))
        if open_[cand].any():
            for front in NonDominatedSorting().do(F[cand], n_stop_if_ranked=len(cand)):
                members = cand[front]
                fresh = members[open_[members]]
                if len(fresh) == 0:
                    continue
                cd = calc_crowding_distance(F[members]) if len(members) > 2 else np.full(len(members), np.inf)
                cd_fresh = cd[open_[members]]
                order.extend(fresh[np.argsort(-cd_fresh, kind="stable")].tolist())
                if len(order) >= want:
                    break
        exact = all(c.objective in self.cost_labels_ for c in self.ctx_.constraints) and self.cost_mode_ == "measure"
        if len(order) < want and not exact:  # nothing (more) predicted feasible: least violation first
            rest = np.flatnonzero(open_ & ~feasible)
            order.extend(rest[np.argsort(violation[rest], kind="stable")][: want - len(order)].tolist())
        return [self.pool_keys_[i] for i in order[:want]]

    # ------------------------------------------------------------------ protocol
    def _measured_feasible(self, arch: Arch) -> bool:
        """True unless a constraint on a measured cost is violated (read through ctx.measure)."""
        if self.cost_mode_ != "measure":
            return True
        return all(c.violation(self.ctx_.measure(arch, c.objective)) <= 0
                   for c in self.ctx_.constraints if c.objective in self.cost_labels_)

    def _random(self, n: int, evaluated: set) -> List[Arch]:
        """Up to ``n`` new uniform samples; with measured costs only feasible ones (rejection
        sampling, 50 draws per candidate), falling back to infeasible draws if none is found."""
        out, spare = [], []
        space = self.ctx_.space
        for _ in range(50 * n):
            a = space.sample(self.rng_)
            if a.key in evaluated or a.key in self.proposed_ or a in out or a in spare:
                continue
            (out if self._measured_feasible(a) else spare).append(a)
            if len(out) == n:
                break
        return out or spare[:n]

    def ask(self, n: int) -> List[Arch]:
        """Up to ``n`` candidates. Candidates asked but never told (a run stopped, or was killed,
        between an ask and its tell) are proposed again first, so a resumed run continues exactly
        as an uninterrupted one; the engine's cache answers those already evaluated."""
        self._decide_costs()
        if not self.pending_:
            self.pending_ = [a.key for a in self._ask(n)]
        return [self.ctx_.space.from_key(k) for k in self.pending_[:n]]

    def _ask(self, n: int) -> List[Arch]:
        evaluated = set(e.arch.key for e in self.ctx_.archive.evaluations)
        n_complete = len(self._complete())
        # with supernet labels and measured costs nothing is fitted to the archive: no random start
        n_init = self.n_init if self.predicted_labels else 0
        if n_complete + len([k for k in self.proposed_ if k not in evaluated]) < n_init:
            archs = self._random(min(n, n_init - n_complete), evaluated)
        else:
            if n_init and n_complete < 2:  # every initial candidate failed: keep sampling
                archs = self._random(n, evaluated)
                self.proposed_.update(a.key for a in archs)
                return archs
            self.queue_ = [k for k in self.queue_ if k not in evaluated]
            if not self.queue_ or self.since_fit_ >= self.refit_every:
                self._refit()
            archs = [self._pool_archs[self._pool_index[k]] for k in self.queue_[:n]]
            self.queue_ = self.queue_[n:]
        self.proposed_.update(a.key for a in archs)
        return archs

    def tell(self, evaluations: Sequence[Evaluation]) -> None:
        self.since_fit_ += len(evaluations)
        told = {e.arch.key for e in evaluations}
        self.pending_ = [k for k in self.pending_ if k not in told]

    def state_dict(self) -> Dict[str, Any]:
        return {
            "rng": self.rng_.bit_generator.state,
            "cost_mode": self.cost_mode_,
            "queue": list(self.queue_),
            "pending": list(self.pending_),
            "proposed": sorted(self.proposed_),
            "since_fit": self.since_fit_,
            "n_refits": self.n_refits_,
            "pool": None if self.pool_keys_ is None or self._enumerable() else list(self.pool_keys_),
            "pool_built": self.pool_keys_ is not None,
            "predictor": self.predictor_.state_dict() if self.predictor_.fitted else None,
            "supernet_labels": self.sn_labels_,
            "supernet_predictor": self.sn_predictor_.state_dict() if self.sn_predictor_.fitted else None,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.rng_.bit_generator.state = state["rng"]
        self.cost_mode_ = state["cost_mode"]
        self.queue_ = list(state["queue"])
        self.pending_ = list(state.get("pending", []))
        self.proposed_ = set(state["proposed"])
        self.since_fit_ = int(state["since_fit"])
        self.n_refits_ = int(state["n_refits"])
        if state.get("pool_built"):
            self._build_pool(state["pool"])
        if state["predictor"] is not None:
            self.predictor_.load_state_dict(state["predictor"])
        self.sn_labels_ = state.get("supernet_labels")
        if state.get("supernet_predictor") is not None:
            self.sn_predictor_.load_state_dict(state["supernet_predictor"])

    # ------------------------------------------------------------------ supernet labels
    def _checkpoint_path(self) -> Optional[Path]:
        ckpt = getattr(self.ctx_, "checkpoint_dir", None)
        return None if ckpt is None else Path(ckpt) / "gcn_supernet.pt"

    def _get_supernet(self):
        """(net, source): the published supernet, the ``supernet`` file's, or one trained here
        (saved to the checkpoint folder as ``gcn_supernet.pt`` and reused on resume)."""
        ctx = self.ctx_
        shared = ctx.evaluation.shared
        if self.supernet is None and shared.get("supernet") is not None:
            return shared["supernet"], f"published:{shared.get('supernet_tag')}"
        settings = self.supernet_settings
        net = build_supernet(ctx.space, ctx.data, settings, seed=int(ctx.seed))
        own = self._checkpoint_path()
        if self.supernet is not None:
            load_weights(net, self.supernet)
            source = f"file:{self.supernet}"
        elif own is not None and own.exists():
            load_weights(net, own)
            source = "trained:resumed"
        else:
            ctx.progress(f"{ctx.name}: training the supernet (uniform single path, {settings.epochs} epochs)")
            train_uniform(net, ctx.space, ctx.data, settings, int(ctx.seed), ctx.device, ctx.progress)
            if own is not None:
                tmp = Path(str(own) + ".tmp")
                torch.save({"supernet": net.state_dict()}, tmp)
                tmp.replace(own)
            source = "trained"
        net.to(ctx.device)
        if shared.get("supernet") is None:  # the accuracy objective's `supernet` fidelity may use it
            shared["supernet"] = net
            shared["supernet_tag"] = (f"{ctx.name}:gcn_predictor:{source}:seed={ctx.seed}:C={settings.C}:"
                                      f"depth={settings.depth}:epochs={settings.epochs}")
        return net, source

    def _fit_supernet_labels(self) -> None:
        """METHODS.md section 6 steps 1-4: supernet, N uniform subnets labelled with their
        inherited-weight accuracy, the GCN fitted to those labels (:mod:`.supernet`)."""
        ctx = self.ctx_
        net, source = self._get_supernet()
        rng = np.random.default_rng([int(ctx.seed), 29])
        ctx.progress(f"{ctx.name}: labelling {self.supernet_samples} uniform subnets with the supernet ({source})")
        archs, acc = label_subnets(net, ctx.space, ctx.data, self.supernet_samples, rng, self.label_split,
                                   self.label_batch_size)
        self._add_to_pool(archs)
        idx = np.array([self._pool_index[a.key] for a in archs])
        self.sn_predictor_.fit(self._graphs.select(idx), acc)
        self.sn_labels_ = {"keys": [a.key for a in archs], "acc": acc.tolist(), "source": source}


# the parameters of GCNPredictorGenerator are those of _configure (``inspect.signature`` shows them)
GCNPredictorGenerator.__signature__ = signature_from(GCNPredictorGenerator._configure)
