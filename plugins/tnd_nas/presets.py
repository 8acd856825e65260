"""Named parameter sets of TND-NAS (``preset=...``); parameters given explicitly override them.

``paper``: the setup of METHODS.md section 3, as the first author's development code runs it
(blyucs/pdarts@c4de94e; the paper's own settings are [U]):

- reward ``acc * (params / P_target)^w`` with the dev code's single ``w`` (no ``w_below``), one
  policy per (P_target, w) point of the dev code's per-stage values: P_target 4.4 / 3.2 / 2.5 M
  with w -0.95 / -1 / -1 [M: the dev code changes them per stage of one run; monas runs each as
  the sweep point of its own policy];
- the one-shot mode: P-DARTS stage depths 5 / 11 / 17 cells, C = 24, 16 epochs per stage of
  which 8 are warm-up, batch 64, M = 10 samples per REINFORCE step every 4 weight steps, the
  DARTS continuous relaxation for the weights, a fresh supernet per stage;
- REINFORCE as the dev code: Adam lr 1e-2, betas (0.5, 0.999), weight decay 1e-3, baseline
  gamma 0.95, gradient clip 5; weights SGD lr 0.04 cosine to 0, momentum 0.9, wd 3e-4, clip 5;
- the dev op sets as far as the DARTS space has the ops (``options``): normal cells
  {skip, sep 3x3, sep 5x5, dil 3x3, dil 5x5} (the dev code's sep_conv_7x7, conv_3x3 and
  conv_3x1_1x3 are not DARTS ops), reduction cells {skip, max 3x3, avg 3x3} (max_pool_5x5 and
  7x7 are not either); ``none`` is not an option of a genotype variable (the input edges are);
  keep schedules 9 -> 6 -> 3 -> 1 (normal) and 6 -> 4 -> 2 -> 1 (reduce), i.e. keep
  {normal_*: [6, 3, 1], reduce_*: [4, 2, 1]}, capped at each variable's option count.
- no front-neighbour proposals (``front_neighbours`` 0, a monas choice for the black-box phase).

The params the reward uses are those the study's ``params`` objective measures: give it the
20-cell evaluation network (the DARTS space's default build: C=36, 20 cells), as the dev code
counts it.
"""
from __future__ import annotations

from typing import Any, Dict

DEV_NORMAL = ["skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
DEV_REDUCE = ["skip_connect", "max_pool_3x3", "avg_pool_3x3"]

PRESETS: Dict[str, Dict[str, Any]] = {
    "paper": {
        "mode": "one_shot", "reward": "product", "n_policies": 3, "w": [-0.95, -1.0, -1.0], "w_below": None,
        "targets": {"params": [4.4, 3.2, 2.5]}, "costs": ["params"],
        "front_neighbours": 0.0, "samples": 10, "policy_lr": 1e-2, "policy_betas": [0.5, 0.999], "policy_weight_decay": 1e-3,
        "baseline_gamma": 0.95, "policy_grad_clip": 5.0,
        "C": 24, "stage_depths": [5, 11, 17], "epochs": 16, "warmup_epochs": 8, "interval": 4,
        "search_batch_size": 64, "w_lr": 0.04, "w_lr_min": 0.0, "w_momentum": 0.9, "w_weight_decay": 3e-4,
        "grad_clip": 5.0, "weight_training": "mixture", "reinit_stages": True,
        "keep": {"normal_*": [6, 3, 1], "reduce_*": [4, 2, 1]},
        "options": {"normal_*_op_*": DEV_NORMAL, "reduce_*_op_*": DEV_REDUCE},
    },
}
