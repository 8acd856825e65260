"""Named parameter sets of FreeDARTS (``preset=...``); parameters given explicitly override them.

``paper``: the search as the official code runs it (METHODS.md section 4 [C],
anonymous-submission1991/FreeDARTS@93375fa): one pass of official ZEROS (``score: zeros``) on the
search supernet at the space's search size (DARTS C=16, 8 cells; NB201 C=16, N=5: the space's
defaults, so ``supernet_kwargs`` stays empty), one all-ones image of the data's shape (batch 1),
raw alpha ~ 1e-3 N(0, 1), float32 as the code runs, one search (``n_seeds`` 1), no front walk.

Choices [M] where the sources differ or say nothing:

- ``alpha_sign: signed``: the DARTS code keeps alpha signed (it is not in the state_dict made
  positive); the NB201 notebook makes it positive. One preset serves every space, so it takes
  the DARTS code's choice (``alpha_sign: abs`` gives the NB201 notebook's).
- the v4 abstract's "iterative" schedule is [U] and not in the code: the preset is one pass.
- the 20-cell search supernet (the README's dagger result) is not the preset; give
  ``supernet_kwargs: {layers: 20}`` for it.
"""
from __future__ import annotations

from typing import Any, Dict

PRESETS: Dict[str, Dict[str, Any]] = {
    "paper": {
        "score": "zeros", "n_seeds": 1, "front_size": 0, "alpha_std": 1e-3, "alpha_sign": "signed",
        "supernet_kwargs": None, "input_shape": None, "dtype": "float32", "batch_size": 1,
    },
}
