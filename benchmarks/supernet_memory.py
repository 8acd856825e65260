"""One search step of each DARTS-family method on the same supernet, batch and input.

    python benchmarks/supernet_memory.py            # C=16, 8 cells, batch 64, 3x32x32 (paper setting)
    python benchmarks/supernet_memory.py --small    # C=8, 5 cells, batch 16, 3x16x16 (quick)

For every method (DARTS first order, PC-DARTS K=4, ROME with K sampled architectures,
sharpDARTS, and GDAS as ROME's reference) one full search step runs (architecture step on a
validation batch, then weight step on a training batch) on random data, and the script prints:

- ``saved MB``: activation memory saved for backward, the most unique storage bytes alive at
  once (``monas.plugins.darts.memory.SavedTensorMeter``; parameters excluded): exact and
  repeatable on CPU;
- ``peak CUDA MB``: ``torch.cuda.max_memory_allocated`` over the step minus the memory held
  before it (only with ``--device cuda``);
- ``steps/s``: search steps per second (median of ``--repeats`` timed steps after one warm-up);
- the ratios of each to DARTS.

Bar (ROME paper Table 7 at batch 64: DARTS 9.4 GB, PC-DARTS 3.7 GB, ROME 2.3 GB, GDAS 3.1 GB):
PC-DARTS <= 0.40x and ROME <= 0.30x of DARTS' saved activation memory; the script exits with
status 1 when a bar fails. sharpDARTS uses SharpSepConv ops, so its supernet differs by design.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Dict, List

import torch

from monas.plugins.darts import Darts, SearchSettings, SpaceAdapter
from monas.plugins.darts.memory import SavedTensorMeter
from monas.plugins.darts.search_loop import BilevelSearch
from monas.plugins.pc_darts import PcDarts
from monas.plugins.rome import Rome
from monas.plugins.sharp_darts import SharpDarts
from monas.registry import SEARCH_SPACES

BARS = {"pc_darts": 0.40, "rome": 0.30}
PAPER_GB = {"darts": 9.4, "pc_darts": 3.7, "pc_darts_k2": 5.7, "rome": 2.3, "gdas": 3.1}


def generators(rome_samples: int) -> Dict[str, object]:
    """The methods compared, as their generators (whose hooks build supernet and relaxation)."""
    return {
        "darts": Darts(),
        "pc_darts": PcDarts(partial_channels=4, arch_warmup_epochs=0),
        "pc_darts_k2": PcDarts(partial_channels=2, arch_warmup_epochs=0),
        "rome": Rome(samples=rome_samples),
        "gdas": Rome(samples=1, topology=False, include_none=True),
        "sharp_darts": SharpDarts(),
    }


def build_search(gen, space, C: int, layers: int, channels: int, classes: int, batch: int, device: str,
                 seed: int = 0) -> BilevelSearch:
    """The method's supernet, relaxation and one-epoch search settings (no warm-up)."""
    adapter = SpaceAdapter(space)
    opts = gen.supernet_options(adapter)
    kwargs = adapter.supernet_kwargs(C, layers, channels, classes, ops=opts.get("ops"),
                                     op_set=opts.get("op_set", "darts"), partial_channels=opts.get("partial_channels"))
    torch.manual_seed(seed)
    net = adapter.build_supernet(opts["mode"], **kwargs).to(device)
    relax = gen.relaxation(adapter, net.ops)
    params = relax.new_parameters(net, seed=seed)
    extra = {k: v for k, v in gen.search_options().items() if k != "arch_warmup_epochs"}
    settings = SearchSettings(epochs=1, batch_size=batch, w_lrs=(gen.w_lr,), **extra)
    return BilevelSearch(net, relax, params, settings, seed=seed, device=device)


def measure(search: BilevelSearch, batches, repeats: int, device: str) -> Dict[str, float]:
    """Saved-activation peak (exact), CUDA peak (on GPU) and timed steps of one method."""
    exclude = list(search.net.parameters()) + list(search.params.values())
    train, valid = batches
    search.step(train, valid, 0)  # warm-up (allocator, lazy init); also fills optimiser state
    with SavedTensorMeter(exclude=exclude) as meter:
        search.step(train, valid, 0)
    out = {"saved_mb": meter.peak_bytes / 2**20, "leftover_mb": meter.live_bytes / 2**20}
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        search.step(train, valid, 0)
        torch.cuda.synchronize()
        out["cuda_peak_mb"] = (torch.cuda.max_memory_allocated() - before) / 2**20
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        search.step(train, valid, 0)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    out["steps_per_s"] = 1.0 / statistics.median(times)
    return out


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="C=8, 5 cells, batch 16, 16x16 input")
    parser.add_argument("--C", type=int, default=None)
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--size", type=int, default=None, help="input height = width")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--rome-samples", type=int, default=7, help="K architectures per ROME step (paper 7)")
    parser.add_argument("--methods", default="darts,pc_darts,rome,gdas,sharp_darts",
                        help="comma list of darts, pc_darts, pc_darts_k2, rome, gdas, sharp_darts")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per method")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    small = args.small
    C = args.C or (8 if small else 16)
    layers = args.layers or (5 if small else 8)
    batch = args.batch or (16 if small else 64)
    size = args.size or (16 if small else 32)
    repeats = args.repeats or (3 if small else 2)
    torch.set_num_threads(args.threads)

    space = SEARCH_SPACES.create("darts")
    gens = generators(args.rome_samples)
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in gens]
    if unknown or "darts" not in names:
        parser.error(f"--methods must include darts and may list {', '.join(gens)}; unknown: {unknown}")
    g = torch.Generator().manual_seed(args.seed)

    def batch_of():
        x = torch.randn(batch, args.channels, size, size, generator=g).to(args.device)
        y = torch.randint(0, args.classes, (batch,), generator=g).to(args.device)
        return x, y

    batches = (batch_of(), batch_of())
    print(f"supernet C={C}, {layers} cells, batch {batch}, input {args.channels}x{size}x{size}, "
          f"device {args.device}, threads {args.threads}, ROME K={args.rome_samples}")
    rows = {}
    for name in names:
        search = build_search(gens[name], space, C, layers, args.channels, args.classes, batch, args.device, args.seed)
        rows[name] = measure(search, batches, repeats, args.device)
        del search
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
        r = rows[name]
        print(f"  measured {name}: saved {r['saved_mb']:.1f} MB, {r['steps_per_s']:.3f} steps/s", flush=True)

    base = rows["darts"]
    cuda = args.device.startswith("cuda")
    header = f"{'method':<12}{'saved MB':>11}{'x DARTS':>9}" + (f"{'CUDA MB':>10}{'x DARTS':>9}" if cuda else "") + \
        f"{'steps/s':>10}{'x DARTS':>9}{'paper GB':>10}"
    print(header)
    print("-" * len(header))
    failed = []
    for name, r in rows.items():
        ratio = r["saved_mb"] / base["saved_mb"]
        line = f"{name:<12}{r['saved_mb']:>11.1f}{ratio:>9.3f}"
        if cuda:
            line += f"{r['cuda_peak_mb']:>10.1f}{r['cuda_peak_mb'] / base['cuda_peak_mb']:>9.3f}"
        line += f"{r['steps_per_s']:>10.3f}{r['steps_per_s'] / base['steps_per_s']:>9.3f}"
        line += f"{PAPER_GB.get(name, float('nan')):>10.1f}"
        print(line)
        if name in BARS and ratio > BARS[name]:
            failed.append(f"{name} saved-activation ratio {ratio:.3f} > {BARS[name]:.2f}")
        if r["leftover_mb"] != 0:
            failed.append(f"{name}: {r['leftover_mb']:.1f} MB of saved tensors still alive after the step")
    for name, bar in BARS.items():
        if name in rows:
            print(f"bar {name} <= {bar:.2f}x DARTS saved activations: "
                  f"{'PASS' if rows[name]['saved_mb'] / base['saved_mb'] <= bar else 'FAIL'}")
    if "rome" in rows and "gdas" in rows:
        print(f"ROME / GDAS saved activations: {rows['rome']['saved_mb'] / rows['gdas']['saved_mb']:.3f} "
              f"(paper 2.3 / 3.1 = 0.74)")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
