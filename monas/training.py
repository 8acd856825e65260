"""Train a network from scratch and measure its accuracy (the ``train`` fidelity, final retraining).

Recipe (NB201's, shortened): SGD with Nesterov momentum 0.9, weight decay 5e-4, the learning
rate annealed by a cosine from ``lr`` to 0 over all steps, cross-entropy loss, gradient norm
clipped at ``grad_clip`` (5, as DARTS; None disables). Batches are reshuffled every epoch
from a generator seeded by (seed, epoch), and the global torch RNG is seeded before training,
so on CPU the same seed gives the same weights and the same numbers.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.hardware import pinned_threads


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the message names the network and the epoch."""


def evaluate_accuracy(model: nn.Module, loader, device: Any = "cpu") -> float:
    """Top-1 accuracy (%) of ``model`` over ``loader``, in eval mode, without gradients."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += int((model(x).argmax(dim=1) == y).sum())
            total += int(y.numel())
    if total == 0:
        raise ValueError("evaluate_accuracy: the loader yielded no samples")
    return 100.0 * correct / total


def train_network(model: nn.Module, data, epochs: int = 3, batch_size: int = 64, lr: float = 0.05,
                  weight_decay: float = 5e-4, seed: int = 0, device: Any = "cpu", momentum: float = 0.9,
                  nesterov: bool = True, grad_clip: Optional[float] = 5.0, eval_split: Optional[str] = "valid",
                  progress: Optional[Callable[[str], None]] = None, name: str = "network",
                  threads: Optional[int] = 1) -> Dict[str, Any]:
    """Train ``model`` in place on ``data.train`` (a DataBundle) with the module's recipe, with
    torch's intra-op threads pinned to ``threads`` (1: small networks gain nothing from a pool and
    an unpinned pool oversubscribes a shared machine; None leaves torch's setting).

    Returns {"train_loss": mean loss per epoch, "train_acc": per epoch (%), "valid_acc": accuracy
    on ``eval_split`` after training (%, None when ``eval_split`` is None), "epochs", "steps",
    "seconds"}. ``progress`` receives one line per epoch. Raises NonFiniteLossError naming
    ``name`` and the epoch as soon as a batch loss is NaN or infinite.
    """
    if int(epochs) < 1 or int(batch_size) < 1 or not lr > 0:
        raise ValueError(f"train_network needs epochs >= 1, batch_size >= 1 and lr > 0; "
                         f"got epochs={epochs}, batch_size={batch_size}, lr={lr}")
    with pinned_threads(threads):
        return _train(model, data, epochs, batch_size, lr, weight_decay, seed, device, momentum, nesterov,
                      grad_clip, eval_split, progress, name)


def _train(model, data, epochs, batch_size, lr, weight_decay, seed, device, momentum, nesterov, grad_clip,
           eval_split, progress, name) -> Dict[str, Any]:
    torch.manual_seed(int(seed))
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0,
                                weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(data.train) / int(batch_size))
    total_steps = int(epochs) * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0.0)
    history = {"train_loss": [], "train_acc": []}
    start = time.perf_counter()
    step = 0
    for epoch in range(int(epochs)):
        model.train()
        loader = data.loader("train", batch_size=int(batch_size), shuffle=True, seed=int(seed) * 1000 + epoch)
        loss_sum = correct = seen = 0.0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"{name}: loss became {float(loss.detach())} in epoch {epoch + 1} of {epochs} "
                                         f"(step {step + 1}, lr {scheduler.get_last_lr()[0]:.4g}); "
                                         "lower lr or check the network")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            loss_sum += float(loss.detach()) * len(y)
            correct += float((logits.argmax(dim=1) == y).sum())
            seen += len(y)
        history["train_loss"].append(loss_sum / seen)
        history["train_acc"].append(100.0 * correct / seen)
        if progress is not None:
            progress(f"{name}: epoch {epoch + 1}/{epochs} loss {loss_sum / seen:.4f} "
                     f"train acc {100.0 * correct / seen:.2f}%")
    valid_acc = None
    if eval_split is not None:
        valid_acc = evaluate_accuracy(model, data.loader(eval_split, batch_size=256, shuffle=False), device)
    history.update(valid_acc=valid_acc, epochs=int(epochs), steps=step, seconds=time.perf_counter() - start)
    return history
