"""Black-box search quality on every accuracy / cost pair of the NB201 table, at two budgets.

For CIFAR-10 test accuracy against each cost column of the table (5 latency devices, params,
FLOPs), each generator runs alone for ``--seeds`` seeds at each budget of ``--budgets``; the
table gives, per pair and budget, the median hypervolume ratio (HV of the found front over HV of
the true front, both normalised by the true front's ideal and nadir, reference 1.1) and the
median share of the true front found (``benchmarks/nb201_search.py`` measures the same for one
pair).

Bar (issue 12), for ``--target`` (default tnd_nas):
- on every pair and at every budget its median HV ratio and median front share are at least
  those of pymoo NSGA-II (``nsga2``);
- its median over the pairs (of the per-pair medians) is at least that of monas evolution, for
  both measures and at every budget.
Exits non-zero when the bar fails. ``--pairs`` restricts the columns (cross-validation: tune on
some pairs, report on the others); ``--target-params`` runs the target with other parameters;
``--acc`` takes another accuracy column (``c10_test_acc_12ep``: a held-out check, as another
dataset would be) and ``--first-seed`` another set of seeds (a close cell can flip between sets).

    python benchmarks/nb201_pairs.py --seeds 10 --budgets 100 300
    python benchmarks/nb201_pairs.py --acc c10_test_acc_12ep --first-seed 10
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from monas.indicators import front_share, hypervolume_ratio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_search import parse_generator, run_one, true_front  # noqa: E402

from monas.registry import SEARCH_SPACES  # noqa: E402
from bar import finish  # noqa: E402  (benchmarks/ is on sys.path when a benchmark runs)

ACC = "c10_test_acc_200ep"
COSTS = ("lat_ms_1080ti_1", "lat_ms_titan_rtx_256", "lat_ms_gold_6226", "lat_ms_raspi4", "lat_ms_pixel3",
         "c10_params_M", "c10_flops_M")
GENERATORS = ("tnd_nas", "evolution", "nsga2",
              'optuna{"sampler": "NSGAIISampler", "sampler_params": {"population_size": 20}}', "random")
SHORT = {GENERATORS[3]: "optuna NSGAII(pop 20)"}


def measure(spec: str, params_override: Dict, costs: Sequence[str], budgets: Sequence[int], seeds: int,
            space=None, acc: str = ACC, first_seed: int = 0) -> Dict[Tuple[str, int], Tuple[float, float]]:
    """{(cost, budget): (median HV ratio, median front share)} of generator ``spec`` over seeds
    ``first_seed`` .. ``first_seed + seeds - 1``."""
    space = space or SEARCH_SPACES.create("nb201")
    _, name, params = parse_generator(spec)
    params = {**params, **params_override}
    out = {}
    for cost in costs:
        true_F, true_keys = true_front(space, acc, cost)
        for budget in budgets:
            hv, share = [], []
            for seed in range(first_seed, first_seed + seeds):
                F, keys, _ = run_one(space, acc, cost, name, params, budget, seed)
                hv.append(hypervolume_ratio(F, true_F))
                share.append(front_share(keys, true_keys))
            out[(cost, budget)] = (float(np.median(hv)), float(np.median(share)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--acc", default=ACC, help="accuracy column (another one is a held-out check: c10_test_acc_12ep)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (another set checks that a result is not one set's luck)")
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--pairs", nargs="+", default=list(COSTS), help="cost columns (default: all 7)")
    ap.add_argument("--generators", nargs="+", default=list(GENERATORS))
    ap.add_argument("--target", default="tnd_nas")
    ap.add_argument("--target-params", default="{}", help="JSON parameters for the target generator")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    override = json.loads(args.target_params)
    print(f"NB201 {args.acc} (max) against {len(args.pairs)} cost columns; budgets {args.budgets}; {args.seeds} seeds "
          f"from {args.first_seed}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    results, secs = {}, {}
    for spec in args.generators:
        t = time.time()
        results[spec] = measure(spec, override if spec == args.target else {}, args.pairs, args.budgets, args.seeds,
                                 acc=args.acc, first_seed=args.first_seed)
        secs[spec] = time.time() - t
        print(f"  {SHORT.get(spec, spec)} done in {secs[spec]:.0f} s", file=sys.stderr, flush=True)

    names = [SHORT.get(s, s) for s in args.generators]
    for budget in args.budgets:
        print(f"\nbudget {budget}: median HV ratio / median share of the true front found ({args.seeds} seeds)")
        print(f"{'cost column':22s}" + "".join(f"{n:>24s}" for n in names))
        for cost in args.pairs:
            cells = [f"{results[s][(cost, budget)][0]:.4f} / {results[s][(cost, budget)][1]:5.1%}"
                     for s in args.generators]
            print(f"{cost:22s}" + "".join(f"{c:>24s}" for c in cells))
        med = [(np.median([results[s][(c, budget)][0] for c in args.pairs]),
                np.median([results[s][(c, budget)][1] for c in args.pairs])) for s in args.generators]
        print(f"{'median over pairs':22s}" + "".join(f"{h:.4f} / {f:5.1%}".rjust(24) for h, f in med))
    print("\nseconds per generator (all pairs, budgets, seeds): "
          + ", ".join(f"{SHORT.get(s, s)} {secs[s]:.0f}" for s in args.generators)
          + f"; load average {os.getloadavg()[0]:.2f}")

    failures: List[str] = []
    target = results.get(args.target)
    if target is not None and "nsga2" in results:
        for (cost, budget), (hv, share) in target.items():
            base_hv, base_share = results["nsga2"][(cost, budget)]
            if hv < base_hv or share < base_share:
                failures.append(f"{cost} at {budget}: {args.target} {hv:.4f} / {share:.1%} below nsga2 "
                                f"{base_hv:.4f} / {base_share:.1%}")
    if target is not None and "evolution" in results:
        for budget in args.budgets:
            for i, what in enumerate(("HV ratio", "front share")):
                mine = np.median([target[(c, budget)][i] for c in args.pairs])
                evo = np.median([results["evolution"][(c, budget)][i] for c in args.pairs])
                if mine < evo:
                    failures.append(f"budget {budget}: {args.target}'s median {what} over the pairs {mine:.4f} is "
                                    f"below evolution's {evo:.4f}")
    return finish(f"bar: {args.target} >= nsga2 on both medians for every pair and budget; {args.target}'s median over the "
                  "pairs >= evolution's", failures)


if __name__ == "__main__":
    sys.exit(main())
