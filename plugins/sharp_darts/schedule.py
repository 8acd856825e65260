"""Cosine Power Annealing (sharpDARTS, ahundt/sharpDARTS ``cnn/cosine_power_annealing.py``).

For epochs e = 1..E: ``c(e) = (1 + cos(pi e / E)) / 2``; ``p = c`` when the exponent order
n = 1, else ``p = n ** (c + 1)``; p is min-max normalised over the evaluated epochs to [0, 1]
and ``lr(e) = lr_min + p(e) (lr_max - lr_min)``. Since ``(n**c - 1)/(n - 1) <= c`` the curve
falls faster than cosine early and flattens late.

Warm-up W > 0 (as the reference code): the curve is computed on the epochs shifted by W
(so e - W runs from 1 - W to E - W over a horizon of E - W), normalised over all E values,
and the first W + 1 epochs are then overwritten with the linear ramp k / (W + 1), k = 1..W+1.
"""
from __future__ import annotations

from typing import List

import numpy as np


def cosine_power_annealing(epochs: int, lr_max: float, lr_min: float, exponent_order: float = 2.0,
                           warmup_epochs: int = 0) -> List[float]:
    """Learning rate of each epoch 1..``epochs`` (see module docstring).

    Raises ValueError for ``epochs`` < 1, ``exponent_order`` < 1, or ``warmup_epochs`` outside
    0..epochs-2 (the annealed part needs at least 2 epochs).
    """
    epochs = int(epochs)
    warmup = int(warmup_epochs or 0)
    if epochs < 1:
        raise ValueError(f"cosine_power_annealing: epochs must be >= 1, got {epochs}")
    if exponent_order < 1:
        raise ValueError(f"cosine_power_annealing: exponent_order must be >= 1, got {exponent_order}")
    if warmup < 0 or (warmup > 0 and warmup > epochs - 2):
        raise ValueError(f"cosine_power_annealing: warmup_epochs must be in 0..{max(epochs - 2, 0)} "
                         f"for {epochs} epochs, got {warmup}")
    if epochs == 1:
        return [float(lr_max)]
    e = np.arange(1, epochs + 1, dtype=np.float64) - warmup
    horizon = epochs - warmup
    c = (1.0 + np.cos(np.pi * e / horizon)) / 2.0
    p = c if exponent_order == 1 else np.power(float(exponent_order), c + 1.0)
    p = p - p.min()
    p = p / p.max()
    if warmup > 0:
        p[: warmup + 1] = np.arange(1, warmup + 2) / float(warmup + 1)
    return [float(v) for v in lr_min + p * (lr_max - lr_min)]

