"""RunDirectory: everything a run leaves on disk, written so a kill at any point loses nothing.

Layout::

    config.yaml          the resolved configuration
    evaluations.jsonl    append-only, one Evaluation per line, flushed and fsynced per record
    measurements.jsonl   append-only cache of measurements made for generators (same rule)
    state.pt             generator and engine state (atomic replace after every tell)
    study.db             the Optuna study (SQLite) unless another storage URL is configured
    checkpoints/         per-generator checkpoints of long work (supernets)
    report/              tables and plots from ``monas report``
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import yaml

from monas.evaluation import Evaluation


#: the study name of runs made before study names followed the run
LEGACY_STUDY_NAME = "monas"


def default_study_name(run_dir) -> str:
    """The run's name (its folder's name), or ``monas`` for a run without a folder."""
    return Path(run_dir).name if run_dir else LEGACY_STUDY_NAME


class RunDirectoryError(RuntimeError):
    """A run directory that cannot be used as asked (exists without --resume, corrupt, ...)."""


def _append_line(path: Path, record: Dict[str, Any]) -> None:
    line = json.dumps(record, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def scan_lines(path: Path, parse=None) -> Tuple[List[Tuple[int, Any]], List[Tuple[int, bytes, str]], int]:
    """Read an append-only JSON-lines file without changing it.

    Returns ``(good, bad, torn_at)``: ``good`` holds ``(line number, record)`` of every line that
    decodes as UTF-8 JSON (and that ``parse`` accepts, when given); ``bad`` holds ``(line number,
    raw bytes, reason)`` of every other line but a torn last line; ``torn_at`` is the byte offset
    where a torn last line (killed mid-write: no newline, not JSON) starts, or the file size.
    """
    raw = path.read_bytes()
    good: List[Tuple[int, Any]] = []
    bad: List[Tuple[int, bytes, str]] = []
    torn_at = len(raw)
    pos = 0
    lines = raw.split(b"\n")
    for number, chunk in enumerate(lines, start=1):
        last = number == len(lines)
        if last and not chunk:
            break
        start, pos = pos, pos + len(chunk) + 1
        if not chunk.strip():
            continue
        try:
            record = json.loads(chunk.decode("utf-8"))
            if parse is not None:
                record = parse(record)
        except UnicodeDecodeError as exc:
            reason = f"byte 0x{chunk[exc.start]:02x} at column {exc.start + 1} is not UTF-8"
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"not a complete record ({type(exc).__name__}: {exc})"
        else:
            good.append((number, record))
            continue
        if last:  # torn tail: the process was killed mid-write
            torn_at = start
            break
        bad.append((number, chunk, reason))
    return good, bad, torn_at


def _read_lines(path: Path, parse=None, truncate: bool = True) -> Iterator[Any]:
    """Records of ``path``; a torn last line (killed mid-write) is cut off (left in place when
    ``truncate`` is False); any other bad line raises one line naming the file and line number."""
    if not path.exists():
        return
    good, bad, torn_at = scan_lines(path, parse)
    if bad:
        number, _, reason = bad[0]
        more = f" (and {len(bad) - 1} more bad lines)" if len(bad) > 1 else ""
        raise RunDirectoryError(f"{path} line {number}: {reason}{more}; run `monas repair {path.parent}` to keep "
                                f"the good records and move the bad lines aside")
    if truncate and torn_at < path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(torn_at)
    for _, record in good:
        yield record


class RunDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def evaluations_path(self) -> Path:
        return self.path / "evaluations.jsonl"

    @property
    def measurements_path(self) -> Path:
        return self.path / "measurements.jsonl"

    @property
    def state_path(self) -> Path:
        return self.path / "state.pt"

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    def default_storage(self) -> str:
        return f"sqlite:///{(self.path / 'study.db').resolve()}"

    @property
    def study_path(self) -> Path:
        return self.path / "study.db"

    def has_run(self) -> bool:
        return self.evaluations_path.exists() or self.state_path.exists() or self.study_path.exists()

    def check_resumable(self) -> None:
        """Raise :class:`RunDirectoryError` (one line) when ``--resume`` cannot continue this
        folder without losing or repeating work: read-only, a study or state but no log, a log
        with bad lines."""
        if not self.path.exists():
            return
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise RunDirectoryError(f"run directory {str(self.path)!r} is read-only; --resume needs to append "
                                    f"to it (monas report {self.path} --out DIR reads it as it is)")
        for p in (self.evaluations_path, self.measurements_path, self.state_path):
            if p.exists() and not os.access(p, os.W_OK):
                raise RunDirectoryError(f"{p} is read-only; --resume needs to write it")
        if not self.evaluations_path.exists() and (self.study_path.exists() or self.state_path.exists()):
            held = self.study_path.name if self.study_path.exists() else self.state_path.name
            raise RunDirectoryError(f"{self.evaluations_path} is missing but {held} is there; resuming would start "
                                    f"over: run `monas repair {self.path}` to rebuild the log from the study, or "
                                    f"choose another run_dir")
        for p in (self.evaluations_path, self.measurements_path):
            if p.exists():
                parse = Evaluation.from_dict if p == self.evaluations_path else None
                for _ in _read_lines(p, parse, truncate=False):
                    pass

    def create(self, config: Optional[Dict[str, Any]], resume: bool) -> None:
        if self.has_run() and not resume:
            raise RunDirectoryError(
                f"run directory {str(self.path)!r} already holds a run; pass --resume to continue it "
                f"or choose another run_dir"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoint_dir.mkdir(exist_ok=True)
        if config is not None:
            if resume and self.config_path.exists():
                saved = yaml.safe_load(self.config_path.read_text())
                if saved is not None and _search_part(saved) != _search_part(config):
                    raise RunDirectoryError(
                        f"--resume with a config that differs from {self.config_path} in its search "
                        f"settings; resume with the saved config (budget changes are allowed)"
                    )
            self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    @property
    def objectives_path(self) -> Path:
        return self.path / "objectives.json"

    def write_objectives(self, specs) -> None:
        """The objectives' labels and directions, so a report needs nothing but this folder."""
        self.objectives_path.write_text(json.dumps([{"label": s.label, "direction": s.direction,
                                                     "units": getattr(s, "units", "")} for s in specs]))

    def read_objectives(self):
        from monas.context import ObjectiveSpec

        if not self.objectives_path.exists():
            raise RunDirectoryError(f"{self.path} is not a monas run directory (no {self.objectives_path.name})")
        return [ObjectiveSpec(d["label"], d["direction"], units=d.get("units", ""))
                for d in json.loads(self.objectives_path.read_text())]

    def append_evaluation(self, evaluation: Evaluation) -> None:
        _append_line(self.evaluations_path, evaluation.to_dict())

    def read_evaluations(self, truncate: bool = True) -> List[Evaluation]:
        """Every logged evaluation; ``truncate=False`` leaves a torn last line in the file (a
        reader that must not write, e.g. ``monas report`` on a read-only folder)."""
        return list(_read_lines(self.evaluations_path, Evaluation.from_dict, truncate))

    def append_measurement(self, key, measurement) -> None:
        _append_line(self.measurements_path, {"key": list(key), "value": measurement.value,
                                              "details": measurement.details})

    def read_measurements(self) -> List[Dict[str, Any]]:
        return list(_read_lines(self.measurements_path))

    def save_state(self, state: Dict[str, Any]) -> None:
        """Write ``state`` atomically: a kill leaves either the old or the new file."""
        import torch

        tmp = self.state_path.with_suffix(".pt.tmp")
        buf = io.BytesIO()
        torch.save(state, buf)
        with open(tmp, "wb") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)

    def load_state(self) -> Optional[Dict[str, Any]]:
        """The saved state, or None when absent; raises RunDirectoryError when corrupt."""
        if not self.state_path.exists():
            return None
        import torch

        try:
            return torch.load(self.state_path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise RunDirectoryError(
                f"{self.state_path} is corrupt ({type(exc).__name__}: {exc}); the evaluations in "
                f"{self.evaluations_path.name} are intact"
            ) from None


def _search_part(config: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of a config that must not change on resume (everything but budget and run_dir)."""
    return {k: v for k, v in config.items() if k not in ("budget", "run_dir", "progress", "max_failed_share", "workers", "devices", "heartbeat_s")}
