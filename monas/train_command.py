"""``monas train``: resolve what to train (a run's member, or a space and arch key) and on what
data, then hand it to :func:`monas.trainer.train_arch`.

With a run directory the space, dataset, seed and device default to the run's config (digits
when the run had no dataset) and the weights go to ``RUN_DIR/trained/<id>/``, where ``monas
export`` finds them. Without one, ``--space`` and ``--arch`` name the architecture, and the
weights go to ``--out`` (default ``trained/<id>/``).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import yaml

from monas.config import ConfigError
from monas.run_directory import RunDirectory, RunDirectoryError


def _dataset(name: str, root, config_node: Dict[str, Any] = None):
    from monas.registry import DATASETS

    params = dict((config_node or {}).get("params") or {}) if config_node and config_node.get("name") == name else {}
    if root is not None:
        params["root"] = root
    if name.startswith("cifar") and "root" not in params:
        raise ConfigError(f"--dataset {name}: give --data-root, the folder holding the CIFAR python batches "
                          f"(nothing is downloaded)")
    return DATASETS.create(name, **params)


def run_train(args) -> int:
    """Run ``monas train`` for parsed ``args``; returns the exit status."""
    from monas.registry import SEARCH_SPACES
    from monas.trainer import train_arch, trained_dir

    config: Dict[str, Any] = {}
    extra: Dict[str, Any] = {}
    if args.run_dir is not None:
        if args.space or args.arch:
            raise ConfigError("--space/--arch train a bare arch key; with a run directory name the member instead")
        run = RunDirectory(Path(args.run_dir))
        if not run.config_path.is_file():
            raise RunDirectoryError(f"{run.path} is not a monas run directory (no config.yaml)")
        config = yaml.safe_load(run.config_path.read_text())
        from monas.selection import describe, load_archive, select

        archive = load_archive(run)
        ev = select(archive, args.member, args.where)
        node = config["search_space"]
        space = SEARCH_SPACES.create(node["name"], **(node.get("params") or {}))
        arch = ev.arch
        out = Path(args.out) if args.out else trained_dir(run.path, arch.key)
        extra = {"evaluation": ev.number}
        print(f"training {describe(ev, archive)}", file=sys.stderr)
    else:
        if not (args.space and args.arch):
            raise ConfigError("monas train needs a run directory, or --space and --arch (an arch key of the space)")
        space = SEARCH_SPACES.create(args.space)
        arch = space.from_key(args.arch)
        out = Path(args.out) if args.out else trained_dir(".", arch.key)
    dataset_node = config.get("dataset")
    name = args.dataset or (dataset_node or {}).get("name") or "digits"
    data = _dataset(name, args.data_root, dataset_node)
    seed = args.seed if args.seed is not None else int(config.get("seed", 0))
    device = args.device or config.get("device", "cpu")
    build = dict((config.get("retrain") or {}).get("build") or {})
    meta = train_arch(space, arch, data, out, recipe=args.recipe, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, seed=seed, device=device, build_kwargs=build, threads=args.threads,
                      progress=not args.quiet, fresh=args.fresh, extra_meta=extra)
    print(f"trained {arch.key} with recipe {args.recipe} ({meta['epochs']} epochs on {data.name}): accuracy "
          f"{meta['accuracy']:.2f}% on the {meta['split']} split; weights {out / 'weights.pt'}, log "
          f"{out / 'log.jsonl'}")
    return 0
