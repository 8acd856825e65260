"""Named parameter sets of ROME (``preset=...``); parameters given explicitly override them.

``paper``: the CIFAR-10 S0 search of METHODS.md section 2 (arXiv 2011.11233, Sec. 4.1 [T]):
v2 (Gumbel-Top2 topology), the 7 ops without ``none``, K = 7 architectures per step, 50 epochs,
C = 16, 8 cells, weights SGD momentum 0.9 lr 0.05, alpha/beta Adam lr 3e-4. Where the paper is
silent [U], monas chooses: tau linear 10 -> 0.1 over the epochs (GDAS' schedule; the paper says
only "gradually decreases"); batch 64 (the batch of the paper's memory table 7); the weights'
lr cosine to 0.001, weight decay 3e-4 and gradient clip 5 (DARTS', whose settings the paper
follows); Adam betas (0.5, 0.999) and weight decay 1e-3 (DARTS'/GDAS').
"""
from __future__ import annotations

from typing import Any, Dict

PRESETS: Dict[str, Dict[str, Any]] = {
    "paper": {
        "samples": 7, "epochs": 50, "tau_max": 10.0, "tau_min": 0.1, "topology": True, "include_none": False,
        "C": 16, "layers": 8, "search_batch_size": 64, "w_lr": 0.05, "w_lr_min": 0.001, "w_momentum": 0.9,
        "w_weight_decay": 3e-4, "grad_clip": 5.0, "arch_lr": 3e-4, "arch_betas": [0.5, 0.999],
        "arch_weight_decay": 1e-3,
    },
}
