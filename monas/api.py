"""The Python entry point: ``monas.search(config, **overrides)`` runs a search as ``monas search`` does.

``config`` is a path to a YAML file, a YAML string, or a dict of the same fields; keyword
overrides replace top-level fields (``seed=1``, ``budget={"evaluations": 20}``, ...). The config
is validated and preflighted exactly as on the command line. A config without ``run_dir`` that
is not a file runs in a fresh temporary folder (``result.run_dir`` says where), so a notebook
can call ``search`` again and again.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from monas import config as config_mod
from monas.run_directory import RunDirectory


@dataclass
class SearchResult:
    """A finished search: its ``engine``, ``archive`` (every evaluation), ``front`` (the feasible
    Pareto front, best first in the first objective), ``run_dir`` and the resolved ``config``."""

    engine: Any
    archive: Any
    front: List[Any]
    run_dir: Path
    config: Dict[str, Any]

    def knee(self):
        """The front's knee evaluation (None when nothing is feasible)."""
        return self.archive.knee()

    def to_dataframe(self):
        """Every evaluation as a pandas DataFrame: number, generator, key, state, one column per
        objective (natural units), feasible, on_front, error. pandas is optional: ImportError
        says how to install it."""
        return to_dataframe(self.archive)


def to_dataframe(archive):
    """``archive`` (a ParetoArchive) as a pandas DataFrame (see ``SearchResult.to_dataframe``)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_dataframe needs pandas: pip install pandas (or pip install 'monas[pandas]')") from None
    on_front = {e.number for e in archive.front()}
    rows = []
    for e in archive.evaluations:
        row = {"number": e.number, "generator": e.generator, "key": e.arch.key, "state": e.state.value}
        for label in archive.labels:
            row[label] = e.values.get(label, float("nan"))
        row.update(feasible=e.feasible, on_front=e.number in on_front, error=e.error)
        rows.append(row)
    columns = ["number", "generator", "key", "state", *archive.labels, "feasible", "on_front", "error"]
    return pd.DataFrame(rows, columns=columns).set_index("number")


def _raw_config(config: Union[str, Path, Mapping[str, Any]]) -> (Dict[str, Any], Optional[str]):
    """The parsed config and the file it came from (None for a string or dict)."""
    from monas import strict_yaml

    if isinstance(config, Mapping):
        return dict(config), None
    text = str(config)
    if isinstance(config, Path) or ("\n" not in text and Path(text).suffix in (".yaml", ".yml")):
        path = Path(text)
        if not path.is_file():
            raise config_mod.ConfigError(f"{text}: no such config file")
        return strict_yaml.load(path.read_text(encoding="utf-8")), str(path)
    try:
        raw = strict_yaml.load(text)
    except strict_yaml.DuplicateKeyError as exc:
        raise config_mod.ConfigError(str(exc)) from None
    if not isinstance(raw, Mapping):
        raise config_mod.ConfigError(f"config {text[:60]!r}: not a YAML mapping nor a path to a .yaml file")
    return dict(raw), None


def search(config: Union[str, Path, Mapping[str, Any]], resume: bool = False, progress: bool = False,
           **overrides: Any) -> SearchResult:
    """Run the search ``config`` describes (see the module docstring) and return its result.

    ``resume=True`` continues the run in the config's ``run_dir``; ``progress`` shows the bar.
    Raises :class:`monas.config.ConfigError` (one line naming the field) before any work when the
    config is wrong. The ``retrain:`` step runs when configured, as on the command line.
    """
    from monas import preflight

    raw, source = _raw_config(config)
    raw.update(overrides)
    cfg = config_mod.validate(raw, source=source or "config")
    if "run_dir" not in cfg:
        cfg["run_dir"] = str(Path("runs") / Path(source).stem) if source else tempfile.mkdtemp(prefix="monas-run-")
    preflight.check(cfg)
    run = RunDirectory(Path(cfg["run_dir"]))
    if resume:
        run.check_resumable()
    engine = config_mod.build_engine(cfg, resume=resume, progress=progress)
    engine.optimize()
    if "retrain" in cfg:
        from monas.retrain import retrain_front

        retrain_front(engine, **dict(cfg["retrain"]), out=None)
    return SearchResult(engine=engine, archive=engine.archive, front=engine.archive.front(),
                        run_dir=Path(cfg["run_dir"]), config=cfg)
