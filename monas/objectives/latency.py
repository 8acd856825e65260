"""Inference latency measured on a device: warm-up, repeats, median and spread.

On CPU each forward pass is timed with ``time.perf_counter_ns`` (monotonic) while
``torch.set_num_threads(threads)`` is pinned (the old count is restored afterwards) and Python's
garbage collector is paused; on CUDA with a pair of ``torch.cuda.Event`` per pass after a
synchronisation, so queued kernels are not billed to the next pass. The model runs in eval
mode under ``torch.inference_mode``. The value is the median (robust to the odd preempted pass
on a shared machine); the details keep the spread: interquartile range, coefficient of
variation, min, mean, the number of passes and the share of the time the thread was on a CPU.
Spread [M]: when the interquartile range of the passes exceeds ``max_iqr_percent`` (10%) of the
median, another round of ``repeats`` passes is timed and pooled, up to ``max_rounds`` (3) rounds;
the details record the rounds, the final IQR in percent and ``noisy`` when it is still above the
bound. The engine caches the value, so every consumer (the archive, constraints, a generator's
reward through ``ctx.measure``) sees one median per architecture for the whole run.
A shared, loaded machine deschedules the timing thread mid-pass and inflates wall times; the
``thread`` clock (single-thread CPU only) times the thread's own CPU time instead, see
:func:`time_forward`. The clock is part of the fingerprint.
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


CLOCKS = ("wall", "thread")


def time_forward(model: nn.Module, x: torch.Tensor, device: Any = "cpu", warmup: int = 10, repeats: int = 30,
                 threads: Optional[int] = 1, clock: str = "wall", return_on_cpu: bool = False):
    """Milliseconds of ``repeats`` forward passes of ``model`` on ``x`` after ``warmup`` passes.

    ``model`` and ``x`` must already be on ``device``; the model is put in eval mode. Clocks on
    CPU: ``wall`` (``time.perf_counter_ns``, the latency a user waits) or ``thread``
    (``time.thread_time_ns``: the calling thread's on-CPU time, which leaves out the time the
    thread was descheduled, so it stays steady on a shared, loaded machine; only meaningful
    with ``threads=1``, where the calling thread does all the work). On CUDA the clock is
    always CUDA events. With ``return_on_cpu`` the result is (times, on-CPU percent), the
    share of the timed wall time the thread actually ran (None on CUDA or with threads != 1):
    well below 100 means the machine was contended.
    """
    if int(warmup) < 0 or int(repeats) < 1:
        raise ValueError(f"warmup must be >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    if clock not in CLOCKS:
        raise ValueError(f"clock {clock!r}; accepted: {', '.join(CLOCKS)}")
    dev = parse_device(device)
    if clock == "thread" and (dev.type != "cpu" or threads != 1):
        raise ValueError(f"clock 'thread' measures one CPU thread: it needs device 'cpu' and threads=1, "
                         f"got device {str(dev)!r}, threads={threads!r}; use clock 'wall'")
    model.eval()
    wall = np.empty(int(repeats), dtype=np.float64)
    cpu = np.empty(int(repeats), dtype=np.float64)
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
                wall[:] = [s.elapsed_time(e) for s, e in zip(starts, ends)]
            else:
                for i in range(int(repeats)):
                    t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                    model(x)
                    c1, t1 = time.thread_time_ns(), time.perf_counter_ns()
                    wall[i], cpu[i] = (t1 - t0) / 1e6, (c1 - c0) / 1e6
        finally:
            if gc_was_enabled:
                gc.enable()
    times = cpu if clock == "thread" else wall
    if not return_on_cpu:
        return times
    on_cpu = (float(100.0 * min(1.0, cpu.sum() / wall.sum()))
              if dev.type == "cpu" and threads == 1 and wall.sum() > 0 else None)
    return times, on_cpu


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
    ``space.build``, ``clock`` ('wall' or, for single-thread CPU, 'thread'), ``max_iqr_percent`` and
    ``max_rounds`` (the spread treatment of the module docstring; null turns it off). The fingerprint is
    :func:`monas.hardware.hardware_fingerprint` plus the clock and the build settings, so values from different machines, batch sizes or dtypes never mix.
    """

    units = "ms"

    def __init__(self, device: str = "cpu", batch_size: int = 1, input_shape: Optional[Sequence[int]] = None,
                 warmup: int = 10, repeats: int = 30, threads: Optional[int] = 1, dtype: str = "float32",
                 build_kwargs: Optional[Dict[str, Any]] = None, clock: str = "wall",
                 max_iqr_percent: Optional[float] = 10.0, max_rounds: int = 3) -> None:
        self.device = device
        self.batch_size = batch_size
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.warmup = warmup
        self.repeats = repeats
        self.threads = threads
        self.dtype = dtype
        self.build_kwargs = dict(build_kwargs or {})
        self.clock = clock
        if max_iqr_percent is not None and (isinstance(max_iqr_percent, bool) or
                                            not isinstance(max_iqr_percent, (int, float)) or
                                            not 0 < float(max_iqr_percent) < float("inf")):
            raise ValueError(f"max_iqr_percent must be a positive number or null, got {max_iqr_percent!r}")
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"max_rounds must be an int >= 1, got {max_rounds!r}")
        self.max_iqr_percent = None if max_iqr_percent is None else float(max_iqr_percent)
        self.max_rounds = max_rounds
        parse_device(device)  # fail at construction, not mid-search
        parse_dtype(dtype)
        if clock not in CLOCKS or (clock == "thread" and (parse_device(device).type != "cpu" or threads != 1)):
            raise ValueError(f"clock {clock!r} with device {device!r}, threads={threads!r}; accepted: 'wall', "
                             "or 'thread' with device 'cpu' and threads=1")

    def fingerprint(self, ctx) -> Dict[str, Any]:
        shape = input_shape_for(ctx, self.input_shape)
        return {"kind": "latency", "clock": self.clock, "max_iqr_percent": self.max_iqr_percent,
                "max_rounds": self.max_rounds,
                **hardware_fingerprint(self.device, self.threads, self.dtype, self.batch_size, shape),
                **{k: v for k, v in build_fingerprint(ctx, shape, self.build_kwargs).items() if k != "input_shape"}}

    def measure(self, arch, ctx) -> Measurement:
        shape = input_shape_for(ctx, self.input_shape)
        net = build_network(ctx.space, arch, ctx, shape, self.build_kwargs)
        model, x = prepare(net, self.device, self.dtype, self.batch_size, shape, seed=getattr(ctx, "seed", 0))
        rounds, on_cpu = [], []
        while True:  # the spread treatment of the module docstring
            times, busy = time_forward(model, x, self.device, self.warmup if not rounds else 0, self.repeats,
                                       self.threads, clock=self.clock, return_on_cpu=True)
            rounds.append(times)
            on_cpu.append(busy)
            summary = latency_summary(np.concatenate(rounds))
            spread = 100.0 * summary["iqr_ms"] / summary["median_ms"] if summary["median_ms"] > 0 else 0.0
            if self.max_iqr_percent is None or spread <= self.max_iqr_percent or len(rounds) >= self.max_rounds:
                break
        summary.update(warmup=int(self.warmup), device=str(parse_device(self.device)), clock=self.clock,
                       on_cpu_percent=None if on_cpu[-1] is None else float(np.mean(on_cpu)), rounds=len(rounds),
                       iqr_percent=spread,
                       noisy=bool(self.max_iqr_percent is not None and spread > self.max_iqr_percent))
        return Measurement(summary["median_ms"], summary)
