"""Collapse watch: parameter-free ops in the cells each DARTS-family method derives, over seeds.

    python benchmarks/collapse.py                      # tiny settings on digits, seeds 0 1 2
    python benchmarks/collapse.py --seeds 0 1 2 3 4 --epochs 10 --steps 0   # longer (0 = full epochs)

Runs every method's search (DARTS, PC-DARTS, ROME, GDAS as ROME's ablation, sharpDARTS) on the
DARTS space with the same tiny supernet, data (digits, 1x16x16) and seeds, derives its best
cell, and prints per seed the skip-connects and the parameter-free ops (skip, pools) of the
derived normal cell side by side, with their means. Runs with more than 2 skip-connects in the
normal cell are flagged ("!"), the usual sign of DARTS' collapse. ROME's paper claims fewer
parameter-free ops than GDAS on average (statistically, no hard cap); ``--check`` exits with
status 1 when ROME's mean is not below GDAS'.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Dict, List

import torch

from monas.context import EvaluationContext, GeneratorContext
from monas.datasets import load_digits
from monas.plugins.darts import Darts
from monas.plugins.pc_darts import PcDarts
from monas.plugins.rome import Rome
from monas.plugins.sharp_darts import SharpDarts
from monas.registry import SEARCH_SPACES

METHODS = ("darts", "pc_darts", "rome", "gdas", "sharp_darts")


def make(name: str, common: Dict, rome_samples: int, warmup: int):
    if name == "darts":
        return Darts(**common)
    if name == "pc_darts":
        return PcDarts(arch_warmup_epochs=min(warmup, common["epochs"] - 1), **common)
    if name == "rome":
        return Rome(samples=rome_samples, **common)
    if name == "gdas":
        return Rome(samples=1, topology=False, include_none=True, **common)
    if name == "sharp_darts":
        return SharpDarts(**common)
    raise ValueError(f"unknown method {name!r}; accepted: {', '.join(METHODS)}")


def derive_once(gen, space, data, seed: int, verbose: bool) -> Dict:
    """Run one search (seeded) outside the engine; return the best derived cell's counts."""
    ctx = GeneratorContext(name=f"collapse-seed{seed}", space=space, objectives=[], constraints=[], seed=seed,
                           measure=lambda arch, label: float("nan"), archive=None,
                           evaluation=EvaluationContext(space=space, data=data, seed=seed),
                           progress=(lambda m: print("   ", m, flush=True)) if verbose else (lambda m: None))
    gen.setup(ctx)
    gen.ask(1)
    best = gen.derived_[0]
    return {"key": best["key"], **best["parameter_free"]}


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8, help="steps per epoch (0 = a full pass over digits)")
    parser.add_argument("--C", type=int, default=8)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rome-samples", type=int, default=3, help="ROME's K (paper 7)")
    parser.add_argument("--pc-warmup", type=int, default=1, help="PC-DARTS warm-up epochs (paper 15 of 50)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 unless ROME's mean parameter-free count < GDAS'")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    space = SEARCH_SPACES.create("darts")
    data = load_digits(size=16)
    common = dict(epochs=args.epochs, steps_per_epoch=args.steps or None, C=args.C, layers=args.layers,
                  search_batch_size=args.batch, top_k=1)
    print(f"DARTS space, digits 1x16x16, C={args.C}, {args.layers} cells, batch {args.batch}, "
          f"{args.epochs} epochs x {args.steps or 'all'} steps, seeds {args.seeds}, ROME K={args.rome_samples}")
    results: Dict[str, List[Dict]] = {}
    for name in names:
        results[name] = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            r = derive_once(make(name, common, args.rome_samples, args.pc_warmup), space, data, seed, args.verbose)
            results[name].append(r)
            print(f"  {name} seed {seed}: normal cell skip {r['skip']}, parameter-free {r['normal']} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)

    width = max(8, *(len(n) + 2 for n in names))
    print("\nskip-connects / parameter-free ops in the derived normal cell (! = more than 2 skips)")
    print(f"{'seed':<6}" + "".join(f"{n:>{width}}" for n in names))
    for i, seed in enumerate(args.seeds):
        cells = []
        for n in names:
            r = results[n][i]
            cells.append(f"{r['skip']}/{r['normal']}{'!' if r['skip'] > 2 else ' '}")
        print(f"{seed:<6}" + "".join(f"{c:>{width}}" for c in cells))
    means = {n: (statistics.mean(r["skip"] for r in results[n]), statistics.mean(r["normal"] for r in results[n]))
             for n in names}
    print(f"{'mean':<6}" + "".join(f"{f'{s:.2f}/{p:.2f} ':>{width}}" for n, (s, p) in means.items()))
    if args.check:
        if "rome" not in means or "gdas" not in means:
            parser.error("--check needs both rome and gdas in --methods")
        ok = means["rome"][1] < means["gdas"][1]
        print(f"ROME mean parameter-free ops {means['rome'][1]:.2f} vs GDAS {means['gdas'][1]:.2f}: "
              f"{'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
