"""Differentiable hardware penalty: the expected cost of the derived architecture.

Under the current architecture distribution, edge e is kept with probability pi_e and carries
op o with probability q_{e,o} (see ``Relaxation.expected_probabilities``). With a per-(edge,
op) cost table c (shared by every cell of a type) and the cost of everything else ``base``,

    E[cost] = base + sum_cells sum_{e,o} pi_e q_{e,o} c_{e,o},

which is differentiable in alpha (and beta). The architecture loss of a step becomes
``L_val + lambda * E[cost] / E_uniform[cost]``: [M] the cost is normalised by its value under
uniform logits, so lambda is unit-free (lambda = 1 weighs the relative cost like one nat of
cross-entropy) and one lambda sweep serves params, FLOPs and latency alike.

Cost tables:

- ``params`` / ``flops``: ``monas.objectives.params_flops.op_cost_table`` measured once on the
  space's full-op mixture supernet at the search size (C, cells, op set, data channels and
  classes, the data's input shape), whichever supernet mode the method trains.
- ``latency``: a per-op latency table profiled by ``monas.profiling`` (``latency_table`` path).
  Its rows are the space's choices, so it applies where each choice is one edge's op
  (NB201); the DARTS space's choices are node input pairs without ``none``, which the
  profiler cannot isolate, so a latency penalty there raises a ValueError.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch

PENALTIES = ("params", "flops", "latency")


class HardwarePenalty:
    """Expected cost of the derived architecture (module docstring); ``__call__`` normalises.

    Parameters: ``kind`` (params, flops or latency), ``adapter`` (the space's SpaceAdapter),
    ``supernet_kwargs`` (the search supernet's size: C, layers/N, op_set, in_channels,
    num_classes), ``input_shape`` (C, H, W of one input) and ``latency_table`` (a profiled
    table's path, for ``latency``).
    """

    def __init__(self, kind: str, adapter, supernet_kwargs: Dict, input_shape: Sequence[int],
                 latency_table: Optional[str] = None) -> None:
        if kind not in PENALTIES:
            raise ValueError(f"hardware penalty {kind!r}; accepted: {', '.join(PENALTIES)} (or None for no penalty)")
        self.kind = kind
        self.adapter = adapter
        self.ops = tuple(adapter.all_ops)
        if kind == "latency":
            self.table_, self.base_ = self._latency_table(latency_table)
        else:
            from monas.objectives.params_flops import op_cost_table

            kw = {k: v for k, v in supernet_kwargs.items() if k not in ("partial_channels", "ops", "num_classes")}
            kw["in_channels"] = int(input_shape[0])
            table, base = op_cost_table(adapter.space, kind, input_shape=tuple(input_shape),
                                        num_classes=supernet_kwargs.get("num_classes"), mode="mixture",
                                        return_base=True, **kw)
            self.table_ = {t: v.double() for t, v in table.items()}
            self.base_ = float(base)
        self.reference_: Optional[float] = None

    def _latency_table(self, path):
        if path is None:
            raise ValueError("penalty 'latency' needs latency_table=PATH (a table from `python -m monas.profiling`)")
        if self.adapter.edges_per_node is not None or "none" not in self.adapter.all_ops:
            raise ValueError(f"penalty 'latency' needs a per-edge latency table with a 'none' option on every edge, "
                             f"which monas.profiling makes for cells that keep every edge (NB201 only); the "
                             f"{self.adapter.name!r} space chooses its edges: use penalty 'params' or 'flops' here")
        from monas.profiling import load_table

        lut = load_table(path)
        if lut.get("space") != self.adapter.name:
            raise ValueError(f"latency table {str(path)!r} is for space {lut.get('space')!r}, not "
                             f"{self.adapter.name!r}")
        bad = [i for i, row in enumerate(lut["options"]) if tuple(row) != self.ops]
        if bad or len(lut["options"]) != self.adapter.num_edges:
            raise ValueError(f"latency table {str(path)!r}: expected {self.adapter.num_edges} rows of options "
                             f"{list(self.ops)}")
        return {"cell": torch.tensor(lut["table_ms"], dtype=torch.float64)}, float(lut["base_ms"])

    def expected(self, probabilities: Dict[str, torch.Tensor], ops: Sequence[str]) -> torch.Tensor:
        """E[cost] in raw units (params, flops or ms) for per-(edge, op) weights over ``ops``."""
        cols = []
        for op in ops:
            if op not in self.ops:
                raise ValueError(f"hardware penalty: op {op!r} has no cost entry; the table's ops: {list(self.ops)}")
            cols.append(self.ops.index(op))
        total = None
        for t, p in probabilities.items():
            c = self.table_[t][:, cols].to(device=p.device, dtype=p.dtype)
            term = (p * c).sum()
            total = term if total is None else total + term
        return total + self.base_

    def set_reference(self, probabilities: Dict[str, torch.Tensor], ops: Sequence[str]) -> float:
        """Fix the normaliser to E[cost] under ``probabilities`` (those of uniform logits)."""
        with torch.no_grad():
            ref = float(self.expected(probabilities, ops))
        if not ref > 0:
            raise ValueError(f"hardware penalty {self.kind!r}: the expected cost under uniform logits is {ref}, "
                             "not positive; cannot normalise")
        self.reference_ = ref
        return ref

    def __call__(self, probabilities: Dict[str, torch.Tensor], ops: Sequence[str]) -> torch.Tensor:
        """E[cost] / E_uniform[cost] (call :meth:`set_reference` first)."""
        if self.reference_ is None:
            raise RuntimeError("HardwarePenalty: call set_reference() before using the penalty")
        return self.expected(probabilities, ops) / self.reference_
