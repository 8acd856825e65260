"""Kendall tau of the raw supernet estimates and of the GCN's predictions against retrained accuracy.

    python -m monas.plugins.gcn_predictor.oneshot_tau RUN_DIR [--samples 200] [--seed 0]

RUN_DIR is a finished run of ``examples/gcn_oneshot_digits.yaml`` (its ``retrain.csv``: the front's
``estimate`` = tnd_nas' supernet accuracy and ``retrained_acc``; its tnd_nas checkpoint holds the
trained supernet). A two-objective front of a small run holds few cells (2 in the reported
run), so ``--all`` (default on) also retrains every evaluated cell of ``evaluations.jsonl`` with
the example's retrain recipe (4 epochs, batch 32, lr 0.05, N=3, seed 0, test split) and reports
the tau over those too. The GCN is fitted as ``labels: supernet`` fits it (:mod:`.supernet`): the
supernet loaded from the checkpoint, ``--samples`` uniform subnets labelled with inherited-weight
validation accuracy, the predictor with the generator's default settings, then it predicts the
front. Space and data are the example's (NB201 C=8 N=1 on 16x16 digits, supernet C=8, depth 1).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from monas.datasets import load_digits
from monas.plugins.gcn_predictor.predictor import GCNPredictor
from monas.plugins.gcn_predictor.supernet import SupernetSettings, build_supernet, label_subnets, load_weights
from monas.registry import SEARCH_SPACES


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--front-only", action="store_true", help="skip retraining every evaluated cell")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="default RUN_DIR/checkpoints/tnd_nas/tnd_nas_search.pt")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    space = SEARCH_SPACES.create("nb201", C=8, N=1)
    data = load_digits(size=16)
    net = build_supernet(space, data, SupernetSettings(C=8, depth=1), seed=args.seed)
    load_weights(net, args.checkpoint or args.run_dir / "checkpoints" / "tnd_nas" / "tnd_nas_search.pt")
    archs, acc = label_subnets(net, space, data, args.samples, np.random.default_rng([args.seed, 29]))
    gcn = GCNPredictor(hidden=32, layers=3, epochs=100, seed=args.seed)
    gcn.fit([space.to_graph(a) for a in archs], acc)
    with open(args.run_dir / "retrain.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["estimate"] not in ("", "None")]
    front = [space.from_key(r["key"]) for r in rows]
    estimate = np.array([float(r["estimate"]) for r in rows])
    retrained = np.array([float(r["retrained_acc"]) for r in rows])
    pred = gcn.predict([space.to_graph(a) for a in front])
    tau_raw, tau_gcn = kendalltau(estimate, retrained)[0], kendalltau(pred, retrained)[0]
    print(f"GCN fitted to {len(archs)} supernet labels (label range {acc.min():.1f}-{acc.max():.1f}%)")
    print(f"front ({len(rows)} cells): Kendall tau vs retrained accuracy: raw supernet estimates {tau_raw:.3f}, "
          f"GCN predictions {tau_gcn:.3f}")
    if args.front_only:
        return
    from monas.objectives._build import build_network
    from monas.training import train_network

    evs = {}
    with open(args.run_dir / "evaluations.jsonl") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("state") == "complete" and "accuracy" in rec.get("values", {}):
                evs[rec["arch"]["key"]] = float(rec["values"]["accuracy"])
    keys = sorted(evs)
    retrained = []
    for key in keys:
        torch.manual_seed(0)
        net = build_network(space, space.from_key(key), None, data.input_shape, {"num_classes": data.num_classes, "N": 3})
        retrained.append(train_network(net, data, epochs=4, batch_size=32, lr=0.05, seed=0, eval_split="test")["valid_acc"])
    estimate = np.array([evs[k] for k in keys])
    pred = gcn.predict([space.to_graph(space.from_key(k)) for k in keys])
    print(f"all {len(keys)} evaluated cells: Kendall tau vs retrained accuracy: raw supernet estimates "
          f"{kendalltau(estimate, retrained)[0]:.3f}, GCN predictions {kendalltau(pred, retrained)[0]:.3f}")


if __name__ == "__main__":
    main()
