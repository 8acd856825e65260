"""Choose a black-box generator's defaults by cross-validation over the NB201 table's pairs.

Tune on some accuracy / cost pairs, report on the others: each candidate parameter set (one
change at a time from the current defaults, ``--grid``; then the best changes combined) runs on
the *tuning* pairs at every budget; the winner is the candidate with the fewest (pair, budget)
cells below pymoo NSGA-II, then the largest mean margin over monas evolution (HV ratio x 100 plus
front share), i.e. the two parts of the issue-12 bar. The winner and the current defaults are
then measured on the *held-out* pairs, which played no part in the choice.

    python benchmarks/tune_black_box.py --seeds 10 \\
        --tune lat_ms_1080ti_1 lat_ms_gold_6226 lat_ms_pixel3 c10_params_M \\
        --report lat_ms_titan_rtx_256 lat_ms_raspi4 c10_flops_M \\
        --grid '{"n_policies": [8, 24], "policy_steps": [1, 6], "rank_temperature": [0.5, 2.0]}'
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_pairs import measure  # noqa: E402


def score(target: Dict, nsga2: Dict, evo: Dict) -> Tuple[int, float]:
    """(cells below nsga2 on either median, mean margin over evolution): larger is better."""
    below = sum(1 for k, (hv, sh) in target.items() if hv < nsga2[k][0] or sh < nsga2[k][1])
    margin = float(np.mean([100 * (hv - evo[k][0]) + (sh - evo[k][1]) for k, (hv, sh) in target.items()]))
    return -below, margin


def table(title: str, rows: Dict[str, Dict], pairs: Sequence[str], budgets: Sequence[int]) -> None:
    print(f"\n{title}")
    names = list(rows)
    for b in budgets:
        print(f"budget {b}: median HV ratio / median front share")
        print(f"{'cost column':22s}" + "".join(f"{n[:30]:>32s}" for n in names))
        for c in pairs:
            print(f"{c:22s}" + "".join(f"{rows[n][(c, b)][0]:.4f} / {rows[n][(c, b)][1]:5.1%}".rjust(32)
                                       for n in names))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="tnd_nas")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--tune", nargs="+", required=True)
    ap.add_argument("--report", nargs="+", required=True)
    ap.add_argument("--grid", default="{}", help="JSON {parameter: [values]}: one change at a time")
    ap.add_argument("--base", default="{}", help="JSON parameters every candidate starts from")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    grid, base = json.loads(args.grid), json.loads(args.base)
    B = args.budgets
    print(f"load average {os.getloadavg()[0]:.2f}; tune on {args.tune}; report on {args.report}", flush=True)
    nsga2 = measure("nsga2", {}, args.tune + args.report, B, args.seeds)
    evo = measure("evolution", {}, args.tune + args.report, B, args.seeds)

    def on(pairs, res):
        return {k: v for k, v in res.items() if k[0] in pairs}

    candidates: List[Dict] = [dict(base)] + [{**base, p: v} for p, vs in grid.items() for v in vs]
    scored = []
    for cand in candidates:
        res = measure(args.target, cand, args.tune, B, args.seeds)
        s = score(res, on(args.tune, nsga2), on(args.tune, evo))
        scored.append((s, cand, res))
        print(f"  tune {json.dumps(cand):70s} below nsga2 {-s[0]:2d} cells, margin over evolution {s[1]:+.3f}",
              flush=True)
    base_score = scored[0][0]
    better = [c for s, c, _ in scored[1:] if s > base_score]
    if len(better) > 1:  # the improving changes together
        combo = dict(base)
        for c in better:
            combo.update(c)
        res = measure(args.target, combo, args.tune, B, args.seeds)
        s = score(res, on(args.tune, nsga2), on(args.tune, evo))
        scored.append((s, combo, res))
        print(f"  tune {json.dumps(combo):70s} below nsga2 {-s[0]:2d} cells, margin over evolution {s[1]:+.3f}",
              flush=True)
    best_score, best, _ = max(scored, key=lambda t: t[0])
    print(f"\nchosen on the tuning pairs: {json.dumps(best)}")
    held = {f"{args.target} {json.dumps(best)}": measure(args.target, best, args.report, B, args.seeds)}
    if best != base:
        held[f"{args.target} {json.dumps(base)} (start)"] = measure(args.target, base, args.report, B, args.seeds)
    held["nsga2"] = on(args.report, nsga2)
    held["evolution"] = on(args.report, evo)
    table("held-out pairs (not used for the choice)", held, args.report, B)
    first = next(iter(held.values()))
    s = score(first, on(args.report, nsga2), on(args.report, evo))
    print(f"\nheld-out: chosen parameters below nsga2 in {-s[0]} of {len(first)} cells; "
          f"mean margin over evolution {s[1]:+.3f}; load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
