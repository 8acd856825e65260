"""One-shot mode: the weight-sharing supernet trained by SGD while REINFORCE updates the policies.

Per stage s (METHODS.md section 3, steps 1-4): a fresh supernet (seeded; depth ``depths[s]``;
``reinit_stages=False`` [M] keeps training the previous stage's weights instead) is trained on
the train split for ``epochs[s]`` epochs, SGD (lr ``w_lr`` cosine to ``w_lr_min``
per epoch, momentum 0.9, weight decay 3e-4, gradient norm clipped to 5). The weights see the
DARTS continuous relaxation: every edge sums its active ops weighted by softmax(alpha_k) of one
policy k, taken round-robin over the sweep so all policies' mixtures train the one supernet
[M]; ``weight_training="sampled"`` [M] trains the single path of a sample from pi_k instead,
and ``"uniform"`` [M] a single path drawn uniformly over policy k's active ops (SPOS-style:
every op of the stage gets its share of training whatever the policies currently prefer).
The cross-entropy sees ``alpha.detach()`` only. After ``warmup_epochs[s]``, every
``interval`` weight steps: one batch of ``reward_batch_size`` from the valid split, M samples per policy, each evaluated as a one-hot
single path through the supernet (no gradient) for its top-1 accuracy on that batch, rewarded
by ``reward_fn`` (which adds the engine-measured costs), then one REINFORCE step of every
policy. At the end of the stage each policy keeps ``keep[s]`` ops per edge (:mod:`.shrinking`).

[M] The supernet's BatchNorms never keep running statistics (batch statistics in train and eval
mode), so a single path evaluated on inherited weights, by the policy step or by the engine's
``supernet`` accuracy fidelity, is not judged with the statistics of the mixture.

Checkpoint: after every epoch, ``checkpoint_path`` holds the stage, epoch, supernet, optimiser,
policies and RNG states; ``run`` continues from there.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.plugins.tnd_nas.shrinking import shrink

WEIGHT_TRAINING = ("mixture", "sampled", "uniform")
#: samples of a policy whose mean path weights stand for its mixture (``weight_training="mixture"``)
MIXTURE_DRAWS = 64


@dataclass
class OneShotSettings:
    """Schedule of the one-shot search (see the module docstring for the meaning of each)."""

    keep: Tuple[Any, ...]  # per stage: one count for every variable, or one count per variable
    depths: Tuple[Optional[int], ...]
    C: int = 8
    epochs: Tuple[int, ...] = (10, 10, 10)
    warmup_epochs: Tuple[int, ...] = (3, 3, 3)
    interval: int = 4
    batch_size: int = 64
    reward_batch_size: int = 64
    reinit_stages: bool = True
    samples: int = 10
    steps_per_epoch: Optional[int] = None
    w_lr: float = 0.04
    w_lr_min: float = 0.0
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: Optional[float] = 5.0
    weight_training: str = "mixture"
    supernet_kwargs: Dict[str, Any] = field(default_factory=dict)


def use_batch_statistics(net: nn.Module) -> nn.Module:
    """Make every BatchNorm of ``net`` normalise with batch statistics, also in eval mode."""
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
    return net


class _Cycle:
    """Endless batches of one split, reshuffled (seeded) at every pass."""

    def __init__(self, data, split: str, batch_size: int, seed: int) -> None:
        self.data, self.split, self.batch_size, self.seed = data, split, batch_size, seed
        self.epoch = 0
        self.taken = 0  # batches of the current pass already used (to resume mid-pass)
        self._it = None

    def next(self):
        if self._it is None:
            self._it = iter(self.data.loader(self.split, batch_size=self.batch_size, shuffle=True,
                                             seed=self.seed * 7919 + self.epoch, drop_last=True))
            for _ in range(self.taken):
                next(self._it)
        try:
            batch = next(self._it)
        except StopIteration:
            self.epoch += 1
            self.taken = 0
            self._it = None
            return self.next()
        self.taken += 1
        return batch


class OneShotSearch:
    """Runs the stages of the one-shot mode on ``data`` (a DataBundle), resumable per epoch.

    ``reward_fn(samples, acc)`` maps samples (n, M, total edges) and their supernet accuracies
    (%, (n, M)) to rewards (n, M). ``progress`` receives one line per epoch.
    """

    def __init__(self, adapter, policies, settings: OneShotSettings, data, device: str, seed: int,
                 reward_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 progress: Callable[[str], None] = lambda m: None,
                 checkpoint_path: Optional[Path] = None, name: str = "tnd_nas") -> None:
        if settings.weight_training not in WEIGHT_TRAINING:
            raise ValueError(f"weight_training {settings.weight_training!r}; accepted: {', '.join(WEIGHT_TRAINING)}")
        for what in ("depths", "epochs", "warmup_epochs"):
            if len(getattr(settings, what)) != len(settings.keep):
                raise ValueError(f"{what} {list(getattr(settings, what))} must give one value per stage "
                                 f"({len(settings.keep)} stages, keep={list(settings.keep)})")
        if not settings.reinit_stages and len(set(settings.depths)) > 1:
            raise ValueError(f"reinit_stages=False continues one supernet through the stages, so every stage needs "
                             f"the same depth; got depths {list(settings.depths)}")
        self.adapter, self.policies, self.settings = adapter, policies, settings
        self.data, self.device, self.seed = data, device, int(seed)
        self.reward_fn, self.progress, self.checkpoint_path, self.name = reward_fn, progress, checkpoint_path, name
        self.rng = np.random.default_rng([self.seed, 1])
        self.stage_ = 0
        self.epoch_ = 0
        self.net_: Optional[nn.Module] = None
        self.optimizer_ = None
        self.history_: List[Dict[str, float]] = []
        self.valid_ = _Cycle(data, "valid", settings.reward_batch_size, self.seed)
        self.weight_steps_ = 0
        #: called before the last stage's shrink (the generator keeps those masks for sampling)
        self.before_final_shrink: Optional[Callable[[], None]] = None

    @property
    def done(self) -> bool:
        return self.stage_ >= len(self.settings.keep)

    # ---- supernet -----------------------------------------------------------------------
    def supernet_kwargs(self, stage: int) -> Dict[str, Any]:
        """``space.supernet`` keywords of a stage: C, the data's channels and classes, the depth
        under the space's own keyword (``space.supernet_depth``: NB201 ``N``, DARTS ``layers``;
        none = the space's default depth), then ``supernet_kwargs``."""
        s = self.settings
        space = self.adapter.space
        kw: Dict[str, Any] = {"C": int(s.C), "in_channels": int(self.data.input_shape[0]),
                              "num_classes": int(self.data.num_classes)}
        depth = s.depths[stage]
        if depth is not None:
            name = getattr(space, "supernet_depth", None)
            if name is None:
                raise ValueError(f"tnd_nas: depth / stage_depths need the space to name its supernet's depth keyword "
                                 f"(supernet_depth); space {space.name!r} does not: give supernet_kwargs instead")
            kw[name] = int(depth)
        kw.update(s.supernet_kwargs)
        return kw

    def _build(self, stage: int) -> None:
        s = self.settings
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 100 + stage)
            net = self.adapter.space.supernet(mode="mixture", **self.supernet_kwargs(stage))
        for method in ("arch_to_weights", "forward"):
            if not callable(getattr(net, method, None)):
                raise ValueError(f"tnd_nas one-shot: the supernet of space {self.adapter.name!r} has no {method}(); "
                                 "it must offer the single-path protocol (search_spaces/README.md)")
        self.net_ = use_batch_statistics(net).to(self.device)
        self.paths_: Dict[bytes, Tuple[Dict[str, torch.Tensor], Optional[Dict[str, torch.Tensor]]]] = {}
        self.optimizer_ = torch.optim.SGD(self.net_.parameters(), lr=s.w_lr, momentum=s.w_momentum,
                                          weight_decay=s.w_weight_decay)

    def _lr(self, epoch: int) -> float:
        s = self.settings
        total = max(1, s.epochs[min(self.stage_, len(s.epochs) - 1)])
        return s.w_lr_min + 0.5 * (s.w_lr - s.w_lr_min) * (1 + math.cos(math.pi * epoch / total))

    def weights_for(self, sample: np.ndarray):
        """(weights, edge_weights) of a sample's single path: the supernet's own
        ``arch_to_weights`` of the architecture the sample stands for (``adapter.to_arch``), so
        the path whose accuracy is rewarded is the architecture whose costs the engine measures."""
        key = np.asarray(sample, dtype=np.int64).tobytes()
        if key not in self.paths_:
            if len(self.paths_) >= 50_000:  # a large space: bound the memory, recompute on demand
                self.paths_.clear()
            w, ew = self.net_.arch_to_weights(self.adapter.to_arch(sample))
            w = {t: v.to(self.device, torch.float32) for t, v in w.items()}
            ew = None if ew is None else {t: v.to(self.device, torch.float32) for t, v in ew.items()}
            self.paths_[key] = (w, ew)
        return self.paths_[key]

    def mixture_weights(self, k: int):
        """Policy k's expected path weights, E_pi_k[arch_to_weights(a)], estimated from
        ``MIXTURE_DRAWS`` samples [M] (on NB201, whose variables are the supernet's edges, this is
        softmax(alpha_k): the DARTS continuous relaxation). Detached: the CE never reaches alpha."""
        draws = self.policies.sample(k, MIXTURE_DRAWS, self.rng)
        paths = [self.weights_for(d) for d in draws]
        w = {t: torch.stack([p[0][t] for p in paths]).mean(0) for t in paths[0][0]}
        ew = None
        if paths[0][1] is not None:
            ew = {t: torch.stack([p[1][t] for p in paths]).mean(0) for t in paths[0][1]}
        return w, ew

    # ---- steps --------------------------------------------------------------------------
    def weight_step(self, x: torch.Tensor, y: torch.Tensor, k: int) -> float:
        """One SGD step of the shared weights on a train batch, driven by policy ``k``."""
        s = self.settings
        self.net_.train()
        if s.weight_training == "mixture":
            weights, edge_weights = self.mixture_weights(k)
        else:
            eps = 1.0 if s.weight_training == "uniform" else 0.0
            weights, edge_weights = self.weights_for(self.policies.sample(k, 1, self.rng, eps=eps)[0])
        loss = F.cross_entropy(self.net_(x, weights, edge_weights), y)
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        if s.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.net_.parameters(), s.grad_clip)
        self.optimizer_.step()
        self.weight_steps_ += 1
        return float(loss.detach())

    def sample_accuracy(self, samples: np.ndarray, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        """Top-1 accuracy (%) on (x, y) of each single path in ``samples`` (n, M, E); one forward
        per distinct sample, no gradient."""
        acc = np.zeros(samples.shape[:2])
        seen: Dict[bytes, float] = {}
        self.net_.train()  # batch statistics (they are the only ones anyway)
        with torch.no_grad():
            for k in range(samples.shape[0]):
                for m in range(samples.shape[1]):
                    key = samples[k, m].tobytes()
                    if key not in seen:
                        logits = self.net_(x, *self.weights_for(samples[k, m]))
                        seen[key] = 100.0 * float((logits.argmax(1) == y).float().mean())
                    acc[k, m] = seen[key]
        return acc

    def policy_step(self) -> Dict[str, float]:
        """Sample M architectures per policy, reward them on a valid batch, one REINFORCE step."""
        x, y = self.valid_.next()
        x, y = x.to(self.device), y.to(self.device)
        M = self.settings.samples
        samples = np.stack([self.policies.sample(k, M, self.rng) for k in range(self.policies.n)])
        acc = self.sample_accuracy(samples, x, y)
        rewards = self.reward_fn(samples, acc)
        self.policies.step(samples, rewards)
        return {"acc": float(acc.mean()), "reward": float(np.mean(rewards))}

    # ---- the loop -----------------------------------------------------------------------
    def run(self) -> None:
        """Train the remaining epochs of every stage (resuming after the last checkpoint), with a
        progress bar over every epoch of every stage (tqdm on stderr; off when it is not a terminal)."""
        from tqdm import tqdm

        s = self.settings
        done = sum(s.epochs[:self.stage_]) + (self.epoch_ if not self.done else 0)
        with tqdm(total=sum(s.epochs), initial=min(done, sum(s.epochs)), unit="epoch", desc=f"{self.name} supernet",
                  file=sys.stderr, disable=None, dynamic_ncols=True) as bar:
            self._run(bar)

    def _run(self, bar) -> None:
        s = self.settings
        while not self.done:
            if self.net_ is None:
                self._build(self.stage_)
            while self.epoch_ < s.epochs[self.stage_]:
                self._epoch()
                self.epoch_ += 1
                self.save()
                bar.update(1)
                bar.set_postfix_str(f"stage {self.stage_ + 1}/{len(s.keep)}")
            kept = s.keep[self.stage_]
            if self.stage_ == len(s.keep) - 1 and self.before_final_shrink is not None:
                self.before_final_shrink()
            shrink(self.policies, kept)
            self.progress(f"{self.name}: stage {self.stage_ + 1}/{len(s.keep)} done; {_kept(kept)}")
            self.stage_ += 1
            self.epoch_ = 0
            if not self.done:
                if s.reinit_stages:
                    self.net_ = None
                else:  # [M] warm start: the same weights go on, with a fresh optimiser and schedule
                    self.optimizer_ = torch.optim.SGD(self.net_.parameters(), lr=s.w_lr, momentum=s.w_momentum,
                                                      weight_decay=s.w_weight_decay)
            self.save()

    def _epoch(self) -> None:
        s = self.settings
        for g in self.optimizer_.param_groups:
            g["lr"] = self._lr(self.epoch_)
        loader = self.data.loader("train", batch_size=s.batch_size, shuffle=True,
                                  seed=self.seed * 1000 + self.stage_ * 100 + self.epoch_, drop_last=True)
        t0 = time.perf_counter()
        losses, policy = [], []
        for i, (x, y) in enumerate(loader):
            if s.steps_per_epoch is not None and i >= s.steps_per_epoch:
                break
            k = self.weight_steps_ % self.policies.n
            losses.append(self.weight_step(x.to(self.device), y.to(self.device), k))
            if self.epoch_ >= s.warmup_epochs[self.stage_] and (i + 1) % s.interval == 0:
                policy.append(self.policy_step())
        rec = {"stage": self.stage_ + 1, "epoch": self.epoch_ + 1, "train_loss": float(np.mean(losses)),
               "lr": self._lr(self.epoch_), "policy_steps": len(policy), "seconds": time.perf_counter() - t0}
        if policy:
            rec["sample_acc"] = float(np.mean([p["acc"] for p in policy]))
            rec["reward"] = float(np.mean([p["reward"] for p in policy]))
        self.history_.append(rec)
        extra = f" sampled acc {rec['sample_acc']:.1f}%" if policy else " (warm-up)"
        self.progress(f"{self.name}: stage {rec['stage']}/{len(s.keep)} epoch {rec['epoch']}/{s.epochs[self.stage_]} "
                      f"loss {rec['train_loss']:.3f}{extra}")

    # ---- checkpoint ---------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        return {
            "stage": self.stage_, "epoch": self.epoch_, "weight_steps": self.weight_steps_,
            "net": None if self.net_ is None else self.net_.state_dict(),
            "optimizer": None if self.optimizer_ is None else self.optimizer_.state_dict(),
            "policies": self.policies.state_dict(), "rng": self.rng.bit_generator.state,
            "valid_epoch": self.valid_.epoch, "valid_taken": self.valid_.taken, "history": list(self.history_),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.stage_, self.epoch_ = int(state["stage"]), int(state["epoch"])
        self.weight_steps_ = int(state["weight_steps"])
        self.policies.load_state_dict(state["policies"])
        self.rng.bit_generator.state = state["rng"]
        self.valid_ = _Cycle(self.data, "valid", self.settings.reward_batch_size, self.seed)
        self.valid_.epoch = int(state["valid_epoch"])
        self.valid_.taken = int(state.get("valid_taken", 0))
        self.history_ = list(state["history"])
        self.net_ = None
        if state["net"] is not None:
            self._build(min(self.stage_, len(self.settings.keep) - 1))
            self.net_.load_state_dict(state["net"])
            if state["optimizer"] is not None:
                self.optimizer_.load_state_dict(state["optimizer"])

    def save(self) -> None:
        if self.checkpoint_path is None:
            return
        tmp = Path(str(self.checkpoint_path) + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(self.checkpoint_path)


def _kept(kept) -> str:
    """'every variable keeps 3 options' (or the range when the counts differ per variable)."""
    counts = sorted({int(k) for k in np.asarray(kept).reshape(-1)})
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    return f"every variable keeps {n} option{'s' if counts[-1] > 1 else ''}"
