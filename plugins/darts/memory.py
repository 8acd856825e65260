"""Exact activation memory saved for backward, counted through autograd's saved-tensor hooks.

:class:`SavedTensorMeter` is a context manager around ``torch.autograd.graph.saved_tensors_hooks``:
every tensor autograd saves for backward is wrapped in a handle that holds its storage; a
storage counts its full ``nbytes`` once while at least one handle holds it (unique storages:
a tensor saved by several ops, or views of one buffer, count once), and stops counting when
autograd frees the graph (after ``backward`` / ``autograd.grad``). ``peak_bytes`` is the most
bytes alive at once, so a step that runs K forward/backward passes one after the other peaks at
one pass, as it does on a GPU. Parameters (and any tensor given in ``exclude``) are not
activations and are not counted. On CPU the count is exact and repeatable.
"""
from __future__ import annotations

from typing import Dict, Iterable, Tuple

import torch

Key = Tuple[str, int]


def _key(t: torch.Tensor) -> Key:
    return (str(t.device), int(t.untyped_storage().data_ptr()))


class _Handle:
    """Keeps a saved tensor (and so its storage) alive; releases its count when dropped."""

    __slots__ = ("meter", "key", "tensor")

    def __init__(self, meter: "SavedTensorMeter", key: Key, tensor: torch.Tensor) -> None:
        self.meter = meter
        self.key = key
        # a detached alias: same storage, no grad_fn, so a saved output cannot form a
        # reference cycle (graph node -> handle -> tensor -> graph node) that outlives backward
        self.tensor = tensor.detach()
        meter._acquire(key, tensor)

    def __del__(self) -> None:
        self.meter._release(self.key)


class SavedTensorMeter:
    """Count unique storage bytes saved for backward (module docstring).

    Attributes after use: ``peak_bytes`` (most bytes alive at once), ``total_saved`` (saved
    tensors seen), ``live_bytes`` (bytes still held; 0 once every graph is freed).
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()) -> None:
        self.excluded = {_key(t) for t in exclude}
        self.counts: Dict[Key, int] = {}
        self.sizes: Dict[Key, int] = {}
        self.live_bytes = 0
        self.peak_bytes = 0
        self.total_saved = 0
        self._hooks = None

    def _acquire(self, key: Key, tensor: torch.Tensor) -> None:
        n = self.counts.get(key, 0)
        if n == 0:
            size = int(tensor.untyped_storage().nbytes())
            self.sizes[key] = size
            self.live_bytes += size
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        self.counts[key] = n + 1

    def _release(self, key: Key) -> None:
        n = self.counts.get(key, 0) - 1
        if n <= 0:
            self.counts.pop(key, None)
            self.live_bytes -= self.sizes.pop(key, 0)
        else:
            self.counts[key] = n

    def _pack(self, tensor: torch.Tensor):
        self.total_saved += 1
        if tensor.layout != torch.strided or tensor.device.type == "meta":
            return tensor
        key = _key(tensor)
        if key in self.excluded:
            return tensor
        return _Handle(self, key, tensor)

    @staticmethod
    def _unpack(packed):
        return packed.tensor if isinstance(packed, _Handle) else packed

    def __enter__(self) -> "SavedTensorMeter":
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)
        self._hooks = None
