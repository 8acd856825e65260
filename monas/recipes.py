"""Named training recipes for ``monas train`` (and the ``retrain:`` step): what to train with.

- ``quick``: the short recipe of :func:`monas.training.train_network` (3 epochs, batch 64, SGD
  Nesterov momentum 0.9, lr 0.05 annealed per step by a cosine to 0, weight decay 5e-4,
  gradient clip 5). Minutes on a CPU; a ranking signal, not a final accuracy.
- ``darts``: the DARTS / PC-DARTS evaluation recipe (METHODS.md section 0.1, quark0/darts
  ``cnn/train.py``): 600 epochs, batch 96, SGD momentum 0.9 lr 0.025 annealed per epoch by a
  cosine to 0, weight decay 3e-4, gradient clip 5, cutout 16 (scaled to the image: 16 of 32
  pixels), an auxiliary head weighted 0.4 and drop-path 0.2 (raised linearly over the epochs,
  identity edges spared) where the network offers them (the DARTS space does; NB201 does not,
  and the training log says so).

A recipe is plain data; :mod:`monas.trainer` runs it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Recipe:
    """One training recipe; ``schedule`` is ``"step"`` (cosine over every step) or ``"epoch"``."""

    name: str
    epochs: int
    batch_size: int
    lr: float
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    grad_clip: Optional[float] = 5.0
    schedule: str = "step"
    cutout: int = 0            # side of the cut square in pixels of a 32-pixel image (scaled to the data)
    auxiliary_weight: float = 0.0
    drop_path: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


RECIPES: Dict[str, Recipe] = {
    "quick": Recipe("quick", epochs=3, batch_size=64, lr=0.05, nesterov=True, weight_decay=5e-4),
    "darts": Recipe("darts", epochs=600, batch_size=96, lr=0.025, weight_decay=3e-4, schedule="epoch",
                    cutout=16, auxiliary_weight=0.4, drop_path=0.2),
}


def get_recipe(name: str, epochs: Optional[int] = None, batch_size: Optional[int] = None,
               lr: Optional[float] = None) -> Recipe:
    """The recipe ``name`` with ``epochs``, ``batch_size`` or ``lr`` overridden when given;
    raises ValueError naming the known recipes."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; accepted: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    changes = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)) if v is not None}
    for key in ("epochs", "batch_size"):
        if key in changes and int(changes[key]) < 1:
            raise ValueError(f"{key}={changes[key]!r}; accepted: an integer >= 1")
    if "lr" in changes and not float(changes["lr"]) > 0:
        raise ValueError(f"lr={changes['lr']!r}; accepted: a number > 0")
    return replace(recipe, **changes)


def cutout(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """DARTS cutout: one ``length`` x ``length`` square per image set to 0, centred anywhere
    (clipped at the border), drawn from ``generator``. Returns a new tensor."""
    import torch

    if length <= 0:
        return x
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=generator)
    cx = torch.randint(0, w, (n,), generator=generator)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    half = length // 2
    inside = ((ys >= (cy - half).view(n, 1, 1)) & (ys < (cy + length - half).view(n, 1, 1))
              & (xs >= (cx - half).view(n, 1, 1)) & (xs < (cx + length - half).view(n, 1, 1)))
    return x * (~inside).unsqueeze(1).to(x.dtype).to(x.device)


def scaled_cutout(recipe: Recipe, image_size: int) -> int:
    """The recipe's cutout side for images of ``image_size`` pixels (defined for 32)."""
    return int(round(recipe.cutout * image_size / 32)) if recipe.cutout else 0
