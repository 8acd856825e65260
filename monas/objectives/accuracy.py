"""Classification accuracy (maximise) and error = 100 - accuracy (minimise), by a chosen fidelity.

Fidelities:

- ``train``: build ``space.build(arch, num_classes=data.num_classes, in_channels=data C,
  **build_kwargs)`` with torch seeded by ``ctx.seed``, train it from scratch on the data's train
  split for ``epochs`` with :func:`monas.training.train_network` (SGD Nesterov 0.9, cosine lr,
  wd 5e-4), report accuracy (%) on ``split`` (default valid). A NaN loss raises
  :class:`monas.training.NonFiniteLossError` naming the arch and the epoch; the engine records
  the evaluation as failed.
- ``supernet``: the subnet of ``arch`` with weights inherited from the trained supernet a
  generator published as ``ctx.shared["supernet"]`` (``net.arch_to_weights(arch)``), evaluated
  on ``split``; a generator may publish ``ctx.shared["supernet_tag"]`` (e.g. its epoch) so
  values measured on older weights are not reused from the cache.
- ``tabular``: not measured here; the ``tabular`` objective reads benchmark tables.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch

from monas.objective import MAXIMIZE, MINIMIZE, Measurement, Objective
from monas.objectives._build import build_network
from monas.training import evaluate_accuracy, train_network

FIDELITIES = ("train", "supernet", "tabular")


class AccuracyObjective(Objective):
    """Top-1 accuracy (%) of an architecture by ``fidelity`` (see module docstring).

    Parameters: ``fidelity``, ``epochs``, ``batch_size``, ``lr``, ``weight_decay``,
    ``momentum``, ``grad_clip`` (the train recipe), ``split`` evaluated ('valid' or 'test'),
    ``build_kwargs`` for ``space.build`` (e.g. ``{C: 16, N: 5}``) and ``column`` (only for the
    error message of the tabular fidelity).
    """

    direction = MAXIMIZE
    units = "%"
    needs_data = True  # every fidelity reads ctx.data; the preflight refuses a config without a dataset

    @property
    def needs_search_process(self) -> bool:
        """The ``supernet`` fidelity reads the supernet a generator trains in the search process:
        worker processes cannot evaluate it (the preflight refuses ``workers`` != 1)."""
        return self.fidelity == "supernet"

    def __init__(self, fidelity: str = "train", epochs: int = 3, batch_size: int = 64, lr: float = 0.05,
                 weight_decay: float = 5e-4, momentum: float = 0.9, grad_clip: Optional[float] = 5.0,
                 split: str = "valid", build_kwargs: Optional[Dict[str, Any]] = None,
                 column: Optional[str] = None) -> None:
        if fidelity not in FIDELITIES:
            raise ValueError(f"accuracy fidelity {fidelity!r}; accepted: {', '.join(FIDELITIES)}")
        if fidelity == "tabular":
            raise ValueError("accuracy fidelity 'tabular' is served by the 'tabular' objective: use "
                             "{name: tabular, params: {column: c10_valid_acc_200ep}} (or another column) instead")
        if split not in ("valid", "test"):
            raise ValueError(f"accuracy split {split!r}; accepted: valid, test")
        self.fidelity = fidelity
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.grad_clip = grad_clip
        self.split = split
        self.build_kwargs = dict(build_kwargs or {})
        self.column = column

    def fingerprint(self, ctx) -> Dict[str, Any]:
        data = getattr(ctx, "data", None)
        fp: Dict[str, Any] = {
            "kind": "accuracy", "fidelity": self.fidelity, "split": self.split,
            "data": None if data is None else {"name": data.name, "input_shape": list(data.input_shape),
                                               "n_train": len(data.train), "n_valid": len(data.valid)},
        }
        if self.fidelity == "train":
            fp.update(seed=getattr(ctx, "seed", 0), epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                      weight_decay=self.weight_decay, momentum=self.momentum, grad_clip=self.grad_clip,
                      build=dict(sorted(self.build_kwargs.items())))
        else:
            fp["supernet_tag"] = getattr(ctx, "shared", {}).get("supernet_tag")
        return fp

    def _data(self, ctx):
        if getattr(ctx, "data", None) is None:
            raise ValueError(f"accuracy ({self.fidelity} fidelity) needs a dataset in the evaluation context; "
                             "give the study a dataset (e.g. digits)")
        return ctx.data

    def accuracy(self, arch, ctx) -> Measurement:
        """The accuracy measurement (shared by accuracy and error)."""
        data = self._data(ctx)
        if self.fidelity == "train":
            torch.manual_seed(int(getattr(ctx, "seed", 0)))
            net = build_network(ctx.space, arch, ctx, data.input_shape, self.build_kwargs)
            history = train_network(net, data, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                    weight_decay=self.weight_decay, seed=int(getattr(ctx, "seed", 0)),
                                    device=ctx.device, momentum=self.momentum, grad_clip=self.grad_clip,
                                    eval_split=self.split, name=f"{arch!r}")
            return Measurement(history["valid_acc"], {
                "fidelity": "train", "split": self.split, "train_loss": history["train_loss"],
                "train_acc": history["train_acc"], "epochs": history["epochs"], "seconds": history["seconds"],
            })
        net = ctx.shared.get("supernet") if getattr(ctx, "shared", None) else None
        if net is None:
            raise ValueError(f"accuracy fidelity 'supernet' for {arch!r}: no supernet was published in "
                             "ctx.shared['supernet']; use a one-shot generator that publishes it, or fidelity 'train'")
        weights, edge_weights = net.arch_to_weights(arch)
        device = next(net.parameters()).device
        was_training = net.training
        weights = {k: v.to(device) for k, v in weights.items()}
        if edge_weights is not None:
            edge_weights = {k: v.to(device) for k, v in edge_weights.items()}
        acc = evaluate_accuracy(_Subnet(net, weights, edge_weights), data.loader(self.split, batch_size=256,
                                                                                 shuffle=False), device)
        net.train(was_training)  # the generator may still be training it
        return Measurement(acc, {"fidelity": "supernet", "split": self.split,
                                 "supernet_tag": ctx.shared.get("supernet_tag")})

    def measure(self, arch, ctx) -> Measurement:
        return self.accuracy(arch, ctx)


class ErrorObjective(AccuracyObjective):
    """Top-1 error (%) = 100 - accuracy, minimised; same parameters as AccuracyObjective."""

    direction = MINIMIZE

    def fingerprint(self, ctx) -> Dict[str, Any]:
        return {**super().fingerprint(ctx), "kind": "error"}

    def measure(self, arch, ctx) -> Measurement:
        m = self.accuracy(arch, ctx)
        return Measurement(100.0 - m.value, {**m.details, "accuracy": m.value})


class _Subnet(torch.nn.Module):
    """A supernet driven by one arch's fixed weights, as a plain classifier for evaluation."""

    def __init__(self, net, weights, edge_weights) -> None:
        super().__init__()
        self.net = net
        self.weights = weights
        self.edge_weights = edge_weights

    def forward(self, x):
        return self.net(x, self.weights, self.edge_weights)
