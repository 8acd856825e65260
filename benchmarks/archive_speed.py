"""ParetoArchive speed at 1e3, 1e4 and 1e5 stored evaluations.

For each data set one archive is filled to 100,000 evaluations; at each size N in SIZES it
reports:

- add:   mean microseconds per ``add`` over the last 1,000 adds before N (so the archive holds
         N-1000 .. N evaluations while they are timed);
- front: mean microseconds per ``front()`` call, each made right after one of those adds (the
         engine's pattern: add, then look at the front);
- hv:    median milliseconds of ``hypervolume()`` (5 calls) at N;
- knee:  milliseconds of ``knee()`` at N;
- ranked: milliseconds of one full constrained sort ``ranked()`` at N (cold cache);
- front size at N.

Data sets (about 20% of points infeasible and 2% failed in each, as in a constrained search):
``uniform2`` / ``uniform3`` i.i.d. uniform in 2 and 3 objectives; ``anticorr2`` points near the
line x + y = 1 (a front of hundreds of points); ``nb201`` real NAS-Bench-201 rows drawn with
replacement (accuracy maximised, params minimised, CPU latency <= its median as the constraint,
so values repeat and correlate as in a real search). ``onfront2`` (stress, reported without a
bar, front() timed over the last 100 adds only): every point on the line x + y = 1, so the front
holds every feasible point and each add and front() costs O(stored evaluations).

Bar (exit status 1 when any fails), at every size of every data set but ``onfront2``:
add < 100 us, front() < 100 us, hypervolume() < 10 ms, knee() < 500 ms, and ranked() (a full
sort, not on the engine's per-evaluation path) < 2 s. The run also checks each incremental
front against pymoo's non-dominated sorting of every feasible point (all data sets).
Run: ``python benchmarks/archive_speed.py`` (about 30 s on one core).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import gzip  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib import resources  # noqa: E402

import numpy as np  # noqa: E402
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting  # noqa: E402

from monas.arch import Arch  # noqa: E402
from monas.archive import ParetoArchive  # noqa: E402
from monas.context import ObjectiveSpec  # noqa: E402
from monas.evaluation import EvalState, Evaluation  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
WINDOW = 1_000
BAR_ADD_US = 100.0
BAR_FRONT_US = 100.0
BAR_HV_MS = 10.0
BAR_KNEE_MS = 500.0
BAR_RANKED_MS = 2000.0
STRESS = ("onfront2",)


def _dataset(name: str, n: int, rng: np.random.Generator):
    """(objective specs, values (n, m) natural units, violation (n,), failed mask (n,))."""
    if name in ("uniform2", "uniform3"):
        m = int(name[-1])
        specs = [ObjectiveSpec(f"f{j}", "minimize") for j in range(m)]
        X = rng.random((n, m))
    elif name == "onfront2":
        specs = [ObjectiveSpec("f0", "minimize"), ObjectiveSpec("f1", "minimize")]
        t = rng.random(n)
        X = np.stack([t, 1.0 - t], axis=1)
    elif name == "anticorr2":
        specs = [ObjectiveSpec("f0", "minimize"), ObjectiveSpec("f1", "minimize")]
        t = rng.random(n)
        X = np.stack([t, 1.0 - t + 0.02 * rng.standard_normal(n)], axis=1)
    elif name == "nb201":
        specs = [ObjectiveSpec("accuracy", "maximize"), ObjectiveSpec("params", "minimize")]
        path = resources.files("monas") / "data" / "nb201_cifar10.csv.gz"
        with gzip.open(path, "rt") as fh:
            rows = [(float(r["c10_test_acc_200ep"]), float(r["c10_params_M"]), float(r["lat_ms_gold_6226"]))
                    for r in csv.DictReader(fh)]
        T = np.array(rows)[rng.integers(0, len(rows), n)]
        lat = T[:, 2]
        return specs, T[:, :2], lat - np.median(lat), rng.random(n) < 0.02
    else:
        raise ValueError(f"data set {name!r}; accepted: uniform2, uniform3, anticorr2, nb201, onfront2")
    violation = np.where(rng.random(n) < 0.2, rng.random(n), 0.0)
    return specs, X, violation, rng.random(n) < 0.02


def _evaluations(specs, X, violation, failed):
    labels = [s.label for s in specs]
    out = []
    for i in range(len(X)):
        state = EvalState.FAILED if failed[i] else EvalState.COMPLETE
        values = {} if failed[i] else {k: float(v) for k, v in zip(labels, X[i])}
        out.append(Evaluation(number=i, arch=Arch("bench", str(i), i), values=values,
                              violations={"c": float(violation[i])}, state=state,
                              generator=("a", "b", "c")[i % 3]))
    return out


def _check_front(archive: ParetoArchive) -> bool:
    """The incremental front equals pymoo's first front of all feasible points, less duplicates."""
    feas = np.flatnonzero(archive.feasible_mask())
    F = archive.F()[feas]
    first = F[NonDominatedSorting().do(F, only_non_dominated_front=True)]
    expected = {tuple(r) for r in first}
    got = [tuple(r) for r in archive.front_F()]
    return len(got) == len(set(got)) and set(got) == expected


def run(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    specs, X, violation, failed = _dataset(name, max(SIZES), rng)
    evals = _evaluations(specs, X, violation, failed)
    archive = ParetoArchive(specs)
    rows = []
    start = 0
    for size in SIZES:
        for e in evals[start: size - WINDOW]:
            archive.add(e)
        t_add = t_front = 0.0
        front_window = 100 if name in STRESS else WINDOW
        for j, e in enumerate(evals[size - WINDOW: size]):
            t0 = time.perf_counter()
            archive.add(e)
            t1 = time.perf_counter()
            t_add += t1 - t0
            if j >= WINDOW - front_window:
                archive.front()
                t_front += time.perf_counter() - t1
        start = size
        hv = []
        for _ in range(5):
            t0 = time.perf_counter()
            archive.hypervolume()
            hv.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        archive.knee()
        t_knee = time.perf_counter() - t0
        t0 = time.perf_counter()
        archive.ranked()
        t_ranked = time.perf_counter() - t0
        rows.append(dict(data=name, n=len(archive), add_us=1e6 * t_add / WINDOW,
                         front_us=1e6 * t_front / front_window, hv_ms=1e3 * float(np.median(hv)),
                         knee_ms=1e3 * t_knee, ranked_ms=1e3 * t_ranked, front=len(archive.front())))
    return rows, _check_front(archive)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["uniform2", "uniform3", "anticorr2", "nb201", "onfront2"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    head = f"{'data':<10} {'stored':>7} {'add us':>8} {'front us':>9} {'hv ms':>7} {'knee ms':>8} {'ranked ms':>10} {'front':>6}"
    print(head)
    print("-" * len(head))
    failures = []
    for name in args.data:
        rows, front_ok = run(name, args.seed)
        for r in rows:
            print(f"{r['data']:<10} {r['n']:>7} {r['add_us']:>8.1f} {r['front_us']:>9.1f} {r['hv_ms']:>7.2f} "
                  f"{r['knee_ms']:>8.2f} {r['ranked_ms']:>10.1f} {r['front']:>6}")
            for key, bar, unit in (("add_us", BAR_ADD_US, "us"), ("front_us", BAR_FRONT_US, "us"),
                                   ("hv_ms", BAR_HV_MS, "ms"), ("knee_ms", BAR_KNEE_MS, "ms"),
                                   ("ranked_ms", BAR_RANKED_MS, "ms")):
                if name not in STRESS and r[key] >= bar:
                    failures.append(f"{name} at {r['n']}: {key} {r[key]:.1f} >= {bar:g} {unit}")
        if not front_ok:
            failures.append(f"{name}: incremental front differs from pymoo's non-dominated sorting")
    print(f"\nbar (all but {', '.join(STRESS)}): add < {BAR_ADD_US:g} us, front() < {BAR_FRONT_US:g} us, "
          f"hypervolume() < {BAR_HV_MS:g} ms, knee() < {BAR_KNEE_MS:g} ms, ranked() < {BAR_RANKED_MS:g} ms "
          "at every size; every front checked against pymoo NDS")
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else f"{len(failures)} bar(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
