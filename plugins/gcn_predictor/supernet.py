"""Supernet estimates as the GCN's labels (METHODS.md section 6, steps 1-2; ``labels="supernet"``).

1. **The supernet**: the space's weight-sharing network (``space.supernet(mode="mixture", C=...,
   in_channels, num_classes, <space.supernet_depth>=depth, **supernet_kwargs)``, driven through
   the single-path protocol ``net(x, *net.arch_to_weights(arch))``; ``search_spaces/README.md``).
   It is, in this order: the one a one-shot generator of the study already published in
   ``ctx.evaluation.shared["supernet"]`` (e.g. tnd_nas); the weights of a checkpoint file
   (``supernet="path"``: tnd_nas' ``tnd_nas_search.pt``, its ``"net"`` entry, or a plain state
   dict, loaded into a network built with the same ``C`` / depth / keywords); else trained here,
   uniform single-path (SPOS-style, the paper's assumption [U]): every step one architecture
   drawn by ``space.sample``, cross-entropy on a train batch, SGD with momentum and a per-epoch
   cosine learning rate, gradient norm clipped.
2. **Labels**: ``n`` distinct architectures drawn uniformly (``space.sample``), each labelled
   with its inherited-weight top-1 accuracy (%) on the whole ``split`` (the validation split),
   exactly as the ``accuracy`` objective's ``supernet`` fidelity measures it.

[M] As in tnd_nas, the supernet's BatchNorms normalise with batch statistics (no running
statistics), so a single path is not judged with the statistics of other paths.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.arch import Arch
from monas.plugins.tnd_nas.supernet_training import use_batch_statistics


@dataclass
class SupernetSettings:
    """How the supernet is built and trained (see the module docstring)."""

    C: int = 8
    depth: Optional[int] = None
    kwargs: Dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 64
    steps_per_epoch: Optional[int] = None
    lr: float = 0.05
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: Optional[float] = 5.0


def build_supernet(space, data, settings: SupernetSettings, seed: int) -> nn.Module:
    """The space's supernet for ``data`` (channels, classes), seeded, with batch-statistics BN."""
    kw: Dict[str, Any] = {"C": int(settings.C), "in_channels": int(data.input_shape[0]),
                          "num_classes": int(data.num_classes)}
    if settings.depth is not None:
        name = getattr(space, "supernet_depth", None)
        if name is None:
            raise ValueError(f"gcn_predictor: supernet_depth needs the space to name its supernet's depth keyword "
                             f"(supernet_depth); space {space.name!r} does not: give supernet_kwargs instead")
        kw[name] = int(settings.depth)
    kw.update(settings.kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = space.supernet(mode="mixture", **kw)
    for method in ("arch_to_weights", "forward"):
        if not callable(getattr(net, method, None)):
            raise ValueError(f"gcn_predictor labels='supernet': the supernet of space {space.name!r} has no "
                             f"{method}(); it must offer the single-path protocol (search_spaces/README.md)")
    return use_batch_statistics(net)


def load_weights(net: nn.Module, path) -> nn.Module:
    """Load supernet weights from ``path``: a tnd_nas checkpoint (``{"net": state_dict, ...}``), a
    ``{"supernet": state_dict}`` file written here, or a plain state dict."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"gcn_predictor: supernet checkpoint {str(path)!r} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(state, dict) and "net" in state:
        state = state["net"]
    elif isinstance(state, dict) and "supernet" in state:
        state = state["supernet"]
    if not isinstance(state, dict) or not state:
        raise ValueError(f"gcn_predictor: {str(path)!r} holds no supernet weights (expected a tnd_nas checkpoint "
                         "with a trained 'net', or a state dict)")
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"gcn_predictor: the weights in {str(path)!r} do not fit the supernet built with "
                         f"supernet_C / supernet_depth / supernet_kwargs ({first}); give the settings the "
                         "checkpoint was trained with") from None
    return net


def train_uniform(net: nn.Module, space, data, settings: SupernetSettings, seed: int, device: str = "cpu",
                  progress: Callable[[str], None] = lambda m: None) -> List[float]:
    """Uniform single-path training (module docstring, step 1); returns the mean loss per epoch."""
    s = settings
    rng = np.random.default_rng([int(seed), 17])
    opt = torch.optim.SGD(net.parameters(), lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    net.to(device).train()
    losses = []
    for epoch in range(int(s.epochs)):
        lr = s.lr_min + 0.5 * (s.lr - s.lr_min) * (1 + math.cos(math.pi * epoch / max(1, s.epochs)))
        for group in opt.param_groups:
            group["lr"] = lr
        total, steps = 0.0, 0
        loader = data.loader("train", batch_size=s.batch_size, shuffle=True, seed=int(seed) * 1000 + epoch,
                             drop_last=True)
        for i, (x, y) in enumerate(loader):
            if s.steps_per_epoch is not None and i >= s.steps_per_epoch:
                break
            weights, edge_weights = _path(net, space.sample(rng), device)
            loss = F.cross_entropy(net(x.to(device), weights, edge_weights), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if s.grad_clip is not None:
                nn.utils.clip_grad_norm_(net.parameters(), s.grad_clip)
            opt.step()
            total += float(loss.detach())
            steps += 1
        if steps == 0:
            raise ValueError(f"gcn_predictor: no supernet training step: the train split has fewer samples than "
                             f"one batch of {s.batch_size}")
        losses.append(total / steps)
        progress(f"gcn_predictor supernet: epoch {epoch + 1}/{s.epochs} loss {losses[-1]:.3f}")
    return losses


def _path(net: nn.Module, arch: Arch, device: str):
    weights, edge_weights = net.arch_to_weights(arch)
    weights = {k: v.to(device) for k, v in weights.items()}
    if edge_weights is not None:
        edge_weights = {k: v.to(device) for k, v in edge_weights.items()}
    return weights, edge_weights


def inherited_accuracy(net: nn.Module, arch: Arch, data, split: str = "valid", batch_size: int = 256,
                       device: Optional[str] = None) -> float:
    """Top-1 accuracy (%) of ``arch``'s single path with the supernet's weights on ``split``."""
    device = device or str(next(net.parameters()).device)
    weights, edge_weights = _path(net, arch, device)
    was_training = net.training
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in data.loader(split, batch_size=batch_size, shuffle=False):
            x, y = x.to(device), y.to(device)
            correct += int((net(x, weights, edge_weights).argmax(1) == y).sum())
            total += int(y.numel())
    net.train(was_training)
    if total == 0:
        raise ValueError(f"gcn_predictor: the {split!r} split is empty; the supernet labels need it")
    return 100.0 * correct / total


def sample_distinct(space, n: int, rng: np.random.Generator) -> List[Arch]:
    """Up to ``n`` distinct uniform samples (fewer when the space is smaller)."""
    seen, out = set(), []
    for _ in range(50 * int(n)):
        a = space.sample(rng)
        if a.key not in seen:
            seen.add(a.key)
            out.append(a)
            if len(out) >= n:
                break
    return out


def label_subnets(net: nn.Module, space, data, n: int, rng: np.random.Generator, split: str = "valid",
                  batch_size: int = 256) -> Tuple[List[Arch], np.ndarray]:
    """``n`` uniform architectures and their inherited-weight accuracies (module docstring, step 2)."""
    archs = sample_distinct(space, n, rng)
    if len(archs) < 2:
        raise ValueError(f"gcn_predictor: only {len(archs)} distinct architectures could be sampled; the fit needs 2")
    return archs, np.array([inherited_accuracy(net, a, data, split, batch_size) for a in archs])
