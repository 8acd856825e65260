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
from typing import Any, Dict, Iterator, List, Optional

import torch
import yaml

from monas.evaluation import Evaluation


class RunDirectoryError(RuntimeError):
    """A run directory that cannot be used as asked (exists without --resume, corrupt, ...)."""


def _append_line(path: Path, record: Dict[str, Any]) -> None:
    line = json.dumps(record, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def _read_lines(path: Path) -> Iterator[Dict[str, Any]]:
    """Complete JSON lines of ``path``; a torn last line (killed mid-write) is cut off."""
    if not path.exists():
        return
    raw = path.read_bytes()
    good_end = 0
    pos = 0
    records = []
    for chunk in raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"):
        end = pos + len(chunk) + 1
        if chunk.strip():
            try:
                records.append(json.loads(chunk))
            except json.JSONDecodeError:
                if end >= len(raw):  # torn tail: drop it
                    break
                raise RunDirectoryError(f"{path} line {len(records) + 1} is not valid JSON") from None
        good_end = min(end, len(raw))
        pos = end
    if good_end < len(raw):
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    yield from records


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

    def has_run(self) -> bool:
        return self.evaluations_path.exists() or self.state_path.exists()

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
        self.objectives_path.write_text(json.dumps([{"label": s.label, "direction": s.direction} for s in specs]))

    def read_objectives(self):
        from monas.context import ObjectiveSpec

        if not self.objectives_path.exists():
            raise RunDirectoryError(f"{self.path} is not a monas run directory (no {self.objectives_path.name})")
        return [ObjectiveSpec(d["label"], d["direction"]) for d in json.loads(self.objectives_path.read_text())]

    def append_evaluation(self, evaluation: Evaluation) -> None:
        _append_line(self.evaluations_path, evaluation.to_dict())

    def read_evaluations(self) -> List[Evaluation]:
        return [Evaluation.from_dict(r) for r in _read_lines(self.evaluations_path)]

    def append_measurement(self, key, measurement) -> None:
        _append_line(self.measurements_path, {"key": list(key), "value": measurement.value,
                                              "details": measurement.details})

    def read_measurements(self) -> List[Dict[str, Any]]:
        return list(_read_lines(self.measurements_path))

    def save_state(self, state: Dict[str, Any]) -> None:
        """Write ``state`` atomically: a kill leaves either the old or the new file."""
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
        try:
            return torch.load(self.state_path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise RunDirectoryError(
                f"{self.state_path} is corrupt ({type(exc).__name__}: {exc}); the evaluations in "
                f"{self.evaluations_path.name} are intact"
            ) from None


def _search_part(config: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of a config that must not change on resume (everything but budget and run_dir)."""
    return {k: v for k, v in config.items() if k not in ("budget", "run_dir", "progress")}
