"""Retrain the architectures of a search's front from scratch and report their real accuracy.

A one-shot search judges candidates by an estimate (e.g. inherited supernet weights); this
module builds each front architecture as a stand-alone network, trains it briefly from scratch
with :func:`monas.training.train_network` (the ``train`` fidelity's recipe) and measures its
accuracy on the test split (the valid split when the dataset has no test split), so the
estimate and the real accuracy sit side by side. ``monas search`` calls it after the search
when the config has a ``retrain`` section.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO

import numpy as np
import torch

from monas.objective import MAXIMIZE
from monas.objectives._build import build_network
from monas.training import train_network

COLUMNS = ("key", "estimate", "retrained_acc", "split", "params", "latency", "params_counted_M", "train_seconds")


def _label(objectives, words, maximize: Optional[bool] = None) -> Optional[str]:
    for o in objectives:
        if any(w in o.label.lower() for w in words) and (maximize is None or (o.direction == MAXIMIZE) == maximize):
            return o.label
    return None


def _spread(n: int, top: Optional[int]) -> List[int]:
    """Indices of ``top`` points evenly spread over a front of ``n`` (both ends kept)."""
    if top is None or top >= n:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, int(top)).round().astype(int).tolist()))


def retrain_front(engine_or_archive, space=None, data=None, epochs: int = 3, batch_size: int = 64,
                  lr: float = 0.05, seed: Optional[int] = None, device: Optional[str] = None,
                  build_kwargs: Optional[Dict[str, Any]] = None, build: Optional[Dict[str, Any]] = None,
                  top: Optional[int] = None, run_dir: Optional[Path] = None,
                  out: Optional[TextIO] = sys.stdout, progress: Optional[bool] = None) -> List[Dict[str, Any]]:
    """Retrain every front architecture (or ``top`` of them, spread along the front).

    ``engine_or_archive``: a finished :class:`monas.engine.Engine` (space, data, seed, device and
    run directory default to the engine's) or a :class:`monas.archive.ParetoArchive` (then
    ``space`` and ``data`` are required). ``build_kwargs`` (alias ``build``, the config's name)
    go to ``space.build``; the stem and head follow the data. Returns one row per architecture,
    sorted by params: ``key``, ``estimate`` (the search's accuracy value), ``retrained_acc`` (%),
    ``split``, ``params`` and ``latency`` (the search's values; None without such objectives),
    ``params_counted_M`` (trainable parameters of the retrained net, millions),
    ``train_seconds``. With a run directory the rows are also written to ``retrain.csv`` and
    ``retrain.md`` there; ``out`` receives the markdown table (None: silent). ``progress``: a
    tqdm bar on stderr over every epoch of every retrained member (total: members x epochs);
    None follows the engine's progress setting (no bar with an archive).
    """
    engine = engine_or_archive if hasattr(engine_or_archive, "archive") else None
    archive = engine.archive if engine is not None else engine_or_archive
    if engine is not None:
        space = space if space is not None else engine.space
        data = data if data is not None else engine.eval_ctx.data
        seed = seed if seed is not None else engine.seed
        device = device or engine.eval_ctx.device
        if run_dir is None and engine.run_dir is not None:
            run_dir = engine.run_dir.path
    if space is None or data is None:
        raise ValueError("retrain_front needs a search space and a dataset: pass an Engine that has them, "
                         "or space=... and data=... with an archive")
    if build_kwargs is not None and build is not None:
        raise ValueError("retrain_front: give build_kwargs or build (the same thing), not both")
    kwargs = dict(build_kwargs if build_kwargs is not None else (build or {}))
    seed = 0 if seed is None else int(seed)
    device = device or "cpu"
    objectives = archive.objectives
    acc_label = _label(objectives, ("acc",), True) or _label(objectives, ("err",), False)
    params_label = _label(objectives, ("param",))
    lat_label = _label(objectives, ("lat",))
    split = "test" if data.test is not None else "valid"
    front = archive.front()
    chosen = _spread(len(front), top)
    if progress is None:
        progress = bool(engine is not None and getattr(getattr(engine, "_progress", None), "enabled", False))
    from tqdm import tqdm

    bar = tqdm(total=len(chosen) * int(epochs), unit="epoch", desc="retrain", file=sys.stderr, dynamic_ncols=True,
               disable=not progress)
    rows: List[Dict[str, Any]] = []
    for n, i in enumerate(chosen):
        ev = front[i]
        bar.set_description_str(f"retrain {n + 1}/{len(chosen)} (evaluation {ev.number})")
        torch.manual_seed(seed)
        net = build_network(space, ev.arch, None, data.input_shape, {"num_classes": data.num_classes, **kwargs})
        history = train_network(net, data, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device,
                                eval_split=split, name=ev.arch.key, progress=lambda line: bar.update(1))
        if run_dir is not None:  # kept for monas export, as monas train keeps them
            _keep_weights(run_dir, ev, net, data, kwargs, epochs, batch_size, lr, seed, split, history)
        rows.append({
            "key": ev.arch.key,
            "estimate": ev.values.get(acc_label) if acc_label else None,
            "retrained_acc": float(history["valid_acc"]),
            "split": split,
            "params": ev.values.get(params_label) if params_label else None,
            "latency": ev.values.get(lat_label) if lat_label else None,
            "params_counted_M": sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6,
            "train_seconds": float(history["seconds"]),
        })
    bar.close()
    rows.sort(key=lambda r: (r["params_counted_M"], r["key"]))
    table = markdown_table(rows, acc_label, params_label, lat_label, epochs) + "\n\n" + rank_agreement(rows)
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "retrain.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        (run_dir / "retrain.md").write_text(table + "\n")
    if out is not None:
        print(table, file=out)
        if run_dir is not None:
            print(f"retrain results: {run_dir / 'retrain.csv'} and {run_dir / 'retrain.md'}", file=out)
    return rows


def _keep_weights(run_dir, ev, net, data, kwargs, epochs, batch_size, lr, seed, split, history) -> None:
    """Save the retrained weights where ``monas export`` looks (``RUN_DIR/trained/<id>``)."""
    from monas.recipes import get_recipe
    from monas.trainer import save_trained, trained_dir

    recipe = get_recipe("quick", epochs=epochs, batch_size=batch_size, lr=lr).to_dict()
    meta = {"space": ev.arch.space, "key": ev.arch.key, "genotype": ev.arch.genotype, "recipe": recipe,
            "seed": seed, "build": {"num_classes": int(data.num_classes), **kwargs,
                                    "in_channels": int(data.input_shape[0])},
            "input_shape": list(data.input_shape), "dataset": data.name, "split": split, "evaluation": ev.number,
            "accuracy": float(history["valid_acc"]), "epochs": int(epochs), "seconds": float(history["seconds"]),
            "source": "retrain step of the search"}
    save_trained(trained_dir(run_dir, ev.arch.key), net, meta, history)


def rank_agreement(rows: List[Dict[str, Any]]) -> str:
    """One line: Kendall tau between the search's accuracy estimates and the retrained accuracies
    (how far the search's ranking of its own front can be trusted)."""
    pairs = [(r["estimate"], r["retrained_acc"]) for r in rows if r["estimate"] is not None]
    if len(pairs) < 3:
        return f"Kendall tau between estimates and retrained accuracies: not computed ({len(pairs)} architectures)"
    from scipy.stats import kendalltau

    est, real = zip(*pairs)
    tau, p = kendalltau(est, real)
    return (f"Kendall tau between the search's accuracy estimates and the retrained accuracies of its front: "
            f"{tau:+.3f} over {len(pairs)} architectures (p = {p:.2g}); "
            + ("the estimates rank the front well" if tau >= 0.6 else
               "the estimates rank the front only weakly" if tau >= 0.2 else
               "the estimates do not rank the front: treat its accuracy order as noise"))


def markdown_table(rows: List[Dict[str, Any]], acc_label: Optional[str], params_label: Optional[str],
                   lat_label: Optional[str], epochs: int) -> str:
    """The rows as a markdown table (estimate beside the retrained accuracy)."""
    def fmt(v, spec=".4g"):
        return "-" if v is None else format(v, spec)

    split = rows[0]["split"] if rows else "test"
    head = (f"| architecture | search {acc_label or 'estimate'} | retrained acc ({epochs} ep, {split}) % | "
            f"{params_label or 'params'} | {lat_label or 'latency'} | params (M, counted) |")
    lines = [head, "|" + "---|" * 6]
    for r in rows:
        lines.append(f"| `{r['key']}` | {fmt(r['estimate'], '.2f')} | {r['retrained_acc']:.2f} | "
                     f"{fmt(r['params'])} | {fmt(r['latency'])} | {r['params_counted_M']:.4f} |")
    return "\n".join(lines)
