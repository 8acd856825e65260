"""Train one architecture from scratch with a named recipe, resumable after kill -9.

Everything lives in one folder (``RUN_DIR/trained/<id>/`` for a run's member, see
:func:`trained_dir`; any folder for a bare arch key)::

    meta.json        space, key, genotype, build kwargs, input shape, recipe, seed, dataset, status
                     and, when done, the accuracy on the evaluation split
    checkpoint.pt    model, optimiser, scheduler and RNG state after the last finished epoch
                     (replaced atomically; a killed run continues from it and ends with the
                     weights an uninterrupted run would have had, on CPU)
    log.jsonl        one line per finished epoch: loss, train accuracy, lr, seconds
    weights.pt       the final ``state_dict`` (what ``monas export`` ships)

The network is built as the search's objectives build it (:func:`monas.objectives._build.build_network`:
stem and head follow the data), and torch's threads are pinned (``threads``, default 1) for the
whole run, as in :func:`monas.training.train_network`.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from monas.hardware import pinned_threads
from monas.objectives._build import build_network
from monas.run_directory import RunDirectoryError
from monas.recipes import Recipe, cutout, get_recipe, scaled_cutout
from monas.training import NonFiniteLossError, evaluate_accuracy


class TrainingFolderError(RunDirectoryError):
    """The output folder holds training of another architecture or recipe."""


def trained_dir(run_dir, key: str) -> Path:
    """Where a run keeps the trained weights of arch ``key``: ``RUN_DIR/trained/<12 hex of sha1(key)>``."""
    return Path(run_dir) / "trained" / hashlib.sha1(key.encode()).hexdigest()[:12]


def read_meta(folder) -> Optional[Dict[str, Any]]:
    """``meta.json`` of a training folder, or None when there is none."""
    path = Path(folder) / "meta.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _torch_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def build_kwargs_for(space: Any, recipe: Recipe, build_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``build_kwargs`` plus ``auxiliary=True`` when the recipe weights an auxiliary head and the
    space's ``build`` takes that argument."""
    kwargs = dict(build_kwargs or {})
    if recipe.auxiliary_weight > 0 and "auxiliary" not in kwargs:
        try:
            if "auxiliary" in inspect.signature(space.build).parameters:
                kwargs["auxiliary"] = True
        except (TypeError, ValueError):
            pass
    return kwargs


def save_trained(folder, net: nn.Module, meta: Dict[str, Any], history: Optional[Dict[str, Any]] = None) -> Path:
    """Write ``weights.pt`` and ``meta.json`` (status done) into ``folder``; returns the weights path.
    Used by the trainer and by the ``retrain:`` step of a search."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    _atomic_write(folder / "weights.pt", _torch_bytes(state))
    if history is not None and not (folder / "log.jsonl").exists():
        lines = [json.dumps({"epoch": i + 1, "train_loss": loss, "train_acc": acc})
                 for i, (loss, acc) in enumerate(zip(history.get("train_loss", []), history.get("train_acc", [])))]
        _atomic_write(folder / "log.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")
    _atomic_write(folder / "meta.json", json.dumps({**meta, "status": "done"}, indent=2, default=str).encode())
    return folder / "weights.pt"


def train_arch(space: Any, arch: Any, data: Any, out_dir, recipe: str = "quick", epochs: Optional[int] = None,
               batch_size: Optional[int] = None, lr: Optional[float] = None, seed: int = 0, device: str = "cpu",
               build_kwargs: Optional[Dict[str, Any]] = None, threads: Optional[int] = 1,
               progress: bool = True, fresh: bool = False, extra_meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Train ``arch`` of ``space`` from scratch on ``data`` (a DataBundle) with the named recipe
    into ``out_dir`` (see the module docstring), continuing from ``checkpoint.pt`` when one of
    the same arch, recipe, seed and build is there (``fresh=True`` starts over).

    Returns the final ``meta`` dict: it holds ``accuracy`` (% on the test split, the valid split
    when the data has none), ``split``, ``epochs``, ``seconds``, ``weights`` (path). A folder that
    already finished the same training is returned as it is, without training. Raises
    TrainingFolderError when ``out_dir`` holds another training, NonFiniteLossError on a NaN loss.
    """
    rec = get_recipe(recipe, epochs, batch_size, lr)
    folder = Path(out_dir)
    kwargs = build_kwargs_for(space, rec, build_kwargs)
    split = "test" if data.test is not None else "valid"
    identity = {"space": arch.space, "key": arch.key, "recipe": rec.to_dict(), "seed": int(seed),
                "build": {"num_classes": int(data.num_classes), **kwargs, "in_channels": int(data.input_shape[0])},
                "input_shape": list(data.input_shape), "dataset": data.name}
    meta = {**identity, "genotype": arch.genotype, "split": split, **(extra_meta or {})}
    old = read_meta(folder)
    if old is not None and not fresh:
        if any(old.get(k) != json.loads(json.dumps(v, default=str)) for k, v in identity.items()):
            raise TrainingFolderError(f"{folder} holds training of {old.get('key')} with recipe "
                                      f"{old.get('recipe', {}).get('name')} (seed {old.get('seed')}); pass --fresh "
                                      f"to start over there, or another --out")
        if old.get("status") == "done" and (folder / "weights.pt").is_file():
            return old
    if fresh:
        for name in ("checkpoint.pt", "log.jsonl", "weights.pt", "meta.json"):
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / "meta.json", json.dumps({**meta, "status": "running"}, indent=2, default=str).encode())
    with pinned_threads(threads):
        torch.manual_seed(int(seed))
        net = build_network(space, arch, None, data.input_shape, {"num_classes": data.num_classes, **kwargs})
        result = _run(net, data, rec, folder, int(seed), device, split, progress, arch.key)
    meta.update(result)
    save_trained(folder, net, meta)
    (folder / "checkpoint.pt").unlink(missing_ok=True)
    return {**meta, "status": "done"}


def _run(net: nn.Module, data: Any, rec: Recipe, folder: Path, seed: int, device: str, split: str,
         progress: bool, name: str) -> Dict[str, Any]:
    torch.manual_seed(seed)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=rec.lr, momentum=rec.momentum,
                                nesterov=rec.nesterov and rec.momentum > 0, weight_decay=rec.weight_decay)
    steps_per_epoch = math.ceil(len(data.train) / rec.batch_size)
    t_max = rec.epochs * steps_per_epoch if rec.schedule == "step" else rec.epochs
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=0.0)
    aux = rec.auxiliary_weight > 0 and getattr(net, "auxiliary_head", None) is not None
    drop = rec.drop_path > 0 and hasattr(net, "drop_path_prob")
    cut = scaled_cutout(rec, int(data.input_shape[-1]))
    log_lines = []
    start_epoch, seconds = 0, 0.0
    ckpt_path = folder / "checkpoint.pt"
    if ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"])
        start_epoch, seconds, log_lines = int(ckpt["epoch"]), float(ckpt["seconds"]), list(ckpt["log"])
    notes = {"auxiliary_head": aux, "drop_path": drop, "cutout_pixels": cut}
    from tqdm import tqdm

    bar = tqdm(total=rec.epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch, unit="step",
               desc=f"train ({rec.name})", file=sys.stderr, dynamic_ncols=True, disable=not progress)
    for epoch in range(start_epoch, rec.epochs):
        began = time.perf_counter()
        net.train()
        if drop:
            net.drop_path_prob = rec.drop_path * epoch / rec.epochs
        loader = data.loader("train", batch_size=rec.batch_size, shuffle=True, seed=seed * 1000 + epoch)
        cut_gen = torch.Generator().manual_seed(seed * 1000 + epoch + 1)
        loss_sum = correct = seen = 0.0
        for x, y in loader:
            if cut:
                x = cutout(x, cut, cut_gen)
            x, y = x.to(device), y.to(device)
            if aux:
                logits, logits_aux = net.forward_with_aux(x)
                loss = F.cross_entropy(logits, y)
                if logits_aux is not None:
                    loss = loss + rec.auxiliary_weight * F.cross_entropy(logits_aux, y)
            else:
                logits = net(x)
                loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"{name}: loss became {float(loss.detach())} in epoch {epoch + 1} of "
                                         f"{rec.epochs}; lower --lr or check the network")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if rec.grad_clip is not None:
                nn.utils.clip_grad_norm_(net.parameters(), rec.grad_clip)
            optimizer.step()
            if rec.schedule == "step":
                scheduler.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += float((logits.argmax(dim=1) == y).sum())
            seen += len(y)
            bar.update(1)
        lr_used = optimizer.param_groups[0]["lr"]
        if rec.schedule == "epoch":
            scheduler.step()
        seconds += time.perf_counter() - began
        log_lines.append(json.dumps({"epoch": epoch + 1, "train_loss": loss_sum / seen,
                                     "train_acc": 100.0 * correct / seen, "lr": lr_used,
                                     "drop_path": getattr(net, "drop_path_prob", 0.0) if drop else 0.0,
                                     "seconds": seconds}))
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{100.0 * correct / seen:.1f}%", refresh=False)
        _atomic_write(folder / "log.jsonl", ("\n".join(log_lines) + "\n").encode())
        _atomic_write(ckpt_path, _torch_bytes({
            "epoch": epoch + 1, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(), "seconds": seconds,
            "log": log_lines}))
    bar.close()
    accuracy = evaluate_accuracy(net, data.loader(split, batch_size=256, shuffle=False), device)
    return {"accuracy": accuracy, "epochs": rec.epochs, "seconds": seconds, "network": notes,
            "weights": str(folder / "weights.pt")}
