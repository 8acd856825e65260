"""Peak memory of one inference pass: weights + input + the peak of live activations.

What is counted:

- On CUDA, the caching allocator's own books: ``torch.cuda.max_memory_allocated`` during the
  forward pass minus what was allocated before the model was moved to the device (so other
  tensors of the process are excluded); kernels' workspaces are included.
- On CPU, :class:`LiveTensorBytes`, a ``TorchDispatchMode`` that sees every operator the
  forward runs: each storage an operator returns is counted once (views and in-place results
  share it) from its creation until the last tensor using it is freed; the peak of that sum is
  the activation peak. Parameters, buffers and the input are counted separately (their bytes),
  not as activations. Scratch memory inside a kernel (e.g. oneDNN workspaces) is not visible
  and not counted.

The value is weights + input + activation peak, in ``unit`` (binary: KB = 1024 B); the
details give each part. The model runs in eval mode under ``torch.inference_mode``, so no
tensors are kept for a backward pass.
"""
from __future__ import annotations

import weakref
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from monas.hardware import hardware_fingerprint, parse_device, parse_dtype, synchronize
from monas.objective import Measurement, Objective
from monas.objectives._build import build_fingerprint, build_network, input_shape_for
from monas.objectives.latency import prepare

MEMORY_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def _storage_key(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


class LiveTensorBytes(TorchDispatchMode):
    """Tracks bytes of storages created by operators while active; ``peak`` is their maximum.

    Storages whose pointer is in ``external`` (weights, the input) are ignored.
    """

    def __init__(self, external: Sequence[torch.Tensor] = ()) -> None:
        super().__init__()
        self.external = {_storage_key(t) for t in external}
        self.live: Dict[int, list] = {}
        self.current = 0
        self.peak = 0

    def _release(self, key: int) -> None:
        entry = self.live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[key]

    def _track(self, t: torch.Tensor) -> None:
        if t.device.type == "meta":
            return
        key = _storage_key(t)
        if key == 0 or key in self.external:
            return
        if key in self.live:
            self.live[key][1] += 1
        else:
            nbytes = t.untyped_storage().nbytes()
            self.live[key] = [nbytes, 1]
            self.current += nbytes
            self.peak = max(self.peak, self.current)
        weakref.finalize(t, self._release, key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._track(t)
        return out


def tensor_bytes(tensors) -> int:
    """Bytes of the distinct storages behind ``tensors``."""
    seen = {}
    for t in tensors:
        seen[_storage_key(t)] = t.untyped_storage().nbytes()
    return int(sum(seen.values()))


def peak_inference_memory(model: nn.Module, x: torch.Tensor) -> Dict[str, int]:
    """Bytes of weights, input and peak activations of ``model(x)`` on x's device (module doc)."""
    dev = x.device
    state = list(model.parameters()) + list(model.buffers())
    weights, inputs = tensor_bytes(state), tensor_bytes([x])
    model.eval()
    if dev.type == "cuda":
        synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        with torch.inference_mode():
            model(x)
        synchronize(dev)
        activations = torch.cuda.max_memory_allocated(dev) - before
    else:
        tracker = LiveTensorBytes(external=state + [x])
        with torch.inference_mode(), tracker:
            out = model(x)
        del out
        activations = tracker.peak
    return {"weights_bytes": weights, "input_bytes": inputs, "activations_bytes": int(activations)}


class PeakMemoryObjective(Objective):
    """Peak inference memory of the built network on ``device`` (see module docstring).

    Parameters: ``device`` ('cpu', 'cuda', 'cuda:N'), ``batch_size``, ``input_shape`` (C, H, W;
    default the data's), ``dtype``, ``unit`` (B, KB, MB, GB; binary) and ``build_kwargs``.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 1, input_shape: Optional[Sequence[int]] = None,
                 dtype: str = "float32", unit: str = "MB", build_kwargs: Optional[Dict[str, Any]] = None) -> None:
        self.device = device
        self.batch_size = batch_size
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.dtype = dtype
        self.unit = unit
        self.build_kwargs = dict(build_kwargs or {})
        parse_device(device)
        parse_dtype(dtype)
        if unit not in MEMORY_UNITS:
            raise ValueError(f"unit {unit!r} is not supported; accepted: {', '.join(MEMORY_UNITS)}")

    def fingerprint(self, ctx) -> Dict[str, Any]:
        shape = input_shape_for(ctx, self.input_shape)
        return {"kind": "peak_memory", "unit": self.unit,
                **hardware_fingerprint(self.device, None, self.dtype, self.batch_size, shape),
                **{k: v for k, v in build_fingerprint(ctx, shape, self.build_kwargs).items() if k != "input_shape"}}

    def measure(self, arch, ctx) -> Measurement:
        shape = input_shape_for(ctx, self.input_shape)
        net = build_network(ctx.space, arch, ctx, shape, self.build_kwargs)
        model, x = prepare(net, self.device, self.dtype, self.batch_size, shape, seed=getattr(ctx, "seed", 0))
        parts = peak_inference_memory(model, x)
        total = parts["weights_bytes"] + parts["input_bytes"] + parts["activations_bytes"]
        scale = MEMORY_UNITS[self.unit]
        details = {k.replace("_bytes", f"_{self.unit}"): v / scale for k, v in parts.items()}
        details.update(total_bytes=total, unit=self.unit,
                       method="cuda allocator peak" if x.device.type == "cuda" else "live operator outputs")
        return Measurement(total / scale, details)
