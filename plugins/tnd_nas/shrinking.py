"""Progressive stages (P-DARTS, as TND-NAS uses them): drop the least probable ops of every edge.

The ``keep`` schedule lists how many options stay switched on, for every variable (NB201: every
edge), after each stage; its length is the number of stages. METHODS.md section 3 [M]: DARTS
8 -> 5 -> 3 -> 1, i.e. keep (5, 3, 1) (drops 3/2/2); the default for any space follows that
shape from the widest variable (:func:`default_keep`: NB201's 5 ops give (3, 2, 1)). A last entry of 1
is the final derivation (one op per edge); the policies keep their last multi-op distribution
for sampling. Each policy shrinks its own edges (the sweep's policies disagree on which ops are
worth keeping); the supernet of the next stage holds, per edge, the union of the ops the
policies still use.
"""
from __future__ import annotations

import fnmatch
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

def default_keep(width: int) -> Tuple[int, ...]:
    """[M] P-DARTS-like schedule for ``width`` options: keep about 60% per stage for two stages,
    then 1 (5 -> (3, 2, 1) on NB201; 8 -> (5, 3, 1), the P-DARTS schedule of DARTS)."""
    keep = []
    k = int(width)
    for _ in range(2):
        k = max(1, int(round(0.6 * k)))
        if not keep or k < keep[-1]:
            keep.append(k)
    if keep[-1] != 1:
        keep.append(1)
    return tuple(keep)


def check_keep(keep: Optional[Sequence[int]], num_ops: int) -> Tuple[int, ...]:
    """The keep schedule (default :func:`default_keep`), validated: non-increasing, each in
    [1, num_ops] (``num_ops``: the most options of any variable; a variable with fewer options
    keeps all of them while ``keep`` exceeds its count)."""
    keep = default_keep(num_ops) if keep is None else tuple(int(k) for k in keep)
    if not keep:
        raise ValueError("keep must list at least one stage (e.g. [3, 2, 1])")
    if any(not 1 <= k <= num_ops for k in keep) or any(b > a for a, b in zip(keep, keep[1:])):
        raise ValueError(f"keep={list(keep)}: each entry must be in [1, {num_ops}] (the most options of a "
                         "variable) and the list non-increasing")
    return keep


def resolve_keep(keep: Union[None, Sequence[int], Mapping[str, Sequence[int]]], names: Sequence[str],
                 cards: Sequence[int]) -> Tuple[Tuple[int, ...], ...]:
    """Per stage, the options each variable keeps: ``((k_var0, k_var1, ...), ...)``.

    ``keep`` is None (:func:`default_keep` of the widest variable), one list for every variable,
    or a mapping {variable-name glob: list} (the first matching glob wins; ``"*"`` catches the
    rest, else the default), e.g. ``{"normal_*": [6, 3, 1], "reduce_*": [4, 2, 1]}``. Every list
    has one entry per stage (all the same length). A variable with fewer options keeps all of
    them while the schedule exceeds its count."""
    width = int(max(cards))
    if not isinstance(keep, Mapping):
        sched = check_keep(keep, width)
        per_var = [sched] * len(names)
    else:
        lists = {str(g): check_keep(v, width) for g, v in keep.items()}
        lengths = {len(v) for v in lists.values()}
        if len(lengths) > 1:
            raise ValueError(f"keep={dict(keep)}: every schedule needs the same number of stages, got {sorted(lengths)}")
        unused = [g for g in lists if not any(fnmatch.fnmatchcase(n, g) for n in names)]
        if unused:
            raise ValueError(f"keep: pattern {unused[0]!r} matches no variable of the space; variables: "
                             f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''}")
        default = default_keep(width)
        if len(default) != next(iter(lengths)):
            default = (1,) * next(iter(lengths))
        per_var = [next((v for g, v in lists.items() if fnmatch.fnmatchcase(n, g)), default) for n in names]
    stages = len(per_var[0])
    return tuple(tuple(min(int(per_var[v][s]), int(cards[v])) for v in range(len(names))) for s in range(stages))


def shrink(policies, keep: Union[int, Sequence[int]]) -> Dict[str, np.ndarray]:
    """Switch off, on every edge (variable) of every policy, all but the ``keep`` most probable
    active ops; ``keep`` is one number, or one per edge of a single-group policy.

    Returns the dropped ops as {cell type: bool (n, E, O)}. Ties keep the earlier op (stable).
    """
    probs = policies.probs()
    dropped = {}
    for t, p in probs.items():
        mask = policies.masks[t].numpy()
        score = np.where(mask, p, -1.0)
        order = np.argsort(-score, axis=-1, kind="stable")
        rank = np.argsort(order, axis=-1, kind="stable")  # 0 = most probable
        k = np.broadcast_to(np.asarray(keep, dtype=np.int64).reshape(-1), (p.shape[-2],))
        new = (rank < k[None, :, None]) & mask
        dropped[t] = mask & ~new
        policies.masks[t] = torch.as_tensor(new)
    return dropped


def union_mask(policies) -> Dict[str, torch.Tensor]:
    """{cell type: bool (E, O)}: ops still active in at least one policy (what the supernet trains)."""
    return {t: m.any(dim=0) for t, m in policies.masks.items()}
