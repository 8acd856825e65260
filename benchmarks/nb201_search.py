"""Search quality on the NB201 table: every generator side by side against the true front.

For an (accuracy column, cost column) pair, a budget of unique evaluations and a number of
seeds, each generator runs alone; we print the median hypervolume ratio and the median
fraction of true-front points found. The HV ratio normalises both objectives by the true
front's ideal and nadir points, takes reference point 1.1 in each, and divides HV(found front)
by HV(true front).

Bar (issue 2): at least one native monas generator reaches a median HV ratio >= 0.995 and finds
>= 30% of the true front at 300 evaluations over 10 seeds. Extra bars can be named with
--bar GENERATOR:HV:SHARE (e.g. tnd_nas:0.995:0.40); ``--not-worse-than`` requires a generator to
match every listed baseline on both medians. Exits non-zero when a bar fails.

    python benchmarks/nb201_search.py --budget 300 --seeds 10
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Dict, List, Tuple

import numpy as np

from monas.budget import Budget
from monas.engine import Engine
from monas.indicators import front_share, hypervolume_ratio, non_dominated
from monas.objectives.tabular import TabularObjective, load_table
from monas.registry import GENERATORS, SEARCH_SPACES
from bar import finish  # noqa: E402  (benchmarks/ is on sys.path when a benchmark runs)

# TPESampler is left out of the default list: in this 15,625-cell space it proposes already
# evaluated cells thousands of times per run and its per-sample cost grows with the history, so
# one run takes minutes; add it with --generators optuna:TPESampler.
DEFAULT_GENERATORS = [
    "random",
    "optuna:NSGAIISampler",
    "nsga2",
    "evolution",
    "tnd_nas",
    "gcn_predictor",
]
NATIVE = ("evolution", "tnd_nas", "gcn_predictor")


def parse_generator(spec: str) -> Tuple[str, str, Dict]:
    """'optuna:TPESampler' -> optuna with that sampler; 'name{json}' -> name with params."""
    if spec.startswith("optuna:"):
        return spec, "optuna", {"sampler": spec.split(":", 1)[1]}
    if "{" in spec:
        name, params = spec.split("{", 1)
        return spec, name, json.loads("{" + params)
    return spec, spec, {}


def true_front(space, acc: str, cost: str) -> Tuple[np.ndarray, set]:
    table = load_table()
    keys = table.keys(space)
    F = np.stack([-table.column(acc), table.column(cost)], axis=1)
    idx = non_dominated(F)
    return F[idx], {keys[i] for i in idx}


def run_one(space, acc: str, cost: str, name: str, params: Dict, budget: int, seed: int):
    objectives = {"accuracy": TabularObjective(acc), "cost": TabularObjective(cost, direction="minimize")}
    engine = Engine(space, objectives, [(name, GENERATORS.create(name, **params), 1.0)],
                    budget=Budget(evaluations=budget), seed=seed)
    archive = engine.optimize()
    front = archive.front()
    F = np.array([[-e.values["accuracy"], e.values["cost"]] for e in front])
    return F, {e.arch.key for e in front}, len(archive)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--acc", default="c10_test_acc_200ep")
    ap.add_argument("--cost", default="lat_ms_1080ti_1")
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--generators", nargs="+", default=None)
    ap.add_argument("--bar", nargs="*", default=[], help="GENERATOR:HV:SHARE extra bars")
    ap.add_argument("--not-worse-than", nargs="*", default=[], metavar="GEN>BASE",
                    help="e.g. tnd_nas>nsga2: GEN's medians must be >= BASE's")
    args = ap.parse_args(argv)

    space = SEARCH_SPACES.create("nb201")
    true_F, true_keys = true_front(space, args.acc, args.cost)
    specs = args.generators or [g for g in DEFAULT_GENERATORS if g.split(":")[0] in GENERATORS]
    print(f"NB201 {args.acc} (max) vs {args.cost} (min): true front {len(true_keys)} points; "
          f"budget {args.budget} unique evaluations; {args.seeds} seeds")
    rows = {}
    for spec in specs:
        label, name, params = parse_generator(spec)
        ratios, shares, secs = [], [], []
        for seed in range(args.seeds):
            t = time.time()
            F, keys, n = run_one(space, args.acc, args.cost, name, params, args.budget, seed)
            secs.append(time.time() - t)
            ratios.append(hypervolume_ratio(F, true_F))
            shares.append(front_share(keys, true_keys))
        rows[label] = (float(np.median(ratios)), float(np.median(shares)), float(np.mean(secs)),
                       float(np.min(ratios)))
        print(f"  {label:28s} done", file=sys.stderr)

    print(f"\n{'generator':28s} {'median HV ratio':>16s} {'min HV ratio':>13s} {'median front found':>19s} {'s/run':>7s}")
    for label, (hv, share, sec, hv_min) in rows.items():
        print(f"{label:28s} {hv:16.4f} {hv_min:13.4f} {share:18.1%} {sec:7.2f}")

    failures = []
    native = {k: v for k, v in rows.items() if parse_generator(k)[1] in NATIVE}
    if not any(hv >= 0.995 and share >= 0.30 for hv, share, _, _ in native.values()):
        failures.append("no native monas generator reached HV ratio >= 0.995 with >= 30% of the true front")
    for bar in args.bar:
        gen, hv_bar, share_bar = bar.rsplit(":", 2)
        hv, share = rows[gen][:2]
        if hv < float(hv_bar) or share < float(share_bar):
            failures.append(f"{gen}: HV {hv:.4f} / front {share:.1%} below bar {hv_bar} / {float(share_bar):.0%}")
    for pair in args.not_worse_than:
        gen, base = pair.split(">")
        if rows[gen][0] < rows[base][0] or rows[gen][1] < rows[base][1]:
            failures.append(f"{gen} is worse than {base} on HV ratio or front share")
    return finish("bar: a native monas generator (evolution, tnd_nas, gcn_predictor) with median HV ratio >= 0.995 "
                  "and >= 30% of the true front" + "".join(f"; {b}" for b in args.bar)
                  + "".join(f"; {p.replace('>', ' >= ')}" for p in args.not_worse_than), failures)


if __name__ == "__main__":
    sys.exit(main())
