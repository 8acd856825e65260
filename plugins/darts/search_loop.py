"""The bi-level search loop shared by DARTS, PC-DARTS, ROME and sharpDARTS.

Per step (quark0/darts ``train_search.py``): one architecture step on a validation batch, then
one weight step on a training batch.

- Architecture step: K architectures are drawn from the relaxation (K = ``arch_samples``; 1
  for the deterministic relaxations) and the gradient of the validation loss w.r.t. the
  architecture parameters is the **mean** of the K per-sample gradients (ROME Eq. 11), plus
  lambda times the gradient of the normalised expected hardware cost when a penalty is set;
  then Adam. Second order (``order=2``) replaces the gradient by DARTS' unrolled one. No
  architecture step runs before ``arch_warmup_epochs`` (PC-DARTS' warm-up).
- Weight step: K' architectures (``weight_samples``), the weight gradient is the **sum** of
  the per-sample gradients (ROME Eq. 12), clipped to norm ``grad_clip``, then SGD with the
  epoch's learning rate (``w_lrs``: cosine for DARTS, CPA for sharpDARTS).

Each per-sample forward is followed by its own backward, so only one sample's activations
are alive at a time. Batches come from the data's train and valid splits, reshuffled per
epoch from seeds derived from ``seed`` and the epoch, so a run resumed from an epoch
checkpoint continues exactly.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.plugins.darts.relaxation import Relaxation


def cosine_annealing(epochs: int, lr_max: float, lr_min: float) -> List[float]:
    """DARTS' per-epoch cosine: ``lr_min + (lr_max - lr_min)(1 + cos(pi e / E)) / 2``, e = 0..E-1."""
    if int(epochs) < 1:
        raise ValueError(f"cosine_annealing: epochs must be >= 1, got {epochs}")
    return [lr_min + (lr_max - lr_min) * (1.0 + math.cos(math.pi * e / epochs)) / 2.0 for e in range(int(epochs))]


@dataclass
class SearchSettings:
    """Hyperparameters of one bi-level search (see module docstring)."""

    epochs: int
    batch_size: int
    w_lrs: Tuple[float, ...]
    steps_per_epoch: Optional[int] = None
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: Optional[float] = 5.0
    arch_lr: float = 3e-4
    arch_betas: Tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    arch_warmup_epochs: int = 0
    arch_samples: int = 1
    weight_samples: int = 1
    order: int = 1
    extra: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if len(self.w_lrs) != int(self.epochs):
            raise ValueError(f"w_lrs has {len(self.w_lrs)} entries for {self.epochs} epochs")
        if int(self.batch_size) < 2:
            raise ValueError(f"search batch size must be >= 2 (BatchNorm in train mode), got {self.batch_size}")
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 (first order) or 2 (unrolled second order), got {self.order}")
        if int(self.arch_samples) < 1 or int(self.weight_samples) < 1:
            raise ValueError(f"arch_samples and weight_samples must be >= 1, got {self.arch_samples}, "
                             f"{self.weight_samples}")
        if self.steps_per_epoch is not None and int(self.steps_per_epoch) < 1:
            raise ValueError(f"steps_per_epoch must be >= 1 or None (a full pass), got {self.steps_per_epoch}")


class BilevelSearch:
    """One search: a supernet, its architecture parameters and both optimisers.

    ``penalty`` is a callable ``(expected probabilities, ops) -> normalised cost`` (a
    :class:`monas.plugins.darts.penalty.HardwarePenalty` with its reference set) applied with
    weight ``lam``. ``seed`` seeds the sampling generator and the batch order.
    """

    def __init__(self, net: nn.Module, relaxation: Relaxation, arch_params: Dict[str, nn.Parameter],
                 settings: SearchSettings, penalty: Optional[Callable] = None, lam: float = 0.0,
                 seed: int = 0, device: str = "cpu") -> None:
        self.net = net.to(device)
        self.relaxation = relaxation
        self.params = arch_params
        self.settings = settings
        self.penalty = penalty
        self.lam = float(lam)
        self.seed = int(seed)
        self.device = torch.device(device)
        s = settings
        self.w_optimizer = torch.optim.SGD(self.net.parameters(), lr=s.w_lrs[0], momentum=s.w_momentum,
                                           weight_decay=s.w_weight_decay)
        self.a_optimizer = torch.optim.Adam(list(arch_params.values()), lr=s.arch_lr, betas=tuple(s.arch_betas),
                                            weight_decay=s.arch_weight_decay)
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        self.epoch_ = 0
        self.history_: List[Dict[str, float]] = []

    # ---- gradients --------------------------------------------------------------------
    def _weights(self, epoch: int):
        return self.relaxation.weights(self.params, epoch, self.settings.epochs, self.generator)

    def arch_gradients(self, x: torch.Tensor, y: torch.Tensor, epoch: int,
                       train_batch: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> float:
        """Set ``.grad`` of every architecture parameter (mean over K samples, plus the penalty);
        return the mean validation loss. ``train_batch`` is needed by the second order."""
        names = list(self.params)
        plist = [self.params[n] for n in names]
        K = int(self.settings.arch_samples)
        if self.settings.order == 2:
            from monas.plugins.darts.unrolled import unrolled_arch_gradients

            if train_batch is None:
                raise ValueError("second-order architecture gradients need the training batch")
            acc, mean_loss = unrolled_arch_gradients(
                self.net, plist, lambda: self._weights(epoch), train_batch, (x, y),
                lr=self.w_optimizer.param_groups[0]["lr"], momentum=self.settings.w_momentum,
                weight_decay=self.settings.w_weight_decay, w_optimizer=self.w_optimizer)
        else:
            acc = [torch.zeros_like(p) for p in plist]
            mean_loss = 0.0
            for _ in range(K):
                loss, grads = self._sample_arch_grad(x, y, epoch, plist)
                for a, g in zip(acc, grads):
                    if g is not None:
                        a.add_(g, alpha=1.0 / K)
                mean_loss += loss / K
        if self.penalty is not None and self.lam != 0.0:
            cost = self.lam * self.penalty(self.relaxation.expected_probabilities(self.params), self.relaxation.ops)
            for a, g in zip(acc, torch.autograd.grad(cost, plist, allow_unused=True)):
                if g is not None:
                    a.add_(g)
        for p, a in zip(plist, acc):
            p.grad = a
        return mean_loss

    def _sample_arch_grad(self, x, y, epoch, plist):
        # In its own frame so the sample's graph is freed on return: autograd.grad w.r.t. the
        # architecture never runs the nodes that lead only to weights (e.g. ops on the cell
        # inputs), and their saved tensors would otherwise live on into the next sample.
        w, ew = self._weights(epoch)
        loss = F.cross_entropy(self.net(x, w, ew), y)
        return float(loss.detach()), torch.autograd.grad(loss, plist, allow_unused=True)

    def weight_gradients(self, x: torch.Tensor, y: torch.Tensor, epoch: int) -> float:
        """Set ``.grad`` of the supernet weights: the sum over K' sampled architectures; return
        the mean training loss."""
        self.w_optimizer.zero_grad(set_to_none=True)
        K = int(self.settings.weight_samples)
        mean_loss = 0.0
        for _ in range(K):
            with torch.no_grad():
                w, ew = self._weights(epoch)
            loss = F.cross_entropy(self.net(x, w, ew), y)
            loss.backward()
            mean_loss += float(loss.detach()) / K
        return mean_loss

    # ---- steps ------------------------------------------------------------------------
    def arch_active(self, epoch: int) -> bool:
        return epoch >= int(self.settings.arch_warmup_epochs)

    def step(self, train_batch, valid_batch, epoch: int) -> Dict[str, float]:
        """One architecture step (after the warm-up) and one weight step."""
        for group in self.w_optimizer.param_groups:
            group["lr"] = self.settings.w_lrs[epoch]
        out = {}
        if self.arch_active(epoch):
            out["valid_loss"] = self.arch_gradients(*valid_batch, epoch=epoch, train_batch=train_batch)
            self.a_optimizer.step()
        out["train_loss"] = self.weight_gradients(*train_batch, epoch=epoch)
        if self.settings.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.settings.grad_clip)
        self.w_optimizer.step()
        return out

    def run_epoch(self, data, epoch: int) -> Dict[str, float]:
        """One pass over zipped train/valid batches (at most ``steps_per_epoch`` steps)."""
        bs = int(self.settings.batch_size)
        base = self.seed * 1000 + epoch
        train = data.loader("train", batch_size=bs, shuffle=True, seed=base, drop_last=True)
        valid = data.loader("valid", batch_size=bs, shuffle=True, seed=base + 500_000, drop_last=True)
        self.net.train()
        sums: Dict[str, float] = {}
        steps = 0
        start = time.perf_counter()
        for (xt, yt), (xv, yv) in zip(train, valid):
            if self.settings.steps_per_epoch is not None and steps >= int(self.settings.steps_per_epoch):
                break
            batch_t = (xt.to(self.device), yt.to(self.device))
            batch_v = (xv.to(self.device), yv.to(self.device))
            for k, v in self.step(batch_t, batch_v, epoch).items():
                if not math.isfinite(v):
                    raise FloatingPointError(f"search loss {k} became {v} in epoch {epoch + 1} step {steps + 1}; "
                                             "lower the learning rates")
                sums[k] = sums.get(k, 0.0) + v
            steps += 1
        if steps == 0:
            raise ValueError(f"no search step: the data has fewer samples than one batch of {bs}")
        record = {k: v / steps for k, v in sums.items()}
        record.update(epoch=epoch + 1, steps=steps, lr=self.settings.w_lrs[epoch],
                      seconds=time.perf_counter() - start)
        return record

    def run(self, data, on_epoch: Optional[Callable[["BilevelSearch", Dict[str, float]], None]] = None,
            max_epochs: Optional[int] = None) -> None:
        """Run the remaining epochs (from ``epoch_``); ``on_epoch(search, record)`` after each.

        ``max_epochs`` stops early after that many epochs in this call (tests, interruption)."""
        done = 0
        while self.epoch_ < self.settings.epochs:
            if max_epochs is not None and done >= max_epochs:
                return
            record = self.run_epoch(data, self.epoch_)
            self.epoch_ += 1
            self.history_.append(record)
            done += 1
            if on_epoch is not None:
                on_epoch(self, record)

    @property
    def finished(self) -> bool:
        return self.epoch_ >= self.settings.epochs

    # ---- checkpoint -------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "arch": {k: v.detach().cpu().clone() for k, v in self.params.items()},
            "w_optimizer": self.w_optimizer.state_dict(),
            "a_optimizer": self.a_optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "epoch": self.epoch_,
            "history": list(self.history_),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        with torch.no_grad():
            for k, v in state["arch"].items():
                if k not in self.params:
                    raise ValueError(f"checkpoint has architecture parameter {k!r}, this search has {sorted(self.params)}")
                self.params[k].copy_(v.to(self.params[k].device))
        self.w_optimizer.load_state_dict(state["w_optimizer"])
        self.a_optimizer.load_state_dict(state["a_optimizer"])
        self.generator.set_state(state["generator"].cpu())  # RNG states are CPU byte tensors
        self.epoch_ = int(state["epoch"])
        self.history_ = list(state["history"])
