"""The ``monas`` command line: search, validate, list, report, profile.

Errors are one line on stderr (``monas: error: ...``) with exit status 2; an interrupted search
says how to resume it.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from monas import config as config_mod
from monas.registry import DATASETS, GENERATORS, OBJECTIVES, SEARCH_SPACES, RegistryError
from monas.run_directory import RunDirectory, RunDirectoryError
from monas.search_space import ArchError


def _summarise(engine, out) -> None:
    from monas.report import front_table, write_report

    archive = engine.archive
    print(f"stopped: {engine.stop_reason}; {len(archive)} unique evaluations, "
          f"{engine.n_duplicates} duplicates answered from the cache", file=out)
    contributions = archive.contributions()
    if contributions:
        print("front contributions: " + ", ".join(f"{k} {v}" for k, v in contributions.items()), file=out)
    print(front_table(archive), file=out)
    paths = write_report(archive, engine.run_dir.path / "report")
    print(f"report: {paths['png']} and {paths['html']}", file=out)


def cmd_search(args) -> int:
    cfg = config_mod.load(args.config)
    if args.seed is not None:
        cfg["seed"] = args.seed
    if args.run_dir is not None:
        cfg["run_dir"] = args.run_dir
    engine = config_mod.build_engine(cfg, resume=args.resume, progress=False if args.quiet else None)
    print(f"run directory: {cfg['run_dir']}" + (" (resumed)" if args.resume else ""))
    try:
        engine.optimize()
    except KeyboardInterrupt:
        print(f"\ninterrupted; every completed evaluation is saved. Continue with: "
              f"monas search {args.config} --resume", file=sys.stderr)
        return 130
    _summarise(engine, sys.stdout)
    if "retrain" in cfg:
        from monas.retrain import retrain_front

        r = dict(cfg["retrain"])
        retrain_front(engine, **r)
    return 0


def cmd_validate(args) -> int:
    cfg = config_mod.load(args.config)
    gens = ", ".join(f"{g['label']} ({g['name']}, share {g['share']:g})" for g in cfg["generators"])
    objs = ", ".join(o["label"] for o in cfg["objectives"])
    print(f"{args.config}: ok. space {cfg['search_space']['name']}; objectives {objs}; "
          f"constraints {', '.join(cfg['constraints']) or 'none'}; generators {gens}; budget {cfg['budget']}")
    return 0


def cmd_list(args) -> int:
    for registry in (GENERATORS, SEARCH_SPACES, OBJECTIVES, DATASETS):
        print(f"{registry.kind}s: {', '.join(registry.names())}")
    return 0


def cmd_report(args) -> int:
    from monas.archive import ParetoArchive
    from monas.report import front_table, write_report

    run = RunDirectory(Path(args.run_dir))
    archive = ParetoArchive(run.read_objectives())
    for ev in run.read_evaluations():
        archive.add(ev)
    print(front_table(archive))
    paths = write_report(archive, Path(args.out) if args.out else run.path / "report")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def cmd_profile(args) -> int:
    from monas.profiling import main as profile_main

    return profile_main(args.args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="monas", description="Multi-objective neural architecture search")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="run (or --resume) the search a YAML config describes")
    s.add_argument("config")
    s.add_argument("--resume", action="store_true", help="continue the run in the config's run_dir")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--run-dir", default=None)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_search)
    v = sub.add_parser("validate", help="check a config without running anything")
    v.add_argument("config")
    v.set_defaults(func=cmd_validate)
    ls = sub.add_parser("list", help="registered generators, spaces, objectives, datasets")
    ls.set_defaults(func=cmd_list)
    r = sub.add_parser("report", help="front table, CSV, HTML and PNG plot of a run directory")
    r.add_argument("run_dir")
    r.add_argument("--out", default=None)
    r.set_defaults(func=cmd_report)
    sub.add_parser("profile", help="per-op latency table on the target device (latency_lut); "
                                   "see monas profile --help")
    return ap


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="monas: %(levelname)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["profile"]:  # its own parser (python -m monas.profiling) takes every option
        args = argparse.Namespace(func=cmd_profile, args=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (config_mod.ConfigError, RunDirectoryError, RegistryError, ArchError, FileNotFoundError,
            ValueError) as exc:
        print(f"monas: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
