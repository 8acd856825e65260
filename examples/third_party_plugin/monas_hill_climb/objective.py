"""A third-party objective: the size of a network's weights on disk, in MB, at a given dtype."""
from typing import Any, Dict

from monas.objective import MINIMIZE, Measurement, Objective
from monas.objectives._build import build_network

BYTES = {"float32": 4, "float16": 2, "int8": 1}


class ModelSizeObjective(Objective):
    """Megabytes of the built network's parameters stored as ``dtype`` (float32, float16, int8)."""

    direction = MINIMIZE
    cheap = True
    units = "MB"

    def __init__(self, dtype: str = "float32") -> None:
        if dtype not in BYTES:
            raise ValueError(f"model_size dtype {dtype!r}; accepted: {', '.join(BYTES)}")
        self.dtype = dtype

    def fingerprint(self, ctx) -> Dict[str, Any]:
        return {"kind": "model_size", "dtype": self.dtype}

    def measure(self, arch, ctx) -> Measurement:
        net = build_network(ctx.space, arch, ctx)
        count = sum(p.numel() for p in net.parameters())
        return Measurement(count * BYTES[self.dtype] / 1e6, {"parameters": count})
