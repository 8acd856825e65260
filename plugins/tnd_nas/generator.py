"""TNDNAS: the TND-NAS candidate generator (one-shot and black-box modes, one code path).

What the engine sees (``setup`` / ``ask`` / ``tell`` / ``state_dict``):

1. ``setup`` builds ``n_policies`` per-edge categorical policies, one per (target, w) point of the
   sweep (:mod:`.rewards`), one categorical distribution per variable of the space (:mod:`.adapters`).
2. The first ``ask`` calibrates the targets on ``n_calibration`` random architectures (costs
   from ``ctx.measure``) and, in the one-shot mode, runs the whole progressive search
   (:mod:`.supernet_training`): the supernet's weights by SGD on the train split, the policies by
   REINFORCE with rewards = (supernet accuracy on a valid batch) x (costs measured by the engine);
   the trained supernet is then published as ``ctx.evaluation.shared["supernet"]`` for the
   ``accuracy`` objective's ``supernet`` fidelity.
3. Every ``ask`` then (both modes) takes in the engine's evaluations, runs ``policy_steps``
   REINFORCE steps whose samples are drawn from the policies among the evaluated architectures
   (:mod:`.experience`; rewards from the cache, no budget), and returns one candidate per policy
   in turn: its derived architecture while new, then its most probable new architectures; with
   probability ``front_neighbours`` the policy's most probable new architecture one variable away
   from a point of the evaluated front (:mod:`.proposals`).

In the black-box mode (no dataset, or ``mode="black_box"``) the reward's accuracy is the
engine's own evaluation (e.g. a benchmark table's column), so nothing but steps 1 and 3 run.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from monas.arch import Arch
from monas.capabilities import missing
from monas.generator import CandidateGenerator
from monas.hardware import pinned_threads
from monas.objective import MAXIMIZE
from monas.plugins.tnd_nas.adapters import ChoiceAdapter
from monas.plugins.tnd_nas.experience import Experience
from monas.plugins.tnd_nas.policy import PolicySet
from monas.plugins.tnd_nas.proposals import FrontFilter, neighbours, propose, propose_near_front
from monas.plugins.tnd_nas.rewards import REWARDS, Sweep, constrained_ranks, pareto_reward, product_reward
from monas.plugins.tnd_nas.presets import PRESETS
from monas.presets import merge_preset, signature_from
from monas.plugins.tnd_nas.shrinking import resolve_keep, shrink
from monas.plugins.tnd_nas.supernet_training import WEIGHT_TRAINING, OneShotSearch, OneShotSettings

MODES = ("auto", "one_shot", "black_box")
#: what the one-shot mode needs of a space (monas.capabilities)
ONE_SHOT_NEEDS = ("supernet.single_path",)
Number = Union[int, float]


class TNDNAS(CandidateGenerator):
    """TND-NAS (Bo Lyu, Shiping Wen et al., ICAART 2022, arXiv 2111.03892; METHODS.md section 3). Every parameter and its default
    is documented in ``plugins/tnd_nas/README.md``; the [M] choices in the module docstrings."""

    #: black-box on any categorical space; the one-shot mode adds ONE_SHOT_NEEDS (see
    #: required_capabilities)
    requires = ("categorical",)

    #: small settings for the contract tests (a one-shot search of a few steps)
    contract_params = {"n_policies": 2, "samples": 2, "n_calibration": 4, "C": 4, "keep": [2, 1], "epochs": 2,
                       "warmup_epochs": 1, "steps_per_epoch": 2, "interval": 1, "search_batch_size": 8}

    def __init__(self, preset: Optional[str] = None, **params: Any) -> None:
        """Keyword parameters as listed in the README (the signature shown is ``_configure``'s);
        ``preset`` (``"paper"``, :mod:`.presets`) fills every parameter not given."""
        self._configure(preset=preset, **merge_preset("tnd_nas", PRESETS, preset, params))

    def _configure(self, mode: str = "auto", n_policies: int = 16, reward: str = "pareto",
                   w: Union[Number, Sequence[Number], Dict[str, Any]] = -1.5,
                   w_below: Union[None, Number, Sequence[Number], Dict[str, Any]] = 1.5,
                   targets: Optional[Dict[str, Sequence[Number]]] = None,
                   target_range: Sequence[float] = (0.0, 1.0), target_spacing: str = "log",
                   target_fence: Optional[float] = 3.0, rank_temperature: float = 0.5,
                   accuracy: Optional[str] = None, costs: Optional[Sequence[str]] = None,
                   n_calibration: int = 256, samples: Optional[int] = None, policy_lr: Optional[float] = None,
                   policy_betas: Sequence[float] = (0.5, 0.999), policy_weight_decay: float = 1e-3,
                   baseline_gamma: float = 0.95, policy_grad_clip: Optional[float] = 5.0, policy_steps: int = 8,
                   proposal_draws: int = 256, skip_dominated: bool = True, n_initial: Optional[int] = None,
                   front_neighbours: float = 0.5,
                   keep: Union[None, Sequence[int], Dict[str, Sequence[int]]] = None,
                   stage_evaluations: Optional[int] = None,
                   C: int = 8, depth: Optional[int] = None, stage_depths: Optional[Sequence[int]] = None,
                   epochs: Union[int, Sequence[int]] = 10, warmup_epochs: Union[int, Sequence[int]] = 3,
                   interval: int = 4, search_batch_size: int = 64, reward_batch_size: Optional[int] = None,
                   reinit_stages: bool = True,
                   steps_per_epoch: Optional[int] = None, w_lr: float = 0.04, w_lr_min: float = 0.0,
                   w_momentum: float = 0.9, w_weight_decay: float = 3e-4, grad_clip: Optional[float] = 5.0,
                   weight_training: str = "mixture",
                   supernet_kwargs: Optional[Dict[str, Any]] = None, device: Optional[str] = None,
                   threads: Optional[int] = 1, batch_size: Optional[int] = None,
                   prune_dead_ops: Optional[bool] = None, options: Optional[Dict[str, Sequence[str]]] = None,
                   preset: Optional[str] = None) -> None:
        _choice("mode", mode, MODES)
        _choice("reward", reward, REWARDS)
        _choice("weight_training", weight_training, WEIGHT_TRAINING)
        for name, value, low in (("n_policies", n_policies, 1), ("samples", 1 if samples is None else samples, 1),
                                 ("n_calibration", n_calibration, 1),
                                 ("policy_steps", policy_steps, 0), ("proposal_draws", proposal_draws, 1),
                                 ("C", C, 1), ("interval", interval, 1), ("search_batch_size", search_batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"tnd_nas: {name} must be an int >= {low}, got {value!r}")
        for name, value in (("policy_lr", policy_lr), ("w_lr", w_lr), ("rank_temperature", rank_temperature)):
            if name == "policy_lr" and value is None:  # null: the mode's default, in setup
                continue
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"tnd_nas: {name} must be a positive number, got {value!r}")
        self.mode, self.n_policies, self.reward = mode, n_policies, reward
        self.w, self.w_below, self.targets = w, w_below, targets
        self.target_range = tuple(float(v) for v in target_range)
        self.target_spacing, self.target_fence = target_spacing, target_fence
        self.rank_temperature, self.accuracy, self.costs = float(rank_temperature), accuracy, costs
        self.n_calibration, self.samples = n_calibration, samples
        self.policy_lr, self.policy_betas = policy_lr, tuple(float(b) for b in policy_betas)
        self.policy_weight_decay, self.baseline_gamma = float(policy_weight_decay), float(baseline_gamma)
        self.policy_grad_clip, self.policy_steps = policy_grad_clip, policy_steps
        self.proposal_draws, self.skip_dominated, self.n_initial = proposal_draws, bool(skip_dominated), n_initial
        if isinstance(front_neighbours, bool) or not isinstance(front_neighbours, (int, float)) \
                or not 0.0 <= front_neighbours <= 1.0:
            raise ValueError(f"tnd_nas: front_neighbours must be a probability in [0, 1], got {front_neighbours!r}")
        self.front_neighbours = float(front_neighbours)
        self.keep, self.stage_evaluations = keep, stage_evaluations
        self.C, self.depth, self.stage_depths = C, depth, stage_depths
        self.epochs, self.warmup_epochs, self.interval = epochs, warmup_epochs, interval
        self.search_batch_size, self.steps_per_epoch = search_batch_size, steps_per_epoch
        self.reward_batch_size = search_batch_size if reward_batch_size is None else int(reward_batch_size)
        self.reinit_stages = bool(reinit_stages)
        self.w_lr, self.w_lr_min, self.w_momentum = float(w_lr), float(w_lr_min), float(w_momentum)
        self.w_weight_decay, self.grad_clip, self.weight_training = float(w_weight_decay), grad_clip, weight_training
        self.supernet_kwargs, self.device = dict(supernet_kwargs or {}), device
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"tnd_nas: threads must be a positive int or None, got {threads!r}")
        self.threads = threads
        if prune_dead_ops is not None and not isinstance(prune_dead_ops, bool):
            raise ValueError(f"tnd_nas: prune_dead_ops must be true, false or null (auto), got {prune_dead_ops!r}")
        self.prune_dead_ops = prune_dead_ops
        self.batch_size = int(batch_size) if batch_size is not None else n_policies
        if options is not None and (not isinstance(options, dict) or
                                    any(isinstance(v, str) or not isinstance(v, (list, tuple)) for v in options.values())):
            raise ValueError(f"tnd_nas: options must map variable-name patterns to lists of option names, got {options!r}")
        self.options, self.preset = options, preset
        # validates w / w_below / range early (per-cost mappings again in setup, once the costs are known)
        Sweep(sorted({c for v in (w, w_below) if isinstance(v, dict) for c in v}) or ["cost"], n_policies, w,
              w_below, None, self.target_range, target_spacing, target_fence)

    @property
    def needs_data(self) -> bool:
        """The one-shot mode trains a supernet on the study's dataset (the preflight refuses a
        config without one before any work)."""
        return self.mode == "one_shot"

    def required_capabilities(self) -> Tuple[str, ...]:
        """``categorical``; with ``mode="one_shot"`` also the supernet's single-path protocol
        (``auto`` picks the one-shot mode only where the space offers it)."""
        return self.requires + (ONE_SHOT_NEEDS if self.mode == "one_shot" else ())

    # ------------------------------------------------------------------ set-up
    def setup(self, ctx) -> None:
        super().setup(ctx)
        self.adapter_ = ChoiceAdapter(ctx.space)
        self.mode_ = self.mode if self.mode != "auto" else (
            "one_shot" if ctx.data is not None and not missing(ONE_SHOT_NEEDS, ctx.space) else "black_box")
        if self.mode_ == "one_shot" and ctx.data is None:
            raise ValueError("tnd_nas mode 'one_shot' trains a supernet and needs a dataset in the study "
                             "(e.g. digits); use mode 'black_box' with a table or trained accuracy")
        # M: null = on in the one-shot mode (dead ops leave the inherited-weight accuracy unchanged)
        self.adapter_.prune_dead_ops = (self.mode_ == "one_shot" if self.prune_dead_ops is None
                                        else self.prune_dead_ops)
        self.accuracy_, self.from_error_, self.costs_ = _labels(ctx.objectives, self.accuracy, self.costs)
        # [M] the dominance filter prices unevaluated candidates; when a cost is not cheap (latency
        # timed on the device) a check costs as much as the evaluation it would save: no filter
        cheap = {o.label for o in ctx.objectives if o.cheap}
        self.filter_ = self.skip_dominated and all(c in cheap for c in self.costs_)
        names = [v.name for v in self.adapter_.variables]
        self.keep_ = resolve_keep(self.keep, names, self.adapter_.cards)
        # M: the dev code's 10 in the one-shot mode (each sample costs a supernet forward), 16 in
        # the black-box mode (samples from the cache cost nothing)
        self.samples_ = self.samples if self.samples is not None else (10 if self.mode_ == "one_shot" else 16)
        # M: 0.05 in the one-shot mode (the figures of the one-shot example), 0.02 in the black-box
        # mode (cross-validated with front_neighbours, README Results); the dev code: 1e-2
        lr = float(self.policy_lr) if self.policy_lr is not None else (0.05 if self.mode_ == "one_shot" else 0.02)
        allowed = self.adapter_.allowed_mask(self.options)
        self.policies_ = PolicySet(self.adapter_.shapes, self.n_policies, lr=lr, betas=self.policy_betas,
                                   weight_decay=self.policy_weight_decay, gamma=self.baseline_gamma,
                                   grad_clip=self.policy_grad_clip, seed=int(ctx.seed), valid=allowed)
        self.allowed_ = next(iter(allowed.values()))
        self.sweep_ = Sweep(self.costs_, self.n_policies, self.w, self.w_below, self.targets, self.target_range,
                            self.target_spacing, self.target_fence)
        self.rng_ = np.random.default_rng(int(ctx.seed))
        self.experience_ = Experience(self.adapter_, self.accuracy_, self.from_error_, self.costs_, ctx.measure)
        self.proposed_: set = set()
        self.proposed_codes_: set = set()
        self.next_policy_ = 0
        self.best_: Optional[np.ndarray] = None
        self.stage_ = 0
        self.search_: Optional[OneShotSearch] = None
        self.sampling_masks_: Optional[Dict[str, torch.Tensor]] = None
        self.final_derived_: List[str] = []
        self.arch_cache_: Dict[bytes, Arch] = {}
        self.device_ = self.device or ctx.device

    # ------------------------------------------------------------------ protocol
    def ask(self, n: int) -> List[Arch]:
        with pinned_threads(self.threads):
            return self._ask(n)

    def _ask(self, n: int) -> List[Arch]:
        self._calibrate()
        if self.mode_ == "one_shot":
            self._search()
        self.experience_.sync(self.ctx_.archive)
        self._black_box_stage()
        if self.policy_steps and len(self.experience_.usable()):
            self.best_ = self.experience_.cached_steps(self.policies_, self.reward, self.sweep_, self.rank_temperature,
                                                       self.samples_, self.policy_steps, self.rng_)
        front, front_idx = self._front_filter()
        pool = None
        known = set(self.experience_.keys) | self.proposed_
        codes = set(self.experience_.codes) | self.proposed_codes_
        n_initial = self.n_policies if self.n_initial is None else int(self.n_initial)
        out: List[Arch] = []
        failures = 0
        while len(out) < n and failures < self.n_policies:
            k = self.next_policy_
            self.next_policy_ = (k + 1) % self.n_policies
            if self.mode_ == "black_box" and len(self.experience_) + len(out) < n_initial:
                found = self._random(known, codes)
            else:
                ref = -math.inf
                if self.best_ is not None:
                    ref = self.experience_.acc[int(self.best_[k])]
                found = None
                if self.front_neighbours and self.rng_.random() < self.front_neighbours:
                    if pool is None:
                        pool = neighbours(np.array([self.experience_.samples[i] for i in front_idx]), self.allowed_)
                    found = propose_near_front(self.policies_, k, self.adapter_, pool, known, codes, self._costs, ref,
                                               front if self.filter_ else None)
                if found is None:
                    found = propose(self.policies_, k, self.adapter_, self.rng_, known, codes, self._costs, ref,
                                    front if self.filter_ else None, draws=self.proposal_draws)
            if found is None:
                failures += 1
                continue
            arch, sample = found
            known.add(arch.key)
            codes.add(sample.tobytes())
            self.proposed_.add(arch.key)
            self.proposed_codes_.add(sample.tobytes())
            out.append(arch)
        return out

    def tell(self, evaluations) -> None:
        self.experience_.sync(self.ctx_.archive)

    # ------------------------------------------------------------------ pieces
    def _calibrate(self) -> None:
        if self.sweep_.calibrated or not self.costs_:
            if not self.costs_ and not self.sweep_.calibrated:
                self.sweep_.targets = np.ones((self.n_policies, 0))
            return
        self.ctx_.progress(f"{self.ctx_.name}: calibrating targets on {self.n_calibration} random architectures")
        rows, error = [], None
        for _ in range(self.n_calibration):
            arch = self.ctx_.space.sample(self.rng_)
            try:
                rows.append(self._costs(arch))
            except Exception as exc:  # an unmeasurable cell does not stop the calibration
                error = f"{arch.key}: {type(exc).__name__}: {exc}"
        if not rows:
            raise ValueError(f"tnd_nas could not measure the costs {self.costs_} of any of {self.n_calibration} "
                             f"random architectures to place the targets (last error: {error}); give targets=...")
        upper = np.full(len(self.costs_), np.inf)
        for con in self.ctx_.constraints:  # [M] targets stay within the hard bounds of the costs
            if con.objective in self.costs_ and con.op == "<=":
                i = self.costs_.index(con.objective)
                upper[i] = min(upper[i], float(con.bound))
        self.sweep_.calibrate(np.array(rows), upper)

    def _costs(self, arch: Arch) -> np.ndarray:
        return np.array([float(self.ctx_.measure(arch, c)) for c in self.costs_])

    def _random(self, known: set, codes: set):
        for _ in range(1000):
            sample = self.policies_.sample(0, 1, self.rng_, eps=1.0)[0]
            arch = self.adapter_.to_arch(sample)
            if arch.key not in known and sample.tobytes() not in codes:
                return arch, sample
        return None

    def _front_filter(self) -> Tuple[Optional[FrontFilter], np.ndarray]:
        """The dominance filter of the evaluated front, and the front's evaluation indices."""
        exp = self.experience_
        idx = exp.usable()
        if not len(idx):
            return None, idx
        F = exp.objective_matrix(idx)
        ranks = constrained_ranks(F, np.array(exp.violation)[idx])
        front = idx[ranks == 0]
        return FrontFilter(np.array(exp.acc)[front], np.array(exp.cost_rows)[front]), front

    def _black_box_stage(self) -> None:
        """Black-box stages: shrink every ``stage_evaluations`` evaluations (final keep of 1 excepted)."""
        if self.mode_ != "black_box" or not self.stage_evaluations:
            return
        keeps = [k for k in self.keep_ if max(k) > 1]
        while self.stage_ < len(keeps) and len(self.experience_) >= (self.stage_ + 1) * int(self.stage_evaluations):
            shrink(self.policies_, keeps[self.stage_])
            self.stage_ += 1

    # ------------------------------------------------------------------ one-shot mode
    def _settings(self) -> OneShotSettings:
        stages = len(self.keep_)
        depths = tuple(self.stage_depths) if self.stage_depths is not None else (self.depth,) * stages
        epochs = _per_stage("epochs", self.epochs, stages, 1)
        warmup = _per_stage("warmup_epochs", self.warmup_epochs, stages, 0)
        bad = [s for s in range(stages) if warmup[s] >= epochs[s]]
        if bad:
            raise ValueError(f"tnd_nas: warmup_epochs {list(warmup)} must be < epochs {list(epochs)} in every stage so "
                             "the policies get REINFORCE steps in each")
        return OneShotSettings(
            keep=self.keep_, depths=depths, C=self.C, epochs=epochs, warmup_epochs=warmup,
            interval=self.interval, batch_size=self.search_batch_size, samples=self.samples_,
            reward_batch_size=self.reward_batch_size, reinit_stages=self.reinit_stages,
            steps_per_epoch=self.steps_per_epoch, w_lr=self.w_lr, w_lr_min=self.w_lr_min, w_momentum=self.w_momentum,
            w_weight_decay=self.w_weight_decay, grad_clip=self.grad_clip, weight_training=self.weight_training,
            supernet_kwargs=self.supernet_kwargs)

    def _checkpoint_path(self) -> Optional[Path]:
        ckpt = getattr(self.ctx_, "checkpoint_dir", None)
        return None if ckpt is None else Path(ckpt) / "tnd_nas_search.pt"

    def _new_search(self) -> OneShotSearch:
        return OneShotSearch(self.adapter_, self.policies_, self._settings(), self.ctx_.data, self.device_,
                             int(self.ctx_.seed), self._one_shot_reward, self.ctx_.progress,
                             self._checkpoint_path(), name=self.ctx_.name)

    def _search(self) -> None:
        if self.search_ is None:  # a run killed before its first tell resumes from the epoch checkpoint
            self.search_ = self._new_search()
            path = self._checkpoint_path()
            if path is not None and path.exists():
                self.search_.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))
        if not self.search_.done:
            self.search_.before_final_shrink = self._remember_sampling_masks
            self.search_.run()
            self._restore_sampling_masks()
            self.final_derived_ = [self.adapter_.derive(self.policies_.probs(k)).key for k in range(self.n_policies)]
            self.ctx_.progress(f"{self.ctx_.name}: search done; derived cells: " + ", ".join(self.final_derived_))
        self._restore_sampling_masks()
        self.publish()

    def _restore_sampling_masks(self) -> None:
        """Sample from the last stage's ops, not the final one-op cells (which are the derivation)."""
        if self.sampling_masks_ is not None:
            self.policies_.masks = {t: m.clone() for t, m in self.sampling_masks_.items()}

    def _remember_sampling_masks(self) -> None:
        self.sampling_masks_ = {t: m.clone() for t, m in self.policies_.masks.items()}

    def publish(self) -> None:
        """Share the trained supernet with the objectives (``accuracy`` fidelity ``supernet``)."""
        if self.search_ is None or self.search_.net_ is None:
            return
        shared = self.ctx_.evaluation.shared
        shared["supernet"] = self.search_.net_
        shared["supernet_tag"] = (f"{self.ctx_.name}:tnd_nas:seed={self.ctx_.seed}:keep={[list(k) for k in self.keep_]}:"
                                  f"epochs={self.epochs}:C={self.C}:reinit={self.reinit_stages}")

    def _sample_arch(self, sample: np.ndarray) -> Arch:
        key = sample.tobytes()
        if key not in self.arch_cache_:
            self.arch_cache_[key] = self.adapter_.to_arch(sample)
        return self.arch_cache_[key]

    def _one_shot_reward(self, samples: np.ndarray, acc: np.ndarray) -> np.ndarray:
        """Rewards of a policy step: supernet accuracy x engine-measured costs (module docstring)."""
        n, M = acc.shape
        C = len(self.costs_)
        costs = np.ones((n, M, C))
        for k in range(n):
            for m in range(M):
                costs[k, m] = self._costs(self._sample_arch(samples[k, m]))
        targets, w, wb = self.sweep_.targets, self.sweep_.w(), self.sweep_.w_below()
        if self.reward == "product":
            return np.stack([product_reward(acc[k], costs[k], targets[k:k + 1], w[k:k + 1],
                                            None if wb is None else wb[k:k + 1])[0] for k in range(n)])
        self.experience_.sync(self.ctx_.archive)
        idx = self.experience_.usable()
        F = np.concatenate([-acc.reshape(-1, 1), costs.reshape(-1, C)], axis=1)
        viol = np.array([self._violation(a, c) for a, c in zip(acc.reshape(-1), costs.reshape(-1, C))])
        if len(idx):
            F = np.concatenate([F, self.experience_.objective_matrix(idx)])
            viol = np.concatenate([viol, np.array(self.experience_.violation)[idx]])
        ranks = constrained_ranks(F, viol)[: n * M].reshape(n, M)
        return np.stack([pareto_reward(ranks[k], costs[k], targets[k:k + 1], w[k:k + 1],
                                       None if wb is None else wb[k:k + 1], self.rank_temperature)[0]
                         for k in range(n)])

    def _violation(self, acc: float, costs: np.ndarray) -> float:
        values = dict(zip(self.costs_, costs.tolist()))
        values[self.accuracy_] = 100.0 - acc if self.from_error_ else acc
        return float(sum(max(0.0, c.violation(values[c.objective])) for c in self.ctx_.constraints
                         if c.objective in values))

    # ------------------------------------------------------------------ reports and state
    def derived(self) -> List[Dict[str, Any]]:
        """Each policy's sweep point and derived architecture (key)."""
        out = []
        for k, point in enumerate(self.sweep_.points()):
            out.append({"policy": k, **point, "derived": self.adapter_.derive(self.policies_.probs(k)).key})
        return out

    def state_dict(self) -> Dict[str, Any]:
        state = {
            "policies": self.policies_.state_dict(), "sweep": self.sweep_.state_dict(),
            "rng": self.rng_.bit_generator.state, "proposed": sorted(self.proposed_),
            "proposed_codes": sorted(self.proposed_codes_), "next_policy": self.next_policy_,
            "stage": self.stage_, "sampling_masks": self.sampling_masks_,
            "search_done": bool(self.search_ is not None and self.search_.done),
            "final_derived": list(self.final_derived_),
        }
        if self.search_ is not None and self._checkpoint_path() is None:
            state["search"] = self.search_.state_dict()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.sweep_.load_state_dict(state["sweep"])
        self.rng_.bit_generator.state = state["rng"]
        self.proposed_ = set(state["proposed"])
        self.proposed_codes_ = set(state["proposed_codes"])
        self.next_policy_ = int(state["next_policy"])
        self.stage_ = int(state["stage"])
        self.sampling_masks_ = state.get("sampling_masks")
        self.final_derived_ = list(state.get("final_derived", []))
        newer_checkpoint = False
        if self.mode_ == "one_shot":
            self.search_ = self._new_search()
            path = self._checkpoint_path()
            saved = state.get("search")
            if saved is None and path is not None and path.exists():
                saved = torch.load(path, map_location="cpu", weights_only=False)
            if saved is not None:
                self.search_.load_state_dict(saved)
                newer_checkpoint = not state.get("search_done", False)
        if not newer_checkpoint:  # after the search the generator's policies are the newer ones
            self.policies_.load_state_dict(state["policies"])
        if self.search_ is not None and self.search_.done:
            self.publish()


def _per_stage(name: str, value, stages: int, low: int) -> Tuple[int, ...]:
    vals = [value] * stages if isinstance(value, int) and not isinstance(value, bool) else list(value)
    if len(vals) != stages or any(isinstance(v, bool) or not isinstance(v, int) or v < low for v in vals):
        raise ValueError(f"tnd_nas: {name} must be an int >= {low} or a list of {stages} of them (one per stage of "
                         f"keep), got {value!r}")
    return tuple(vals)


def _choice(name: str, value, accepted) -> None:
    if value not in accepted:
        raise ValueError(f"tnd_nas: {name}={value!r}; accepted: {', '.join(accepted)}")


def _labels(objectives, accuracy: Optional[str], costs: Optional[Sequence[str]]):
    """(accuracy label, whether it holds an error in %, cost labels) from the study's objectives."""
    labels = [o.label for o in objectives]
    direction = {o.label: o.direction for o in objectives}
    if accuracy is None:
        maximised = [o.label for o in objectives if o.direction == MAXIMIZE]
        errors = [o.label for o in objectives if o.direction != MAXIMIZE and "err" in o.label.lower()]
        if maximised:
            accuracy = maximised[0]
        elif errors:
            accuracy = errors[0]
        else:
            raise ValueError(f"tnd_nas needs an accuracy objective (maximised, or an error in % whose label contains "
                             f"'err'); the study has {labels}: name it with accuracy=<label>")
    if accuracy not in labels:
        raise ValueError(f"tnd_nas: accuracy={accuracy!r} is not an objective of the study; accepted: {labels}")
    from_error = direction[accuracy] != MAXIMIZE
    if costs is None:
        costs = [o.label for o in objectives if o.label != accuracy and o.direction != MAXIMIZE]
    costs = list(costs)
    bad = [c for c in costs if c not in labels or c == accuracy or direction[c] == MAXIMIZE]
    if bad:
        raise ValueError(f"tnd_nas: costs {bad} must be minimised objectives of the study other than the accuracy; "
                         f"accepted: {[l for l in labels if l != accuracy and direction[l] != MAXIMIZE]}")
    return accuracy, from_error, costs


# the parameters of TNDNAS are those of _configure (``inspect.signature(TNDNAS)`` shows them)
TNDNAS.__signature__ = signature_from(TNDNAS._configure)
