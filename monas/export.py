"""Export one member of a run: a folder that works without monas.

``export_member(run_dir, selector)`` writes into ``RUN_DIR/export/<number>`` (or ``out``)::

    genotype.json      space name, key, genotype, space parameters, build kwargs, input shape
    program.pt2        the network as a ``torch.export`` program (``torch.export.load(path).module()``),
                       batch dimension dynamic; needs torch only
    model.onnx         the same program through ``torch.onnx`` (dynamo exporter), checked with
                       ``onnx.checker``; only when the optional ``onnx`` extra is installed
    check.pt           a seeded input batch and the outputs monas's own network gives for it
    weights.pt         the ``state_dict`` when the member was trained (``monas train`` or ``retrain:``)
    training_log.jsonl its training log, with the weights
    model_card.md / model_card.json

The network is built as the search measured it: with the build kwargs, input shape and classes
recorded in the evaluation's fingerprints (or in the training folder when it was trained).
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import yaml

from monas.run_directory import RunDirectory, RunDirectoryError
from monas.selection import load_archive, select

MAX_BATCH = 4096


def onnx_available() -> bool:
    """True when ``onnx`` and ``onnxscript`` (the ``onnx`` extra) can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript"))


def _network_spec(config: Dict[str, Any], evaluation: Any, trained: Optional[Dict[str, Any]],
                  space: Any) -> Tuple[Dict[str, Any], Tuple[int, int, int]]:
    """Build kwargs (with num_classes and in_channels) and the (C, H, W) input of the member."""
    if trained:
        return dict(trained["build"]), tuple(trained["input_shape"])
    build: Dict[str, Any] = {}
    shape = None
    num_classes = None
    for raw in evaluation.fingerprint.values():
        try:
            fp = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            continue
        if not isinstance(fp, dict):
            continue
        if isinstance(fp.get("input_shape"), list) and len(fp["input_shape"]) == 3 and shape is None:
            shape = tuple(int(v) for v in fp["input_shape"])
        if fp.get("num_classes") is not None and num_classes is None:
            num_classes = int(fp["num_classes"])
        if isinstance(fp.get("build"), dict) and fp["build"] and not build:
            build = dict(fp["build"])
    if (shape is None or num_classes is None) and config.get("dataset"):
        from monas.registry import DATASETS

        data = DATASETS.create(config["dataset"]["name"], **(config["dataset"].get("params") or {}))
        shape = shape or tuple(data.input_shape)
        num_classes = num_classes if num_classes is not None else int(data.num_classes)
    if shape is None:
        size = int(getattr(space, "input_size", 32) or 32)
        shape = (int(getattr(space, "in_channels", 3) or 3), size, size)
    build.setdefault("in_channels", shape[0])
    if num_classes is not None:
        build["num_classes"] = num_classes
    return build, shape


def export_member(run_dir, selector: str = "knee", where: Sequence[str] = (), out=None,
                  onnx: Optional[bool] = None, log=None, progress: bool = False) -> Dict[str, Any]:
    """Export the member ``selector`` names (see :mod:`monas.selection`) into a folder (see the
    module docstring). ``onnx``: True requires the extra, False skips it, None writes it when
    installed. ``log`` receives one line per phase; ``progress`` shows a tqdm bar on stderr over
    the phases (build, torch.export and its reload check, ONNX when written, model card). Returns {"dir", "files": {name: path},
    "card": dict, "max_abs_diff": float (reloaded program vs monas's network on check.pt)}."""
    import torch

    from monas import __version__
    from monas.model_card import card_markdown, model_card
    from monas.registry import SEARCH_SPACES
    from monas.trainer import read_meta, trained_dir

    say = log or (lambda line: None)
    run = RunDirectory(Path(run_dir))
    if not run.config_path.is_file():
        raise RunDirectoryError(f"{run.path} is not a monas run directory (no config.yaml)")
    config = yaml.safe_load(run.config_path.read_text())
    archive = load_archive(run)
    ev = select(archive, selector, where)
    if onnx and not onnx_available():
        raise RunDirectoryError("--onnx needs the onnx extra: pip install 'monas[onnx]'")
    node = config["search_space"]
    space = SEARCH_SPACES.create(node["name"], **(node.get("params") or {}))
    meta = read_meta(trained_dir(run.path, ev.arch.key))
    trained = meta if meta and meta.get("status") == "done" and meta.get("key") == ev.arch.key else None
    build, shape = _network_spec(config, ev, trained, space)
    folder = Path(out) if out else run.path / "export" / str(ev.number)
    folder.mkdir(parents=True, exist_ok=True)
    files: Dict[str, str] = {}
    want_onnx = onnx_available() if onnx is None else bool(onnx)
    from tqdm import tqdm

    bar = tqdm(total=3 + int(want_onnx), unit="phase", desc="export: build", file=sys.stderr, dynamic_ncols=True,
               disable=not progress)

    from monas.objectives._build import build_network

    torch.manual_seed(int(config.get("seed", 0)))
    net = build_network(space, ev.arch, None, shape, build)
    if trained:
        state = torch.load(Path(trained_dir(run.path, ev.arch.key)) / "weights.pt", map_location="cpu")
        net.load_state_dict(state)
        shutil.copyfile(Path(trained_dir(run.path, ev.arch.key)) / "weights.pt", folder / "weights.pt")
        files["weights.pt"] = "the trained state_dict (load into the network monas builds from genotype.json)"
        log_path = Path(trained_dir(run.path, ev.arch.key)) / "log.jsonl"
        if log_path.is_file():
            shutil.copyfile(log_path, folder / "training_log.jsonl")
            files["training_log.jsonl"] = "one line per training epoch"
    net.eval()
    (folder / "genotype.json").write_text(json.dumps({
        "space": ev.arch.space, "key": ev.arch.key, "genotype": ev.arch.genotype,
        "space_params": node.get("params") or {}, "build": build, "input_shape": list(shape)}, indent=2, default=str))
    files["genotype.json"] = "space name, arch key, genotype, build kwargs, input shape (C, H, W)"

    bar.update(1)
    bar.set_description_str("export: torch.export")
    say(f"exporting evaluation {ev.number} ({ev.arch.key}) with torch.export")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, *shape, generator=gen)
    with torch.no_grad():
        y = net(x)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    program = torch.export.export(net, (x,), dynamic_shapes=({0: batch},))
    torch.export.save(program, folder / "program.pt2")
    files["program.pt2"] = (f"torch.export program: torch.export.load(path).module()(x), x of shape "
                            f"(batch, {', '.join(map(str, shape))}), batch 1..{MAX_BATCH}")
    torch.save({"input": x, "output": y}, folder / "check.pt")
    files["check.pt"] = "a seeded input batch and monas's outputs for it (torch.load)"
    with torch.no_grad():
        diff = float((torch.export.load(folder / "program.pt2").module()(x) - y).abs().max())

    bar.update(1)
    if want_onnx:
        bar.set_description_str("export: ONNX")
        say("exporting ONNX (torch.onnx, dynamo exporter)")
        import onnx as onnx_mod

        _quiet_onnx_export(program, x, folder / "model.onnx")
        onnx_mod.checker.check_model(onnx_mod.load(str(folder / "model.onnx")))
        files["model.onnx"] = "ONNX model (checked with onnx.checker), input 'x' of dynamic batch"
        bar.update(1)
    elif onnx is None:
        say("ONNX skipped: the onnx extra is not installed (pip install 'monas[onnx]')")

    bar.set_description_str("export: model card")
    files["model_card.md"] = "this card"
    files["model_card.json"] = "this card as JSON"
    card = model_card(config, archive.objectives, ev, archive, trained, files, __version__)
    card["export_check"] = {"max_abs_diff": diff, "batch": int(x.shape[0])}
    (folder / "model_card.json").write_text(json.dumps(card, indent=2, default=str))
    (folder / "model_card.md").write_text(card_markdown(card) + f"\nExport check: the reloaded program differs "
                                          f"from monas's network by at most {diff:.3g} on `check.pt`.\n")
    bar.update(1)
    bar.close()
    return {"dir": folder, "files": {k: folder / k for k in files}, "card": card, "max_abs_diff": diff,
            "evaluation": ev}


def _quiet_onnx_export(program: Any, x: Any, path: Path) -> None:
    """torch.onnx.export of an exported program; its chatter (warnings, progress) kept off the terminal."""
    import contextlib
    import io
    import logging
    import warnings

    import torch

    sink = io.StringIO()
    level = logging.getLogger("torch.onnx").level
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            torch.onnx.export(program, (x,), str(path), dynamo=True, external_data=False, input_names=["x"],
                              output_names=["logits"],
                              verbose=False)
    finally:
        logging.getLogger("torch.onnx").setLevel(level)
