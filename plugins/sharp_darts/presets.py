"""Named parameter sets of sharpDARTS (``preset=...``); parameters given explicitly override them.

``paper``: the search of METHODS.md section 5 as ahundt/sharpDARTS@6f593d4 ``cnn/train_search.py``
runs it by default: SharpSepConvDARTS ops (``op_set: sharp``), Max-W weighting, C=16 with 8
cells, 50 epochs, batch 64, weights SGD lr 0.025 -> 1e-4 by Cosine Power Annealing with n=2 and 5
warm-up epochs, momentum 0.9, weight decay 3e-4, gradient clip 5, the 50/50 train split
(monas' search split); alpha Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3; full epochs.

Choices [M] where the sources differ: the README's runs use batch 48 and 120 epochs with cutout
and autoaugment; the preset takes ``train_search.py``'s defaults (64, 50) that METHODS lists as
the search defaults, and no augmentation (monas' search loop has none). ``top_k`` stays 3 (the
paper derives one cell; the extra two only add candidates).
"""
from __future__ import annotations

from typing import Any, Dict

PRESETS: Dict[str, Dict[str, Any]] = {
    "paper": {
        "weighting": "max_w", "op_set": "sharp", "C": 16, "layers": 8, "epochs": 50, "search_batch_size": 64,
        "steps_per_epoch": None, "exponent_order": 2.0, "lr_warmup_epochs": 5, "w_lr": 0.025, "w_lr_min": 1e-4,
        "w_momentum": 0.9, "w_weight_decay": 3e-4, "grad_clip": 5.0, "arch_lr": 3e-4, "arch_betas": [0.5, 0.999],
        "arch_weight_decay": 1e-3,
    },
}
