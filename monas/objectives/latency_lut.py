"""Latency estimated from a per-op table profiled once on the target (``monas.profiling``).

The estimate of an architecture is ``base_ms + sum_e table_ms[e][op_e]``. A table is only
valid on the machine and settings it was profiled with: the objective compares the table's
hardware fingerprint (device, device name, torch and CUDA versions, threads, dtype, batch
size, input shape) with the current one and refuses a table that differs, naming the fields.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from monas.hardware import hardware_fingerprint
from monas.objective import Measurement, Objective
from monas.profiling import load_table, space_params


def check_fingerprint(table: Dict[str, Any], current: Dict[str, Any], where: str = "latency table") -> None:
    """Raise ValueError naming every field where ``table``'s fingerprint differs from ``current``."""
    stored = table.get("fingerprint", {})
    diff = [f"{k}: table {stored.get(k)!r} vs here {current.get(k)!r}"
            for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)]
    if diff:
        raise ValueError(f"{where} was profiled on other hardware or settings ({'; '.join(diff)}); "
                         "profile a table here with `python -m monas.profiling --out PATH`")


def lut_estimate(table: Dict[str, Any], indices: Sequence[int]) -> float:
    """``base_ms`` plus the table entry of each (variable, chosen option index)."""
    rows = table["table_ms"]
    if len(indices) != len(rows):
        raise ValueError(f"architecture has {len(indices)} choices, the table {len(rows)}")
    return float(table["base_ms"] + sum(rows[i][int(k)] for i, k in enumerate(indices)))


class LatencyLUTObjective(Objective):
    """Latency (ms) summed from the table at ``table`` (see module docstring).

    ``device``, ``threads``, ``dtype`` and ``clock`` describe where the estimate is meant for and must
    match the table; ``batch_size`` and ``input_shape`` default to the table's and, when given,
    must match it too. Cheap: no network is built. ``expected(space, probabilities)`` gives
    ``base + sum(p * table)``, differentiable in the probabilities.
    """

    units = "ms"

    cheap = True

    def __init__(self, table: str, device: str = "cpu", threads: Optional[int] = 1, dtype: str = "float32",
                 batch_size: Optional[int] = None, input_shape: Optional[Sequence[int]] = None,
                 clock: str = "wall") -> None:
        self.table = table
        self.device = device
        self.threads = threads
        self.dtype = dtype
        self.batch_size = batch_size
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.clock = clock
        self.lut_ = load_table(table)
        stored = self.lut_["fingerprint"]
        current = hardware_fingerprint(
            device, threads, dtype,
            stored.get("batch_size") if batch_size is None else batch_size,
            stored.get("input_shape") if input_shape is None else input_shape,
        )
        current["clock"] = clock
        check_fingerprint(self.lut_, current, where=f"latency table {str(table)!r}")

    def _check_space(self, space) -> None:
        if space.name != self.lut_["space"] or [v.name for v in space.variables()] != self.lut_["variables"]:
            raise ValueError(f"latency table {str(self.table)!r} is for space {self.lut_['space']!r} "
                             f"(choices {self.lut_['variables']}), not {space.name!r}")
        stored, mine = self.lut_.get("space_params", {}), space_params(space)
        diff = [f"{k}={stored.get(k)!r} vs {mine.get(k)!r}" for k in sorted(set(stored) | set(mine))
                if stored.get(k) != mine.get(k)]
        if diff:
            raise ValueError(f"latency table {str(self.table)!r} was profiled on a space with other "
                             f"settings (table vs here: {', '.join(diff)})")

    def fingerprint(self, ctx) -> Dict[str, Any]:
        return {"kind": "latency_lut", **self.lut_["fingerprint"], "build": self.lut_.get("build", {}),
                "base_ms": self.lut_["base_ms"]}

    def measure(self, arch, ctx) -> Measurement:
        self._check_space(ctx.space)
        value = lut_estimate(self.lut_, ctx.space.encode(arch))
        return Measurement(value, {"table": str(self.table), "base_ms": self.lut_["base_ms"]})

    def expected(self, space, probabilities) -> torch.Tensor:
        """E[latency] under op probabilities: a tensor (variables, options) or a one-entry dict of it."""
        self._check_space(space)
        if isinstance(probabilities, dict):
            if len(probabilities) != 1:
                raise ValueError(f"latency table has one block of choices; got cell types {sorted(probabilities)}")
            probabilities = next(iter(probabilities.values()))
        t = torch.as_tensor(np.asarray(self.lut_["table_ms"]), dtype=probabilities.dtype,
                            device=probabilities.device)
        if tuple(t.shape) != tuple(probabilities.shape):
            raise ValueError(f"probabilities shape {tuple(probabilities.shape)}, table {tuple(t.shape)}")
        return (probabilities * t).sum() + self.lut_["base_ms"]


def lut_vs_measured(space, table: Dict[str, Any], n_archs: int = 50, seed: int = 0, warmup: int = 5,
                    repeats: int = 20) -> Dict[str, Any]:
    """Spearman rank correlation of the table's estimates with direct measurements.

    Samples ``n_archs`` distinct architectures (seeded), measures each directly with the table's
    own device, threads, dtype, clock, batch size, input shape and build settings, and returns
    {"spearman", "pvalue", "keys", "lut_ms", "measured_ms"}.
    """
    from scipy.stats import spearmanr

    from monas.objectives._build import build_network
    from monas.objectives.latency import prepare, time_forward

    fp = table["fingerprint"]
    clock = fp.get("clock", "wall")
    check_fingerprint(table, {**hardware_fingerprint(fp["device"], fp["threads"], fp["dtype"],
                                                     fp["batch_size"], fp["input_shape"]), "clock": clock})
    rng = np.random.default_rng(seed)
    archs = {}
    while len(archs) < int(n_archs):
        a = space.sample(rng)
        archs.setdefault(a.key, a)
    shape = tuple(fp["input_shape"])
    lut, measured = [], []
    for arch in archs.values():
        model, x = prepare(build_network(space, arch, None, shape, table.get("build")), fp["device"],
                           fp["dtype"], fp["batch_size"], shape, seed=seed)
        measured.append(float(np.median(time_forward(model, x, fp["device"], warmup, repeats, fp["threads"], clock))))
        lut.append(lut_estimate(table, space.encode(arch)))
    rho, p = spearmanr(lut, measured)
    return {"spearman": float(rho), "pvalue": float(p), "keys": list(archs), "lut_ms": lut, "measured_ms": measured}
