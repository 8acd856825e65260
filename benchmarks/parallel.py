"""Parallel workers: throughput on an evaluation of fixed cost, and search quality with 8 workers.

1. Throughput. The NB201 table with ``delay_s`` (each evaluation sleeps that long, as a training
   run would, so the 2-core machine is not the limit), random search, ``--rounds`` evaluations per
   worker, for 1, 2, 4 and 8 workers, on the local SQLite study and on PostgreSQL (``--postgres
   URL``, or $MONAS_TEST_POSTGRES, or .ci/postgres.sh). Evaluations per second are counted from the
   first evaluation's start to the last one's end (worker start-up is printed apart), and set
   against 1 worker on the same storage. The in-process run (``workers: 1``) is shown for reference.
2. Search quality. The NB201 table (CIFAR-10 test accuracy vs 1080 Ti latency) at ``--budget``
   unique evaluations over ``--seeds`` seeds: median HV ratio and true-front share of evolution,
   nsga2, tnd_nas and gcn_predictor with 1 worker (in process) and with 8 local workers.

3. Faults. (a) 3 local workers on PostgreSQL, ``--fault-budget`` evaluations of 0.25 s, and
   ``--worker-kills`` kill -9 of a random worker at random moments (the search restarts it): the
   unique evaluations, the lost and the duplicated ones, and whether the log and the study hold the
   same evaluations. (b) One worker (in process), nsga2 beside evolution: the search process
   itself killed ``--search-kills`` times at random moments and resumed, against the uninterrupted
   run with the same seed.

Bars (issue 14): 8 workers reach at least 7x the evaluations per second of 1 worker (local and
PostgreSQL); with 8 workers each generator's median HV ratio is within 0.003 of its 1-worker value;
the faults leave exactly the budget of unique evaluations, none lost or duplicated, log = study; the
resumed 1-worker run has the uninterrupted run's evaluations in the same order.

    python benchmarks/parallel.py                         # every part
    python benchmarks/parallel.py --part throughput --delay 1 --rounds 20
    python benchmarks/parallel.py --part quality --seeds 10 --budget 300
    python benchmarks/parallel.py --part faults --worker-kills 20 --search-kills 30
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from monas import config as config_mod
from monas.indicators import front_share, hypervolume_ratio
from monas.local_workers import LocalWorkers
from monas.registry import SEARCH_SPACES
from monas.run_directory import RunDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nb201_search import true_front  # noqa: E402
from bar import finish  # noqa: E402  (benchmarks/ is on sys.path when a benchmark runs)

GENERATORS = ["evolution", "nsga2", "tnd_nas", "gcn_predictor"]


def _raw(run_dir: Path, generator: str, budget: int, seed: int, workers: int, delay_s: float = 0.0,
         storage: Optional[str] = None, study: Optional[str] = None, cost: str = "lat_ms_1080ti_1") -> dict:
    raw = {"run_dir": str(run_dir), "seed": seed, "search_space": {"name": "nb201"},
           "objectives": [{"name": "tabular", "label": "accuracy",
                           "params": {"column": "c10_test_acc_200ep", "delay_s": delay_s}},
                          {"name": "tabular", "label": "cost", "params": {"column": cost, "direction": "minimize"}}],
           "generators": [{"name": generator}], "budget": {"evaluations": budget}, "workers": workers,
           "heartbeat_s": 5.0, "progress": False}
    if storage:
        raw["storage"], raw["study_name"] = storage, study
    return config_mod.validate(raw)


def _postgres_url(arg: Optional[str]) -> Optional[str]:
    if arg:
        return arg
    if os.environ.get("MONAS_TEST_POSTGRES"):
        return os.environ["MONAS_TEST_POSTGRES"]
    script = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"
    try:
        return subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True,
                              timeout=300).stdout.strip().splitlines()[-1]
    except (subprocess.SubprocessError, IndexError, OSError):
        return None


def throughput_run(tmp: Path, n: int, delay: float, rounds: int, storage: Optional[str], tag: str) -> Dict[str, float]:
    """One search of ``n * rounds`` evaluations with ``n`` workers; evaluations per second."""
    run_dir = tmp / f"{tag}-{n}"
    study = f"{run_dir.name}-{os.getpid()}-{int(time.time())}"
    budget = n * rounds
    in_process = n == 0
    workers = 1 if in_process else (n if n >= 2 else 0)
    cfg = _raw(run_dir, "random", max(budget, rounds), 0, workers, delay, storage, study)
    engine = config_mod.build_engine(cfg)
    extra = None
    t0 = time.time()
    if n == 1:  # one worker through the same queue (workers: 0 plus one `monas worker`)
        engine.start()
        extra = LocalWorkers(1, storage or engine.run_dir.default_storage(), engine.study_name, ["cpu"],
                             run_dir / "workers")
        extra.start()
    try:
        engine.optimize()
    finally:
        if extra is not None:
            extra.stop()
    wall = time.time() - t0
    log = RunDirectory(run_dir).read_evaluations()
    first = min(e.started_at for e in log)
    last = max(e.started_at + e.duration_s for e in log)
    return {"n": len(log), "eps": len(log) / (last - first), "wall": wall, "startup": first - t0}


def part_throughput(args) -> List[str]:
    failures = []
    url = _postgres_url(args.postgres)
    modes = [("local (SQLite)", None)] + ([("PostgreSQL", url)] if url else [])
    if not url:
        failures.append("no PostgreSQL server (give --postgres URL): its throughput bar is unmeasured")
    print(f"\n1. throughput: evaluations of {args.delay:g} s (table lookup + sleep), random search, "
          f"{args.rounds} evaluations per worker; load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'storage':16s} {'workers':>7s} {'evals':>6s} {'evals/s':>8s} {'speedup':>8s} {'start-up s':>10s} {'wall s':>7s}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ref = throughput_run(tmp, 0, args.delay, args.rounds, None, "inprocess")
        print(f"{'in process':16s} {1:7d} {ref['n']:6d} {ref['eps']:8.2f} {'':>8s} {ref['startup']:10.1f} {ref['wall']:7.1f}")
        for label, storage in modes:
            base = None
            for n in (1, 2, 4, 8):
                r = throughput_run(tmp, n, args.delay, args.rounds, storage, label.split()[0].lower())
                base = base or r["eps"]
                speed = r["eps"] / base
                print(f"{label:16s} {n:7d} {r['n']:6d} {r['eps']:8.2f} {speed:7.2f}x {r['startup']:10.1f} {r['wall']:7.1f}")
                if n == 8 and speed < 7.0:
                    failures.append(f"{label}: 8 workers reach {speed:.2f}x the evaluations per second of 1 (bar 7x)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return failures


def part_quality(args) -> List[str]:
    failures = []
    space = SEARCH_SPACES.create("nb201")
    true_F, true_keys = true_front(space, "c10_test_acc_200ep", "lat_ms_1080ti_1")
    print(f"\n2. search quality: NB201 CIFAR-10 test accuracy vs lat_ms_1080ti_1, {args.budget} unique evaluations, "
          f"{args.seeds} seeds; load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'generator':16s} {'HV 1 worker':>12s} {'HV 8 workers':>13s} {'diff':>8s} {'front 1':>8s} {'front 8':>8s} "
          f"{'s/run 1':>8s} {'s/run 8':>8s}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for gen in args.generators:
            cols = {}
            for workers in (1, 8):
                hv, share, secs = [], [], []
                for seed in range(args.seeds):
                    run_dir = tmp / f"{gen}-{workers}-{seed}"
                    cfg = _raw(run_dir, gen, args.budget, seed, workers)
                    t = time.time()
                    archive = config_mod.build_engine(cfg).optimize()
                    secs.append(time.time() - t)
                    front = archive.front()
                    F = np.array([[-e.values["accuracy"], e.values["cost"]] for e in front])
                    hv.append(hypervolume_ratio(F, true_F))
                    share.append(front_share({e.arch.key for e in front}, true_keys))
                cols[workers] = (float(np.median(hv)), float(np.median(share)), float(np.mean(secs)))
            diff = cols[8][0] - cols[1][0]
            print(f"{gen:16s} {cols[1][0]:12.4f} {cols[8][0]:13.4f} {diff:+8.4f} {cols[1][1]:8.1%} {cols[8][1]:8.1%} "
                  f"{cols[1][2]:8.1f} {cols[8][2]:8.1f}", flush=True)
            if abs(diff) > 0.003:
                failures.append(f"{gen}: median HV ratio with 8 workers differs by {diff:+.4f} from 1 worker (bar 0.003)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return failures


def part_faults(args) -> List[str]:
    import json
    import random
    import signal
    import uuid

    import optuna

    from monas.evaluation_queue import stale_trials, told_evaluations
    from monas.testing.faults import optimize_killing_workers

    failures = []
    print(f"\n3. faults; load average {os.getloadavg()[0]:.2f} at start")
    url = _postgres_url(args.postgres)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if url is None:
            failures.append("no PostgreSQL server: the worker-kill fault is unmeasured")
        else:
            study = f"faults-{uuid.uuid4().hex[:8]}"
            cfg = _raw(tmp / "kills", "evolution", args.fault_budget, 0, 3, 0.25, url, study)
            cfg["heartbeat_s"] = 1.0
            engine = config_mod.build_engine(cfg)
            t0 = time.time()
            kills = optimize_killing_workers(engine, args.worker_kills, (1.0, 4.0), seed=0)
            log = RunDirectory(tmp / "kills").read_evaluations()
            st = optuna.load_study(study_name=study, storage=url)
            told = {number: ev.arch.key for number, (_, ev) in told_evaluations(st).items()}
            stale = len(stale_trials(st))
            numbers = [e.number for e in log]
            keys = [e.arch.key for e in log]
            lost = len(set(range(args.fault_budget)) - set(numbers))
            dup = (len(numbers) - len(set(numbers))) + (len(keys) - len(set(keys)))
            same = told == {e.number: e.arch.key for e in log}
            print(f"  3 workers on PostgreSQL, {len(kills)} kill -9 in {time.time() - t0:.0f} s: {len(set(keys))} unique "
                  f"evaluations of {args.fault_budget}, {lost} lost, {dup} duplicated, {stale} trials failed as stale "
                  f"and evaluated again, log = study: {same}")
            if len(set(keys)) != args.fault_budget or lost or dup or not same:
                failures.append("worker kills lost, duplicated or mismatched evaluations")

        def config_file(run_dir: Path) -> Path:
            raw = {"run_dir": str(run_dir), "seed": 3, "search_space": {"name": "nb201"},
                   "objectives": [{"name": "tabular", "label": "accuracy",
                                   "params": {"column": "c10_test_acc_200ep", "delay_s": 0.01}},
                                  {"name": "tabular", "label": "latency",
                                   "params": {"column": "lat_ms_1080ti_1", "direction": "minimize"}}],
                   "generators": [{"name": "nsga2", "params": {"pop_size": 20}}, {"name": "evolution"}],
                   "budget": {"evaluations": args.fault_budget}, "progress": False}
            path = run_dir.parent / f"{run_dir.name}.yaml"
            path.write_text(json.dumps(raw))
            return path

        cli = [sys.executable, "-m", "monas", "search"]
        subprocess.run(cli + [str(config_file(tmp / "ref")), "--quiet"], check=True, capture_output=True)
        path, log_path = config_file(tmp / "killed"), tmp / "killed" / "evaluations.jsonl"
        rng, kills = random.Random(1), 0
        while True:
            before = log_path.read_text().count("\n") if log_path.exists() else 0
            resume = ["--resume"] if log_path.exists() else []
            p = subprocess.Popen(cli + [str(path), "--quiet"] + resume, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if kills < args.search_kills:
                target = before + rng.randint(1, max(2, args.fault_budget // max(1, args.search_kills)))
                while p.poll() is None:
                    if log_path.exists() and log_path.read_text().count("\n") >= target:
                        time.sleep(rng.random() * 0.03)
                        p.send_signal(signal.SIGKILL)
                        kills += 1
                        break
                    time.sleep(0.003)
            if p.wait() == 0:
                break
        want = [e.arch.key for e in sorted(RunDirectory(tmp / "ref").read_evaluations(), key=lambda e: e.number)]
        got = [e.arch.key for e in sorted(RunDirectory(tmp / "killed").read_evaluations(), key=lambda e: e.number)]
        first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), None)
        print(f"  1 worker, search process killed {kills} times and resumed: {len(got)} evaluations, identical to the "
              f"uninterrupted run (same keys, same order): {got == want}"
              + ("" if first is None else f"; first difference at evaluation {first}"))
        if got != want:
            failures.append("the resumed 1-worker run differs from the uninterrupted one")
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("throughput", "quality", "faults", "all"), default="all")
    ap.add_argument("--delay", type=float, default=1.0, help="seconds per evaluation in the throughput part")
    ap.add_argument("--rounds", type=int, default=20, help="evaluations per worker in the throughput part")
    ap.add_argument("--postgres", default=None, help="PostgreSQL URL (default $MONAS_TEST_POSTGRES or .ci/postgres.sh)")
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--generators", nargs="+", default=GENERATORS)
    ap.add_argument("--fault-budget", type=int, default=300)
    ap.add_argument("--worker-kills", type=int, default=20)
    ap.add_argument("--search-kills", type=int, default=30)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    failures = []
    if args.part in ("throughput", "all"):
        failures += part_throughput(args)
    if args.part in ("quality", "all"):
        failures += part_quality(args)
    if args.part in ("faults", "all"):
        failures += part_faults(args)
    return finish("bar: 8 workers >= 7x the evaluations per second of 1 worker (local and PostgreSQL); with 8 workers "
                  "each generator's median HV ratio within 0.003 of 1 worker's; worker kills: exactly the budget, 0 lost, "
                  "0 duplicated, log = study; search kills: the uninterrupted run's evaluations in the same order", failures)


if __name__ == "__main__":
    sys.exit(main())
