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
from monas.run_directory import RunDirectory, RunDirectoryError, default_study_name
from monas.search_space import ArchError
from monas.recipes import RECIPES
from monas.selection import SelectionError
from monas.verdict import DEFAULT_MAX_FAILED_SHARE, count_failures, verdict

USER_ERRORS = (config_mod.ConfigError, RunDirectoryError, RegistryError, ArchError, SelectionError)


def _summarise(engine, out) -> None:
    from monas.report import front_table, hypervolume_scale

    archive = engine.archive
    dup = f"; {engine.n_duplicates} duplicate proposals answered from the cache" if engine.n_duplicates else ""
    print(f"stopped: {engine.stop_reason}{dup}", file=out)
    contributions = archive.contributions()
    if contributions:
        print("front contributions: " + ", ".join(f"{k} {v}" for k, v in contributions.items()), file=out)
    budget = engine.budget
    print(front_table(archive, hypervolume_scale(archive, budget.hv_ideal, budget.hv_nadir)), file=out)
    print(count_failures(archive.evaluations, [s.label for s in engine.specs]).summary(), file=out)
    _report_files(engine.run_dir.path, archive, engine.run_dir.path / "report", out, budget.hv_ideal,
                  budget.hv_nadir, engine.study_name, engine.storage)


def _report_files(run_dir, archive, out_dir, out, hv_ideal, hv_nadir, study_name, storage, label="report"):
    """Write the report files; print where they are and why an interactive view was skipped."""
    from monas.report import write_report

    notes: List[str] = []
    paths = write_report(archive, out_dir, run_dir=run_dir, hv_ideal=hv_ideal, hv_nadir=hv_nadir,
                         study_name=study_name or default_study_name(run_dir), storage=storage, notes=notes)
    print(f"{label}: {paths['png']} and {paths['html']} (in {Path(out_dir)}: "
          f"{', '.join(p.name for p in paths.values())}; the hypervolume and its scale in {paths['hv'].name})",
          file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    return paths


def cmd_search(args) -> int:
    cfg = config_mod.load(args.config)
    if args.seed is not None:
        cfg["seed"] = args.seed
    if args.run_dir is not None:
        cfg["run_dir"] = args.run_dir
    if args.workers is not None:
        if args.workers < 0:
            raise config_mod.ConfigError(f"--workers: {args.workers}; accepted: an integer >= 0")
        cfg["workers"] = args.workers
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
        if engine.run_dir is not None:  # the report again, now with the retrained accuracies
            _report_files(engine.run_dir.path, engine.archive, engine.run_dir.path / "report", sys.stdout,
                          engine.budget.hv_ideal, engine.budget.hv_nadir, engine.study_name, engine.storage,
                          label="report with the retrained accuracies")
    return 0


def cmd_worker(args) -> int:
    from monas.worker import main as worker_main

    return worker_main(args.storage, args.study, args.device, args.threads, args.parent_pid, args.max_evaluations,
                       args.tries)


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
    if getattr(args, "compat", False):
        from monas.compatibility import compatibility_lines

        print("generators x spaces:")
        for line in compatibility_lines():
            print(f"  {line}")
    else:
        print("(monas list --compat: which generator can search which space)")
    return 0


def cmd_report(args) -> int:
    import yaml

    from monas.archive import ParetoArchive
    from monas.report import front_table, hypervolume_scale, read_retrained

    run = RunDirectory(Path(args.run_dir))
    specs = run.read_objectives()
    archive = ParetoArchive(specs)
    for ev in run.read_evaluations(truncate=False):  # a report never writes into the run
        archive.add(ev)
    try:  # the saved config fixes the hypervolume's scale (budget.hv_ideal/hv_nadir) and the study
        saved = yaml.safe_load(run.config_path.read_text()) if run.config_path.is_file() else None
    except (OSError, yaml.YAMLError):
        saved = None
    saved = saved if isinstance(saved, dict) else {}
    budget = saved.get("budget") if isinstance(saved.get("budget"), dict) else {}
    hv_ideal, hv_nadir = budget.get("hv_ideal"), budget.get("hv_nadir")
    print(front_table(archive, hypervolume_scale(archive, hv_ideal, hv_nadir), read_retrained(run.path)))
    print(count_failures(archive.evaluations, [s.label for s in specs]).summary())
    out = Path(args.out) if args.out else run.path / "report"
    try:
        _report_files(run.path, archive, out, sys.stdout, hv_ideal, hv_nadir,
                      saved.get("study_name") or default_study_name(run.path), saved.get("storage"))
    except OSError as exc:
        if args.out:
            raise RunDirectoryError(f"--out {args.out}: cannot write there ({exc.strerror}); accepted: a folder "
                                    f"you can write") from None
        print(f"monas: note: {out} cannot be written ({exc.strerror}); the table is above; pass --out DIR "
              f"for the CSV, HTML and PNG", file=sys.stderr)
    return 0


def cmd_repair(args) -> int:
    from monas.repair import repair

    done = repair(Path(args.run_dir))
    for line in done:
        print(line)
    if not done:
        print(f"{args.run_dir}: nothing to repair")
    return 0


def cmd_export(args) -> int:
    from tqdm import tqdm

    from monas.export import export_member

    result = export_member(args.run_dir, args.member, args.where, args.out, onnx=args.onnx,
                           log=lambda line: tqdm.write(line, file=sys.stderr), progress=not args.quiet)
    ev = result["evaluation"]
    print(f"exported evaluation {ev.number} ({ev.arch.key}) to {result['dir']}: "
          f"{', '.join(sorted(p.name for p in result['files'].values()))}; reloaded program max abs diff "
          f"{result['max_abs_diff']:.3g}")
    return 0


def cmd_train(args) -> int:
    from monas.train_command import run_train

    return run_train(args)


def cmd_profile(args) -> int:
    from monas.profiling import main as profile_main

    return profile_main(args.args, prog="monas profile")


SELECTOR_HELP = ("which member: an evaluation number, an arch key of the run, 'knee' (the front's knee) or "
                 "'best:OBJECTIVE' (best on the feasible front, with --where bounds); default knee")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="monas", description="Multi-objective neural architecture search: search a "
                                 "space with plugins, keep one Pareto front, export and train its members.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("search", help="run (or --resume) the search a YAML config describes",
                       description="Run the search a YAML config describes (after every check of validate).")
    s.add_argument("config", help="the YAML config file")
    s.add_argument("--resume", action="store_true", help="continue the run in the config's run_dir")
    s.add_argument("--seed", type=int, default=None, help="override the config's seed")
    s.add_argument("--run-dir", default=None, help="override the config's run_dir")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--repair", action="store_true", help="with --resume: first run monas repair on the run directory")
    s.add_argument("--workers", type=int, default=None, metavar="N",
                   help="evaluate in N worker processes (overrides the config's workers; 0: only `monas worker` "
                        "processes started elsewhere evaluate)")
    s.set_defaults(func=cmd_search)
    w = sub.add_parser("worker", help="evaluate the candidates of a running search (joins its Optuna study)",
                       description="Join a running search: take the candidates it enqueued on its Optuna study, "
                                   "evaluate them on this machine's device and tell the study. Needs the monas "
                                   "package (with the search's plugins) and the search's data folder at the same path.")
    w.add_argument("--storage", required=True, help="the search's Optuna storage URL (e.g. postgresql://user:pw@host/db)")
    w.add_argument("--study", required=True, help="the search's study name (its run directory's name by default)")
    w.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: the search's device)")
    w.add_argument("--threads", type=int, default=None, help="torch threads of this worker (default: torch's)")
    w.add_argument("--max-evaluations", type=int, default=None, help="exit after this many evaluations")
    w.add_argument("--tries", type=int, default=6, help="connection attempts (waits 0.5, 1, 2, ... s between) "
                                                         "before giving up on the storage (default 6)")
    w.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    w.set_defaults(func=cmd_worker)
    v = sub.add_parser("validate", help="check a config without running anything",
                       description="Check a config completely, before any work.")
    v.add_argument("config", help="the YAML config file")
    v.set_defaults(func=cmd_validate)
    ls = sub.add_parser("list", help="registered generators, spaces, objectives, datasets",
                        description="List the registered generators, search spaces, objectives and datasets.")
    ls.add_argument("--compat", action="store_true",
                    help="also show which generators can search which spaces (the capability each lacks); "
                         "loads every plugin, so it takes a few seconds")
    ls.set_defaults(func=cmd_list)
    r = sub.add_parser("report", help="front table, CSV, HTML and PNG plot of a run directory",
                       description="Write the front table, CSV, HTML and PNG plot of a run directory.")
    r.add_argument("run_dir", help="the run directory of a search")
    r.add_argument("--out", default=None, help="folder for the files (default RUN_DIR/report)")
    r.set_defaults(func=cmd_report)
    e = sub.add_parser("export", help="one member as a torch.export program, ONNX, weights and a model card",
                       description="Export one member of a run: genotype JSON, a torch.export program (runs "
                                   "without monas), ONNX when the onnx extra is installed, the trained weights "
                                   "when it was trained, and a model card (Markdown and JSON).")
    e.add_argument("run_dir", help="the run directory of a search")
    e.add_argument("member", nargs="?", default="knee", help=SELECTOR_HELP)
    e.add_argument("--where", action="append", default=[], metavar="BOUND",
                   help="with best:OBJECTIVE, a bound such as 'latency<=2' or 'accuracy>=90' (repeatable)")
    e.add_argument("--out", default=None, help="output folder (default RUN_DIR/export/NUMBER)")
    onnx = e.add_mutually_exclusive_group()
    onnx.add_argument("--onnx", dest="onnx", action="store_const", const=True, default=None,
                      help="require the ONNX file (default: written when the onnx extra is installed)")
    onnx.add_argument("--no-onnx", dest="onnx", action="store_const", const=False, help="skip ONNX")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_export)
    t = sub.add_parser("train", help="train a member (or any arch key) from scratch with a named recipe",
                       description="Train a member of a run, or any arch key of a space, from scratch with a "
                                   "named recipe; resumable after a kill (run it again); weights and a training "
                                   "log are kept for monas export.")
    t.add_argument("run_dir", nargs="?", default=None,
                   help="the run directory whose member to train (its space, dataset and seed)")
    t.add_argument("member", nargs="?", default="knee", help=SELECTOR_HELP)
    t.add_argument("--where", action="append", default=[], metavar="BOUND",
                   help="with best:OBJECTIVE, a bound such as 'latency<=2' (repeatable)")
    t.add_argument("--space", default=None, help="without a run directory: the search space name (e.g. nb201)")
    t.add_argument("--arch", default=None, help="without a run directory: the arch key to train")
    t.add_argument("--recipe", default="quick", choices=sorted(RECIPES), help="quick (3 short epochs) or darts (the DARTS evaluation "
                                                     "recipe: cutout, auxiliary head, drop-path, cosine); default quick")
    t.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    t.add_argument("--batch-size", type=int, default=None, help="override the recipe's batch size")
    t.add_argument("--lr", type=float, default=None, help="override the recipe's learning rate")
    t.add_argument("--dataset", default=None, help="digits, cifar10 or cifar100 (default: the run's, else digits)")
    t.add_argument("--data-root", default=None, help="folder of the CIFAR python batches (cifar10 / cifar100)")
    t.add_argument("--seed", type=int, default=None, help="seed (default: the run's, else 0)")
    t.add_argument("--device", default=None, help="cpu or cuda[:N] (default: the run's, else cpu)")
    t.add_argument("--threads", type=int, default=1, help="torch threads while training (default 1)")
    t.add_argument("--out", default=None, help="output folder (default RUN_DIR/trained/ID, or trained/ID)")
    t.add_argument("--fresh", action="store_true", help="start over instead of resuming the folder's checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)
    rp = sub.add_parser("repair", help="keep a damaged run directory's good records, move bad lines aside",
                        description="Keep a damaged run directory's good records and move bad lines aside.")
    rp.add_argument("run_dir", help="the run directory to repair")
    rp.set_defaults(func=cmd_repair)
    sub.add_parser("profile", help="per-op latency table on the target device (latency_lut); "
                                   "see monas profile --help", add_help=False)
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
