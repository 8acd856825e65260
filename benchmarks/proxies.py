"""Training-free proxies and the GCN predictor on the NB201 table, side by side.

1. Zero-cost proxies: Spearman correlation with CIFAR-10 test accuracy (``c10_test_acc_200ep``)
   over ``--n-archs`` (1,000) uniformly drawn cells, for the ZEROS score (sum of the op
   sensitivities of the cell's ops), plain SynFlow (sum over parameters) and the parameter count
   (the bias ZEROS claims to avoid); both scores come from one pass of
   ``monas.objectives.zero_cost`` on the seeded NB201 supernet (C=16, N=5, one 3x32x32 ones
   input, float64). Each score's Spearman with the parameter count is shown too.
2. GCN predictor (defaults: 3 bidirectional layers of 128, 300 epochs, Adam 1e-3, 10% early
   stopping): Kendall tau with test accuracy on 1,000 held-out cells after training on 100 and
   on 300 other table entries, over ``--splits`` random splits (median reported).
3. FreeDARTS on NB201: test accuracy of the derived cell for seeds 0..4 (median), with ablations
   of the [U] choices (BN in train mode, all pruning in one round, a small supernet and input,
   float32); and on DARTS (C=16, 8 cells, 32x32) the derived cell's op histogram and search time.

Bars: FreeDARTS NB201 median >= 93.0%; GCN tau(300) >= 0.6; GCN tau(100) >= 0.4; ZEROS
Spearman >= 0.6. Exits non-zero when one fails.

    python benchmarks/proxies.py
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Dict, List

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from monas.context import EvaluationContext, GeneratorContext
from monas.objectives.tabular import load_table
from monas.objectives.zero_cost import ZeroCostObjective
from monas.plugins.free_darts import FreeDARTS
from monas.plugins.gcn_predictor import GCNPredictor, stack_graphs
from monas.registry import SEARCH_SPACES

ACC = "c10_test_acc_200ep"
VARIANTS = {
    "default (bypass BN, float64, 1 op/round, C16 N5 32x32)": {},
    "BN in train mode (batch statistics)": {"bn": "train"},
    "one round (prune 4 ops per edge at once)": {"ops_per_round": 4},
    "small supernet C8 N1, 16x16 input": {"supernet_kwargs": {"C": 8, "N": 1}, "input_shape": [3, 16, 16]},
    "float32": {"dtype": "float32"},
}


def zero_cost_block(space, table, keys, n_archs: int, seed: int) -> Dict[str, Dict[str, float]]:
    acc, params = table.column(ACC), table.column("c10_params_M")
    idx = np.random.default_rng(seed).choice(len(keys), size=n_archs, replace=False)
    obj = ZeroCostObjective()
    ctx = EvaluationContext(space=space)
    zeros, synflow = [], []
    t = time.time()
    for i in idx:
        s = obj.scores(space.from_key(keys[i]), ctx)
        zeros.append(s["zeros"])
        synflow.append(s["synflow"])
    print(f"  scored {n_archs} cells in {time.time() - t:.0f}s", file=sys.stderr)
    rows = {}
    for name, values in (("ZEROS", zeros), ("SynFlow", synflow), ("params", params[idx])):
        rows[name] = {"acc": float(spearmanr(values, acc[idx])[0]), "params": float(spearmanr(values, params[idx])[0])}
    return rows


def gcn_block(space, table, keys, splits: int) -> Dict[int, List[float]]:
    acc = table.column(ACC)
    graphs = stack_graphs([space.to_graph(space.from_key(k)) for k in keys])
    taus: Dict[int, List[float]] = {100: [], 300: []}
    for split in range(splits):
        perm = np.random.default_rng(100 + split).permutation(len(keys))
        test = perm[:1000]
        for n in taus:
            train = perm[1000:1000 + n]
            p = GCNPredictor(seed=split).fit(graphs.select(train), acc[train])
            taus[n].append(float(kendalltau(p.predict(graphs.select(test)), acc[test])[0]))
    return taus


def _ctx(space):
    return GeneratorContext(name="free_darts", space=space, objectives=[], constraints=[], seed=0,
                            measure=None, archive=None, evaluation=EvaluationContext(space=space))


def free_darts_block(space, table, seeds: int) -> Dict[str, dict]:
    acc = table.column(ACC)
    out = {}
    for label, params in VARIANTS.items():
        values, cells, secs, error = [], Counter(), [], None
        for seed in range(seeds):
            gen = FreeDARTS(seed=seed, **params)
            gen.setup(_ctx(space))
            try:
                arch = gen.ask(1)[0]
            except FloatingPointError:
                error = "R overflows (not finite)"
                break
            values.append(float(acc[table.row_of(arch.key, space)]))
            cells[arch.key] += 1
            secs.append(gen.search_s_)
        out[label] = {"accs": values, "cells": cells, "s": float(np.mean(secs)) if secs else float("nan"),
                      "error": error}
    return out


def darts_block() -> dict:
    space = SEARCH_SPACES.create("darts")
    gen = FreeDARTS(seed=0)
    gen.setup(_ctx(space))
    arch = gen.ask(1)[0]
    ops = Counter(op for cell in ("normal", "reduce") for op, _ in arch.genotype[cell])
    return {"ops": ops, "s": gen.search_s_, "key": arch.key}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-archs", type=int, default=1000)
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-darts", action="store_true", help="skip the DARTS-space derivation")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    space = SEARCH_SPACES.create("nb201")
    table = load_table()
    keys = table.keys(space)
    failures = []

    print(f"NB201 CIFAR-10 ({ACC}); {args.n_archs} random cells; GCN over {args.splits} splits; "
          f"FreeDARTS over {args.seeds} seeds\n")
    fd = free_darts_block(space, table, args.seeds)
    print(f"{'FreeDARTS on NB201 (derived cell)':58s} {'median acc':>10s} {'accs':>34s} {'s/search':>9s}")
    for label, r in fd.items():
        if r["error"]:
            print(f"{label:58s} {'-':>10s} {r['error'][:34]:>34s} {'-':>9s}")
            continue
        accs = " ".join(f"{a:.2f}" for a in r["accs"])
        print(f"{label:58s} {np.median(r['accs']):10.2f} {accs:>34s} {r['s']:9.2f}")
    default = next(iter(fd.values()))
    for key, count in default["cells"].items():
        print(f"  default derives {key} ({count}/{args.seeds} seeds)")
    if not default["accs"] or np.median(default["accs"]) < 93.0:
        failures.append("FreeDARTS NB201 median test accuracy below 93.0%")

    if not args.no_darts:
        d = darts_block()
        hist = ", ".join(f"{op} {n}" for op, n in d["ops"].most_common())
        print(f"\nFreeDARTS on DARTS (C=16, 8 cells, 32x32): search {d['s']:.1f}s; ops of the 16 kept edges: {hist}")

    taus = gcn_block(space, table, keys, args.splits)
    print(f"\n{'GCN predictor, Kendall tau on 1000 held-out cells':58s} {'median':>10s} {'splits':>34s}")
    for n, values in taus.items():
        print(f"{f'trained on {n} table entries':58s} {np.median(values):10.3f} "
              f"{' '.join(f'{v:.3f}' for v in values):>34s}")
    if np.median(taus[300]) < 0.6:
        failures.append("GCN tau with 300 training entries below 0.6")
    if np.median(taus[100]) < 0.4:
        failures.append("GCN tau with 100 training entries below 0.4")

    zc = zero_cost_block(space, table, keys, args.n_archs, seed=0)
    print(f"\n{'zero-cost proxy (Spearman)':58s} {'vs test acc':>10s} {'vs params':>34s}")
    for name, r in zc.items():
        print(f"{name:58s} {r['acc']:10.3f} {r['params']:34.3f}")
    if zc["ZEROS"]["acc"] < 0.6:
        failures.append("ZEROS Spearman with test accuracy below 0.6")

    print("\nbars: FreeDARTS NB201 median >= 93.0%; GCN tau(300) >= 0.6; GCN tau(100) >= 0.4; "
          "ZEROS Spearman >= 0.6")
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
