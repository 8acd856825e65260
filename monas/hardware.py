"""Devices, dtypes, thread pinning and the hardware fingerprint of a measurement.

A measured value (latency, peak memory) is only comparable with values taken under the same
conditions, so every such objective reports :func:`hardware_fingerprint`; the engine keys its
cache by it and the latency table refuses to be used on another machine.
"""
from __future__ import annotations

import contextlib
import platform
import re
from functools import lru_cache
from typing import Any, Dict, Iterator, Optional, Sequence

import torch

DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}


def parse_device(device: Any) -> torch.device:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (or a torch.device) as a torch.device.

    Raises ValueError naming the accepted forms and whether CUDA is available here, for an
    unknown string or a CUDA device this machine does not have.
    """
    text = str(device).strip().lower()
    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    accepted = (f"accepted: 'cpu', 'cuda', 'cuda:N' (CUDA is "
                f"{'available with ' + str(count) + ' device(s)' if available else 'not available on this machine'})")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if match is None:
        raise ValueError(f"device {device!r} is not understood; {accepted}")
    if not available:
        raise ValueError(f"device {device!r} needs CUDA, which is not available; {accepted}")
    index = int(match.group(1) or torch.cuda.current_device())
    if index >= count:
        raise ValueError(f"device {device!r}: no CUDA device {index}; {accepted}")
    return torch.device("cuda", index)


def parse_dtype(dtype: Any) -> torch.dtype:
    """A dtype name (``float32``, ``float16``, ``bfloat16``, ``float64``) as a torch.dtype."""
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    name = str(dtype).replace("torch.", "")
    if name not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not supported; accepted: {', '.join(DTYPES)}")
    return DTYPES[name]


@lru_cache(maxsize=None)
def cpu_name() -> str:
    """The CPU model: ``model name`` of /proc/cpuinfo where it exists, else platform's."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def device_name(device: Any) -> str:
    """Human-readable name of ``device``: the CPU model or the CUDA device's name."""
    dev = parse_device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return cpu_name()


def hardware_fingerprint(device: Any = "cpu", threads: Optional[int] = None, dtype: Any = "float32",
                         batch_size: int = 1, input_shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Everything a timing or memory value depends on besides the network itself.

    Keys: ``device`` (canonical string, e.g. ``cpu`` or ``cuda:0``), ``device_name`` (CPU
    model or GPU name), ``torch`` (version), ``cuda`` (the CUDA runtime version on GPU, else
    None), ``threads`` (intra-op threads during the measurement; None on GPU, where it does
    not matter), ``dtype``, ``batch_size`` and ``input_shape`` (C, H, W) as a list.
    """
    dev = parse_device(device)
    return {
        "device": str(dev) if dev.type == "cpu" else f"cuda:{dev.index}",
        "device_name": device_name(dev),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if dev.type == "cuda" else None,
        "threads": int(threads) if (threads is not None and dev.type == "cpu") else None,
        "dtype": str(parse_dtype(dtype)).replace("torch.", ""),
        "batch_size": int(batch_size),
        "input_shape": None if input_shape is None else [int(v) for v in input_shape],
    }


@contextlib.contextmanager
def pinned_threads(threads: Optional[int]) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, restoring the old count after.

    ``None`` leaves the thread count alone.
    """
    if threads is None:
        yield
        return
    if int(threads) < 1:
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    old = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
