"""The ``monas`` command line: search, validate, list, report, repair, profile.

Errors are one line on stderr (``monas: error: ...``) with exit status 2, naming the config path
for a config error; ``search`` runs every check of ``validate`` before it creates the run
directory. An internal error is one line too, with the path of a log file holding the traceback
(exit status 1). A search whose every evaluation failed, or in which an objective failed on more
than ``max_failed_share`` of the evaluations, ends with the verdict and the most common error
(exit status 3). An interrupted search says how to resume it.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import List, Optional

from monas import config as config_mod
from monas import preflight
from monas.registry import DATASETS, GENERATORS, OBJECTIVES, SEARCH_SPACES, RegistryError
from monas.run_directory import RunDirectory, RunDirectoryError
from monas.search_space import ArchError
from monas.verdict import DEFAULT_MAX_FAILED_SHARE, count_failures, verdict

USER_ERRORS = (config_mod.ConfigError, RunDirectoryError, RegistryError, ArchError)


def _summarise(engine, out) -> None:
    from monas.report import front_table, write_report

    archive = engine.archive
    print(f"stopped: {engine.stop_reason}; {len(archive)} unique evaluations, "
          f"{engine.n_duplicates} duplicates answered from the cache", file=out)
    contributions = archive.contributions()
    if contributions:
        print("front contributions: " + ", ".join(f"{k} {v}" for k, v in contributions.items()), file=out)
    print(front_table(archive), file=out)
    print(count_failures(archive.evaluations, [s.label for s in engine.specs]).summary(), file=out)
    paths = write_report(archive, engine.run_dir.path / "report")
    print(f"report: {paths['png']} and {paths['html']}", file=out)


def cmd_search(args) -> int:
    cfg = config_mod.load(args.config)
    if args.seed is not None:
        cfg["seed"] = args.seed
    if args.run_dir is not None:
        cfg["run_dir"] = args.run_dir
    run = RunDirectory(Path(cfg["run_dir"]))
    if args.repair:  # before the checks: a garbage study.db is what it moves aside
        if not args.resume:
            raise RunDirectoryError("--repair goes with --resume (it repairs the run it continues)")
        from monas.repair import repair

        for line in repair(run.path) if run.path.is_dir() else []:
            print(line)
    preflight.check(cfg)  # everything validate checks, before the run directory exists
    if args.resume:
        run.check_resumable()
    elif run.has_run():
        run.create(None, resume=False)  # raises: the folder holds a run
    engine = config_mod.build_engine(cfg, resume=args.resume, progress=False if args.quiet else None)
    print(f"run directory: {cfg['run_dir']}" + (" (resumed)" if args.resume else ""))
    try:
        engine.optimize()
    except KeyboardInterrupt:
        print(f"\ninterrupted; every completed evaluation is saved. Continue with: "
              f"monas search {args.config} --resume", file=sys.stderr)
        return 130
    _summarise(engine, sys.stdout)
    failures = count_failures(engine.archive.evaluations, [s.label for s in engine.specs])
    lines = verdict(failures, cfg.get("max_failed_share", DEFAULT_MAX_FAILED_SHARE))
    if lines:
        for line in lines:
            print(f"monas: {line}", file=sys.stderr)
        return 3
    if "retrain" in cfg:
        from monas.retrain import retrain_front

        r = dict(cfg["retrain"])
        retrain_front(engine, **r)
    return 0


def cmd_validate(args) -> int:
    cfg = config_mod.load(args.config)
    preflight.check(cfg)
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
    specs = run.read_objectives()
    archive = ParetoArchive(specs)
    for ev in run.read_evaluations(truncate=False):  # a report never writes into the run
        archive.add(ev)
    print(front_table(archive))
    print(count_failures(archive.evaluations, [s.label for s in specs]).summary())
    out = Path(args.out) if args.out else run.path / "report"
    try:
        paths = write_report(archive, out)
    except OSError as exc:
        if args.out:
            raise RunDirectoryError(f"--out {args.out}: cannot write there ({exc.strerror}); accepted: a folder "
                                    f"you can write") from None
        print(f"monas: note: {out} cannot be written ({exc.strerror}); the table is above; pass --out DIR "
              f"for the CSV, HTML and PNG", file=sys.stderr)
        return 0
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def cmd_repair(args) -> int:
    from monas.repair import repair

    done = repair(Path(args.run_dir))
    for line in done:
        print(line)
    if not done:
        print(f"{args.run_dir}: nothing to repair")
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
    s.add_argument("--repair", action="store_true", help="with --resume: first run monas repair on the run directory")
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
    rp = sub.add_parser("repair", help="keep a damaged run directory's good records, move bad lines aside")
    rp.add_argument("run_dir")
    rp.set_defaults(func=cmd_repair)
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
    except USER_ERRORS as exc:
        print(f"monas: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"monas: error: {_one_line(exc)} (traceback: {_log_traceback()})", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"monas: internal error: {type(exc).__name__}: {_one_line(exc)}; the traceback is in "
              f"{_log_traceback()}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _log_traceback() -> str:
    """Write the current exception's traceback to a log file; its path."""
    fd, path = tempfile.mkstemp(prefix=f"monas-error-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.write(f"monas {' '.join(sys.argv[1:])}\n")
        traceback.print_exc(file=fh)
    return path


if __name__ == "__main__":
    sys.exit(main())
