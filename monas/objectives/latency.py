"""Inference latency measured on a device: warm-up, repeats, median and spread.

On CPU each forward pass is timed with ``time.perf_counter_ns`` (monotonic) while
``torch.set_num_threads(threads)`` is pinned (the old count is restored afterwards) and Python's
garbage collector is paused; on CUDA with a pair of ``torch.cuda.Event`` per pass after a
synchronisation, so queued kernels are not billed to the next pass. The model runs in eval
mode under ``torch.inference_mode``. The value is the median (robust to the odd preempted pass
on a shared machine); the details keep the spread: interquartile range, coefficient of
variation, min, mean, and the number of passes.
"""
from __future__ import annotations

import gc
import time
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from monas.hardware import hardware_fingerprint, parse_device, parse_dtype, pinned_threads, synchronize
from monas.objective import Measurement, Objective
from monas.objectives._build import build_fingerprint, build_network, input_shape_for


def time_forward(model: nn.Module, x: torch.Tensor, device: Any = "cpu", warmup: int = 10, repeats: int = 30,
                 threads: Optional[int] = 1) -> np.ndarray:
    """Milliseconds of ``repeats`` forward passes of ``model`` on ``x`` after ``warmup`` passes.

    ``model`` and ``x`` must already be on ``device``; the model is put in eval mode. See the
    module docstring for the clocks used.
    """
    if int(warmup) < 0 or int(repeats) < 1:
        raise ValueError(f"warmup must be >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    dev = parse_device(device)
    model.eval()
    times = np.empty(int(repeats), dtype=np.float64)
    gc_was_enabled = gc.isenabled()
    with pinned_threads(threads if dev.type == "cpu" else None), torch.inference_mode():
        gc.disable()
        try:
            for _ in range(int(warmup)):
                model(x)
            synchronize(dev)
            if dev.type == "cuda":
                starts = [torch.cuda.Event(enable_timing=True) for _ in range(int(repeats))]
                ends = [torch.cuda.Event(enable_timing=True) for _ in range(int(repeats))]
                for i in range(int(repeats)):
                    starts[i].record()
                    model(x)
                    ends[i].record()
                    ends[i].synchronize()
                times[:] = [s.elapsed_time(e) for s, e in zip(starts, ends)]
            else:
                for i in range(int(repeats)):
                    t0 = time.perf_counter_ns()
                    model(x)
                    times[i] = (time.perf_counter_ns() - t0) / 1e6
        finally:
            if gc_was_enabled:
                gc.enable()
    return times


def latency_summary(times_ms: Sequence[float]) -> Dict[str, float]:
    """Median, IQR, coefficient of variation (std/mean, %), min, mean and count of timings."""
    t = np.asarray(times_ms, dtype=np.float64)
    q1, med, q3 = np.percentile(t, [25, 50, 75])
    mean = float(t.mean())
    return {
        "median_ms": float(med),
        "iqr_ms": float(q3 - q1),
        "cv_percent": float(100.0 * t.std() / mean) if mean > 0 else 0.0,
        "min_ms": float(t.min()),
        "mean_ms": mean,
        "n": int(t.size),
    }


def prepare(model: nn.Module, device: Any, dtype: Any, batch_size: int, input_shape: Sequence[int],
            seed: int = 0):
    """``model`` moved to ``device`` / ``dtype`` in eval mode and a seeded random input batch."""
    dev, dt = parse_device(device), parse_dtype(dtype)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn(int(batch_size), *input_shape, generator=gen).to(device=dev, dtype=dt)
    return model.to(device=dev, dtype=dt).eval(), x


class LatencyObjective(Objective):
    """Median forward latency (ms) of the built network on ``device`` (see module docstring).

    Parameters: ``device`` ('cpu', 'cuda', 'cuda:N'), ``batch_size``, ``input_shape`` (C, H, W;
    default the data's), ``warmup`` and ``repeats`` passes, ``threads`` (CPU intra-op threads
    pinned while timing; None keeps torch's setting), ``dtype`` and ``build_kwargs`` for
    ``space.build``. The fingerprint is :func:`monas.hardware.hardware_fingerprint` plus the
    build settings, so values from different machines, batch sizes or dtypes never mix.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 1, input_shape: Optional[Sequence[int]] = None,
                 warmup: int = 10, repeats: int = 30, threads: Optional[int] = 1, dtype: str = "float32",
                 build_kwargs: Optional[Dict[str, Any]] = None) -> None:
        self.device = device
        self.batch_size = batch_size
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.warmup = warmup
        self.repeats = repeats
        self.threads = threads
        self.dtype = dtype
        self.build_kwargs = dict(build_kwargs or {})
        parse_device(device)  # fail at construction, not mid-search
        parse_dtype(dtype)

    def fingerprint(self, ctx) -> Dict[str, Any]:
        shape = input_shape_for(ctx, self.input_shape)
        return {"kind": "latency",
                **hardware_fingerprint(self.device, self.threads, self.dtype, self.batch_size, shape),
                **{k: v for k, v in build_fingerprint(ctx, shape, self.build_kwargs).items() if k != "input_shape"}}

    def measure(self, arch, ctx) -> Measurement:
        shape = input_shape_for(ctx, self.input_shape)
        net = build_network(ctx.space, arch, ctx, shape, self.build_kwargs)
        model, x = prepare(net, self.device, self.dtype, self.batch_size, shape, seed=getattr(ctx, "seed", 0))
        times = time_forward(model, x, self.device, self.warmup, self.repeats, self.threads)
        summary = latency_summary(times)
        summary.update(warmup=int(self.warmup), device=str(parse_device(self.device)))
        return Measurement(summary["median_ms"], summary)
