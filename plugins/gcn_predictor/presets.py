"""Named parameter sets of the GCN predictor (``preset=...``); parameters given explicitly override them.

``paper``: METHODS.md section 6 (Chen et al., arXiv 2004.08423; no code exists, so every value
is [U]/[M] until checked against the paper): the GCN fits the **supernet's estimates** of
N = 1000 uniformly sampled subnets (``labels="supernet"``), 3 graph-convolution layers of width
128, Adam lr 1e-3, 300 epochs, 10% held out for early stopping (the predictor's
``valid_fraction``, already 0.1). [M] the supernet itself (C=16, 50 epochs of uniform
single-path training, batch 64, SGD lr 0.05 cosine) is not given by the paper: monas uses
SPOS-like settings at the DARTS/NB201 search scale. Top-k = 6 belongs to the DARTS segment
search (super-cells), which monas does not build (README).
"""
from __future__ import annotations

from typing import Any, Dict

PRESETS: Dict[str, Dict[str, Any]] = {
    "paper": {
        "labels": "supernet", "supernet_samples": 1000, "hidden": 128, "layers": 3, "epochs": 300, "lr": 1e-3,
        "supernet_C": 16, "supernet_epochs": 50, "supernet_batch_size": 64, "supernet_lr": 0.05,
        "supernet_lr_min": 0.0,
    },
}
