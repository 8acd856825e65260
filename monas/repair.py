"""``monas repair RUN_DIR``: make a damaged run directory resumable without losing a good record.

- ``evaluations.jsonl`` / ``measurements.jsonl`` with bad lines (bytes that are not UTF-8, text
  that is not JSON, a record missing fields): every good line is kept byte for byte, the bad ones
  are moved to ``<file>.bad-<time>`` (a torn last line, from a kill mid-write, is cut off too);
- ``study.db`` that is not an SQLite database or that Optuna cannot open: moved to
  ``study.db.bad-<time>``; ``monas search --resume`` then rebuilds it from the log;
- ``evaluations.jsonl`` missing while the study is there: the log is rebuilt from the study's
  trials (their ``monas_number``, architecture, values, violations and error).

Each action is one line of the returned list; nothing to do gives an empty list.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import List

from monas.arch import Arch
from monas.evaluation import EvalState, Evaluation
from monas.run_directory import RunDirectory, RunDirectoryError, scan_lines


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def repair_lines(path: Path, parse=None) -> str:
    """Keep the good lines of ``path``, move the others aside; what was done, or '' if nothing."""
    if not path.exists():
        return ""
    good, bad, torn_at = scan_lines(path, parse)
    raw = path.read_bytes()
    torn = raw[torn_at:]
    if not bad and not torn:
        return ""
    keep = {number for number, _ in good}
    kept = [line for number, line in enumerate(raw[:torn_at].split(b"\n"), start=1) if number in keep]
    aside = path.with_name(f"{path.name}.bad-{_stamp()}")
    with open(aside, "ab") as fh:
        for _, line, _ in bad:
            fh.write(line + b"\n")
        if torn:
            fh.write(torn + b"\n")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(b"".join(line + b"\n" for line in kept))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    lines = ", ".join(str(n) for n, _, _ in bad[:10]) + (" ..." if len(bad) > 10 else "")
    what = f"{len(bad)} bad line(s) ({lines})" if bad else ""
    if torn:
        what += (" and " if what else "") + "a torn last line"
    return f"{path}: kept {len(kept)} good records; moved {what} to {aside}"


def _study_opens(run: RunDirectory) -> str:
    """Why the run's SQLite study cannot be opened, or ''."""
    from monas.preflight import sqlite_problem

    problem = sqlite_problem(run.study_path)
    if problem:
        return problem
    import optuna

    try:
        optuna.get_all_study_summaries(storage=run.default_storage())
    except Exception as exc:
        return (str(exc).splitlines() or [type(exc).__name__])[0]
    return ""


def _rebuild_log(run: RunDirectory) -> str:
    """Write evaluations.jsonl from the study's trials (the log was lost, the study was not)."""
    import optuna
    import yaml

    specs = run.read_objectives()
    config = yaml.safe_load(run.config_path.read_text()) if run.config_path.exists() else {}
    space = (config.get("search_space") or {}).get("name")
    if space is None:
        raise RunDirectoryError(f"{run.config_path} is missing; the log cannot be rebuilt from {run.study_path}")
    from monas.optuna_record import default_study_name, existing_study_name

    name = existing_study_name(run.default_storage(), config.get("study_name") or default_study_name(run.path))
    study = optuna.load_study(study_name=name, storage=run.default_storage())
    by_number = {}
    for t in study.get_trials(deepcopy=False):
        number = t.user_attrs.get("monas_number")
        if number is None or number in by_number:
            continue
        complete = t.state == optuna.trial.TrialState.COMPLETE
        by_number[number] = Evaluation(
            number=int(number),
            arch=Arch.from_dict({
                "space": space, "key": t.user_attrs["arch_key"], "genotype": json.loads(t.user_attrs["genotype"])}),
            values={s.label: float(v) for s, v in zip(specs, t.values or [])} if complete else {},
            violations=dict(getattr(t, "constraints", None) or {}) if complete else {},
            state=EvalState.COMPLETE if complete else EvalState.FAILED,
            generator=t.user_attrs.get("generator", ""),
            error=t.user_attrs.get("error"),
        )
    with open(run.evaluations_path, "w", encoding="utf-8") as fh:
        for number in sorted(by_number):
            fh.write(json.dumps(by_number[number].to_dict(), default=str) + "\n")
    if run.state_path.exists():  # generator state newer than the rebuilt log would skip work
        run.state_path.replace(run.state_path.with_name(f"{run.state_path.name}.bad-{_stamp()}"))
    return f"{run.evaluations_path}: rebuilt {len(by_number)} evaluations from {run.study_path}"


def repair(path: Path) -> List[str]:
    """Repair the run directory at ``path`` (see the module docstring); one line per action."""
    run = RunDirectory(Path(path))
    if not run.path.is_dir():
        raise RunDirectoryError(f"{str(run.path)!r} is not a folder")
    if not os.access(run.path, os.W_OK | os.X_OK):
        raise RunDirectoryError(f"run directory {str(run.path)!r} is read-only; repair needs to write it")
    done = []
    for p, parse in ((run.evaluations_path, Evaluation.from_dict), (run.measurements_path, None)):
        line = repair_lines(p, parse)
        if line:
            done.append(line)
    if run.study_path.exists():
        problem = _study_opens(run)
        if problem:
            aside = run.study_path.with_name(f"{run.study_path.name}.bad-{_stamp()}")
            run.study_path.replace(aside)
            done.append(f"{run.study_path}: {problem}; moved to {aside}; `monas search --resume` rebuilds it "
                        f"from {run.evaluations_path.name}")
        elif not run.evaluations_path.exists():
            done.append(_rebuild_log(run))
    return done
