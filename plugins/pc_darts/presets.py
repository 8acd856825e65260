"""Named parameter sets of PC-DARTS (``preset=...``); parameters given explicitly override them.

``paper``: the CIFAR search of METHODS.md section 1 (yuhuixu1993/PC-DARTS ``train_search.py``):
K = 4 partial channels, 50 epochs of which the first 15 train the weights only, C = 16, 8 cells,
batch 256, weights SGD lr 0.1 cosine to 0 (``learning_rate_min`` 0.0 of the main script; the V100
script uses 0.001), momentum 0.9, weight decay 3e-4, gradient clip 5; alpha and beta Adam lr 6e-4,
betas (0.5, 0.999), weight decay 1e-3. The 50/50 train/valid split is the dataset's (digits and
CIFAR bundles split it so).
"""
from __future__ import annotations

from typing import Any, Dict

PRESETS: Dict[str, Dict[str, Any]] = {
    "paper": {
        "partial_channels": 4, "epochs": 50, "arch_warmup_epochs": 15, "C": 16, "layers": 8,
        "search_batch_size": 256, "w_lr": 0.1, "w_lr_min": 0.0, "w_momentum": 0.9, "w_weight_decay": 3e-4,
        "grad_clip": 5.0, "arch_lr": 6e-4, "arch_betas": [0.5, 0.999], "arch_weight_decay": 1e-3,
    },
}
