"""CPU latency benchmark on NB201: repeatability, agreement with the table, and the latency LUT.

    python benchmarks/latency.py --n-archs 20 --rounds 5 --threads 1 --batch 1

1. Repeatability: the same ``--n-archs`` architectures (drawn with ``--seed`` from the packaged
   NB201 table; C=16, N=5, 3x32x32 input, 10 classes) are measured by the ``latency`` objective
   ``--rounds`` times, rounds interleaved in a fresh shuffled order each time so a slow spell
   of the machine spreads over all archs. Per arch: the median of the round medians and the
   coefficient of variation (std / mean) across rounds. Bar: the median CV over archs must be
   <= ``--cv-bar`` % (5), else the script exits with status 1.
2. Agreement: Spearman correlation of the measured latency with the table's
   ``lat_ms_gold_6226`` (Xeon Gold 6226, as published by HELP) over those archs.
3. LUT: a per-op table profiled here (``monas.profiling.profile_ops``) against direct
   measurement of ``--lut-archs`` archs (``lut_vs_measured``), Spearman correlation.

The output states the 1-minute load average and how much of the timed wall time the timing
thread actually ran: on a machine shared with other jobs both explain a failed bar. A core
to itself helps, e.g. ``chrt -f 10 taskset -c 1 python benchmarks/latency.py`` where
permitted; ``--clock thread`` times the thread's CPU time instead of the wall clock.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time
from importlib import resources

import numpy as np
import torch
from scipy.stats import spearmanr

from monas.context import EvaluationContext
from monas.hardware import hardware_fingerprint
from monas.objectives.latency import LatencyObjective
from monas.objectives.latency_lut import lut_vs_measured
from monas.profiling import profile_ops, save_table
from monas.search_spaces.nb201 import NB201Space


def read_table():
    """Rows of the packaged NB201 CIFAR-10 table as dicts."""
    with resources.files("monas").joinpath("data/nb201_cifar10.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt", newline="") as fh:
            return list(csv.DictReader(fh))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="CPU latency repeatability and LUT benchmark on NB201")
    p.add_argument("--n-archs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--lut-archs", type=int, default=50)
    p.add_argument("--lut-rounds", type=int, default=3)
    p.add_argument("--cv-bar", type=float, default=5.0, help="max median CV across rounds, percent")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clock", default="wall", choices=("wall", "thread"),
                   help="CPU clock: wall (perf_counter) or thread (on-CPU time of the single timing thread)")
    p.add_argument("--save-lut", default=None, help="also write the profiled table to this JSON path")
    p.add_argument("--skip-lut", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    space = NB201Space(C=16, N=5, num_classes=10, input_size=32)
    ctx = EvaluationContext(space=space, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    rows = read_table()
    picked = [rows[i] for i in rng.choice(len(rows), size=args.n_archs, replace=False)]
    archs = [space.from_key(r["arch_str"]) for r in picked]
    objective = LatencyObjective(device="cpu", batch_size=args.batch, input_shape=(3, 32, 32),
                                 warmup=args.warmup, repeats=args.repeats, threads=args.threads, clock=args.clock)
    fp = hardware_fingerprint("cpu", args.threads, "float32", args.batch, (3, 32, 32))
    print(f"device: {fp['device_name']} | torch {fp['torch']} | threads {args.threads} | batch {args.batch} "
          f"| clock {args.clock}")
    print(f"{args.n_archs} NB201 archs (C=16, N=5, 3x32x32) x {args.rounds} interleaved rounds, "
          f"{args.warmup} warm-up + {args.repeats} timed passes each")

    load_before = os.getloadavg()[0]
    medians = np.zeros((args.n_archs, args.rounds))
    on_cpu = []
    start = time.perf_counter()
    for r in range(args.rounds):
        for i in rng.permutation(args.n_archs):
            m = objective.measure(archs[i], ctx)
            medians[i, r] = m.value
            if m.details.get("on_cpu_percent") is not None:
                on_cpu.append(m.details["on_cpu_percent"])
    elapsed = time.perf_counter() - start
    centre = np.median(medians, axis=1)
    cv = 100.0 * medians.std(axis=1) / medians.mean(axis=1)
    gold = np.array([float(r["lat_ms_gold_6226"]) for r in picked])

    print(f"\n{'#':>3} {'arch_index':>10} {'median ms':>10} {'CV %':>6} {'gold6226 ms':>11}  arch")
    for i in np.argsort(centre):
        print(f"{i:>3} {picked[i]['arch_index']:>10} {centre[i]:>10.3f} {cv[i]:>6.2f} {gold[i]:>11.3f}  "
              f"{archs[i].key}")
    median_cv = float(np.median(cv))
    rho_gold, p_gold = spearmanr(centre, gold)
    ok = median_cv <= args.cv_bar
    print(f"\nmeasurement time {elapsed:.1f} s; 1-min load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)" + (
        f"; timing thread on a CPU {np.median(on_cpu):.0f} % of the wall time (median; < 100 = contended)"
        if on_cpu else ""))
    print(f"median CV across rounds: {median_cv:.2f} % (bar: <= {args.cv_bar:.1f} %) -> {'PASS' if ok else 'FAIL'}"
          f"; max CV {cv.max():.2f} %")
    print(f"Spearman(measured, lat_ms_gold_6226) over {args.n_archs} archs: {rho_gold:.3f} (p={p_gold:.2g})")

    if not args.skip_lut:
        t0 = time.perf_counter()
        table = profile_ops(space, device="cpu", batch_size=args.batch, input_shape=(3, 32, 32), num_classes=10,
                            warmup=5, repeats=20, rounds=args.lut_rounds, threads=args.threads, seed=args.seed,
                            clock=args.clock)
        if args.save_lut:
            save_table(table, args.save_lut)
        t1 = time.perf_counter()
        result = lut_vs_measured(space, table, n_archs=args.lut_archs, seed=args.seed + 1)
        print(f"latency LUT: base {table['base_ms']:.3f} ms, profiled in {t1 - t0:.1f} s; "
              f"per-op ms (mean over edges): " + ", ".join(
                  f"{op} {np.mean([row[k] for row in table['table_ms']]):.3f}"
                  for k, op in enumerate(table["options"][0])))
        print(f"Spearman(latency_lut, measured) over {args.lut_archs} archs: {result['spearman']:.3f} "
              f"(p={result['pvalue']:.2g}; {time.perf_counter() - t1:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
