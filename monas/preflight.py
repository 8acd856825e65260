"""Preflight: what ``search`` would reject, found before any work and before the run directory.

:func:`check` takes a config :func:`monas.config.validate` has already accepted (types, ranges,
names) and checks what needs the machine or the plugins themselves, all cheaply: it constructs
the space, every objective and every generator (constructors only store and check their
arguments), asks whether each generator can search the space (capabilities), measures the cheap
objectives on one sampled architecture, and checks table files, devices, the storage URL and the
run directory. An objective or generator that declares ``needs_data`` needs a dataset in the
config; a generator parameter named ``target``, ``accuracy`` or ``costs`` names objective labels. Every failure is one :class:`~monas.config.ConfigError` line naming the config
path, the value and what is accepted. ``monas validate`` and ``monas search`` both call it.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import numpy as np

from monas.capabilities import CapabilityError, check as check_capabilities
from monas.config import ConfigError
from monas.registry import GENERATORS, OBJECTIVES, SEARCH_SPACES

SQLITE_MAGIC = b"SQLite format 3\x00"
CONNECT_TIMEOUT_S = 5.0


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def _blame(path: str, params: Mapping[str, Any], exc: BaseException, factory: Any = None) -> ConfigError:
    """A constructor's error as a config error on the parameter to blame: the one its message
    names, else the only one given, else the one without which ``factory`` constructs."""
    text = _first_line(exc)
    for name, value in params.items():
        if re.search(rf"\b{re.escape(str(name))}\b", text) or (
                isinstance(value, (str, int, float)) and not isinstance(value, bool) and repr(value) in text):
            return ConfigError(f"{path}.params.{name}: {value!r}: {text}")
    suspects = list(params) if len(params) == 1 else []
    if factory is not None and len(params) > 1:
        for name in params:
            try:
                factory(**{k: v for k, v in params.items() if k != name})
            except Exception:
                continue
            suspects.append(name)
    if len(suspects) == 1:
        return ConfigError(f"{path}.params.{suspects[0]}: {params[suspects[0]]!r}: {text}")
    return ConfigError(f"{path}.params: {text}")


def device_problem(device: Any) -> Optional[str]:
    """Why ``device`` cannot be used on this machine, or None."""
    if not isinstance(device, str):
        return f"{device!r} is not a device; accepted: cpu, cuda, cuda:N"
    if device == "cpu":
        return None
    m = re.fullmatch(r"cuda(?::(\d+))?", device)
    if not m:
        return f"{device!r}; accepted: cpu, cuda, cuda:N"
    import torch

    if not torch.cuda.is_available():
        return f"{device!r}, but torch sees no CUDA GPU on this machine; accepted: cpu"
    if m.group(1) is not None and int(m.group(1)) >= torch.cuda.device_count():
        return (f"{device!r}, but this machine has {torch.cuda.device_count()} GPU(s); accepted: cpu, "
                f"cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    return None


def _check_devices(cfg: Dict[str, Any]) -> None:
    problem = device_problem(cfg.get("device", "cpu"))
    if problem:
        raise ConfigError(f"device: {problem}")
    if cfg.get("workers", 1) >= 2:  # the local workers' devices (a remote worker names its own)
        for i, d in enumerate(cfg.get("devices") or []):
            problem = device_problem(d)
            if problem:
                raise ConfigError(f"devices[{i}]: {problem}")
    nodes = [(f"objectives[{i}]", o) for i, o in enumerate(cfg["objectives"])]
    nodes += [(f"generators[{i}]", g) for i, g in enumerate(cfg["generators"])]
    for path, node in nodes:
        if node["params"].get("device") is not None:
            problem = device_problem(node["params"]["device"])
            if problem:
                raise ConfigError(f"{path}.params.device: {problem}")


def _connect_with_timeout(url) -> Optional[str]:
    """Open one connection to a database server; the reason it failed, or None."""
    from sqlalchemy import create_engine

    try:
        engine = create_engine(url)
    except Exception as exc:  # unknown dialect, driver not installed
        return _first_line(exc)
    result: Dict[str, Optional[str]] = {"error": f"no answer within {CONNECT_TIMEOUT_S:g} s"}

    def connect() -> None:
        try:
            with engine.connect():
                result["error"] = None
        except Exception as exc:
            result["error"] = _first_line(exc)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    return result["error"]


def sqlite_problem(path: Path) -> Optional[str]:
    """Why an SQLite database file at ``path`` cannot hold the study, or None."""
    if path.exists():
        if not path.is_file():
            return f"{str(path)!r} is not a file"
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            return f"{str(path)!r} cannot be read ({exc.strerror})"
        if head and head != SQLITE_MAGIC:
            return f"{str(path)!r} is not an SQLite database"
        if not os.access(path, os.W_OK):
            return f"{str(path)!r} is not writable"
        return None
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {str(path.parent)!r} cannot be created or written"
    if folder != path.parent:
        return f"its folder {str(path.parent)!r} does not exist"
    return None


def check_storage(url: str, path: str = "storage") -> None:
    """Parse an Optuna RDB URL; SQLite: its file must be usable; a server: it must answer."""
    from sqlalchemy.engine import make_url

    accepted = "an Optuna RDB URL such as sqlite:///path/study.db or postgresql://user:pass@host/db"
    try:
        url_obj = make_url(url)
    except Exception as exc:
        raise ConfigError(f"{path}: {url!r} is not a storage URL ({_first_line(exc)}); accepted: {accepted}") from None
    backend = url_obj.get_backend_name()
    if backend == "sqlite":
        if url_obj.database in (None, "", ":memory:"):
            return
        problem = sqlite_problem(Path(url_obj.database).expanduser())
        if problem:
            raise ConfigError(f"{path}: {url!r}: {problem}; accepted: {accepted}")
        return
    problem = _connect_with_timeout(url_obj)
    if problem:
        raise ConfigError(f"{path}: {url!r}: cannot connect ({problem}); accepted: {accepted} that answers")


def check_run_dir(run_dir: str, path: str = "run_dir") -> None:
    """The run directory can be created (or is a folder) and written."""
    p = Path(run_dir).expanduser()
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{path}: {run_dir!r} is a file; accepted: a folder path")
    folder = p
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{path}: {run_dir!r} cannot be written ({str(folder)!r} is read-only); "
                          f"accepted: a folder you can write")
    if p.exists():
        problem = sqlite_problem(p / "study.db")
        if problem and (p / "study.db").exists():
            raise ConfigError(f"{path}: {problem}; move it aside (monas repair {run_dir}) and the study is "
                              f"rebuilt from evaluations.jsonl")


def _check_table(obj: Any, space: Any, path: str) -> None:
    """A table objective's rows name architectures of ``space`` (their keys, through ``key_map``,
    or their variable columns); the error shows a table key beside a key of the space."""
    table = getattr(obj, "table_", None)
    if table is None or not hasattr(table, "keys"):
        return
    given = obj.table if getattr(obj, "table", None) else None
    try:
        table.keys(space)
    except Exception as exc:
        raise ConfigError(f"{path}.params.table: {given or table.path.name!r}: {_first_line(exc)}") from None


def _check_table_file(params: Mapping[str, Any], path: str) -> None:
    table = params.get("table")
    if not isinstance(table, str):
        return
    from monas.objectives.tabular import ACCEPTED, table_format

    p = Path(table).expanduser()
    accepted = f"{ACCEPTED} laid out like the NB201 table"
    if not p.is_file():
        raise ConfigError(f"{path}.params.table: {table!r} does not exist; accepted: {accepted}")
    fmt = table_format(p)
    if fmt is None:
        raise ConfigError(f"{path}.params.table: {table!r} is not a CSV, JSON or Parquet file; accepted: {accepted}")
    if fmt != "csv":
        return
    import gzip

    try:
        opener = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8", newline="") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ConfigError(f"{path}.params.table: {table!r} cannot be read as text ({_first_line(exc)}); "
                          f"accepted: {accepted}") from None
    if "," not in header:
        raise ConfigError(f"{path}.params.table: {table!r} has no comma-separated header line; accepted: {accepted}")


def _data_stand_in(cfg: Dict[str, Any]) -> Any:
    """What objectives read of the dataset (name, input shape, classes) without loading it: the
    dataset factory's ``describe(**params)``; None when there is no dataset, False when the
    factory cannot say."""
    if "dataset" not in cfg:
        return None
    from types import SimpleNamespace

    from monas.registry import DATASETS

    d = cfg["dataset"]
    describe = getattr(DATASETS.get(d["name"]), "describe", None)
    if not callable(describe):
        return False
    shape, classes = describe(**d["params"])
    return SimpleNamespace(name=d["name"], input_shape=tuple(shape), num_classes=int(classes))


def _dry_measure(obj: Any, space: Any, cfg: Dict[str, Any], path: str, label: str, data: Any = None) -> None:
    """Measure a cheap objective on one sampled architecture, as the first evaluation would."""
    from monas.context import EvaluationContext

    ctx = EvaluationContext(space=space, device=cfg.get("device", "cpu"), data=data, seed=cfg["seed"], run_dir=None)
    arch = space.sample(np.random.default_rng(cfg["seed"]))
    try:
        obj.measure(arch, ctx)
    except Exception as exc:
        raise ConfigError(f"{path}: objective {label!r} fails on a sampled architecture: {_first_line(exc)}") from None


LABEL_PARAMS = ("target", "accuracy", "costs")  # generator parameters that name objective labels
LABEL_KEYED_PARAMS = ("w", "w_below", "targets")  # generator parameters keyed by objective labels
SPACE_KWARGS = {"build_kwargs": "build", "supernet_kwargs": "supernet"}  # passed on to space.<method>


def _check_files_and_labels(params: Mapping[str, Any], path: str, labels) -> None:
    """Parameters that name a file (``table``, ``*_table``) or an objective label."""
    for name, value in params.items():
        if (name == "table" or name.endswith("_table")) and isinstance(value, str) \
                and not Path(value).expanduser().is_file():
            raise ConfigError(f"{path}.params.{name}: {value!r} does not exist; accepted: the path of a file")
        if name in LABEL_PARAMS and labels is not None:
            named = [value] if isinstance(value, str) and value != "auto" else (
                value if isinstance(value, (list, tuple)) else [])
            for label in named:
                if isinstance(label, str) and label not in labels:
                    raise ConfigError(f"{path}.params.{name}: {label!r} is not an objective label; accepted: "
                                      f"{', '.join(labels)}")
        if name in LABEL_KEYED_PARAMS and labels is not None and isinstance(value, Mapping):
            for label in value:
                if label not in labels:
                    raise ConfigError(f"{path}.params.{name}.{label}: {label!r} is not an objective label; "
                                      f"accepted: {', '.join(labels)}")


def check_space_kwargs(space: Any, kwargs: Any, path: str, method: str = "build") -> None:
    """Keyword arguments a config passes on to ``space.build`` / ``space.supernet``: names and
    types from that method's signature."""
    import inspect

    from monas.param_check import ParamError, check_params, signature_of

    fn = getattr(space, method, None)
    sig = signature_of(fn) if fn is not None else None
    if not isinstance(kwargs, Mapping) or sig is None:
        return  # the plugin's own signature check has said what it takes
    accepted = [n for n, p in sig.parameters.items() if n != "arch" and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                                                    p.KEYWORD_ONLY)]
    if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        for key in kwargs:
            if key not in accepted:
                raise ConfigError(f"{path}.{key}: not an argument of {getattr(space, 'name', 'the space')}."
                                  f"{method}(); accepted: {', '.join(accepted)}")
    try:
        check_params(fn, {k: v for k, v in kwargs.items() if k != "arch"})
    except ParamError as exc:
        raise ConfigError(f"{path}.{exc.param}: {exc.message}") from None


def _dry_build(space: Any, build_kwargs: Mapping[str, Any], data: Any, seed: int, path: str) -> None:
    """Build one sampled architecture's network with ``build_kwargs``, as measuring or retraining would."""
    from monas.context import EvaluationContext
    from monas.objectives._build import build_network

    ctx = EvaluationContext(space=space, data=data or None, seed=seed)
    try:
        build_network(space, space.sample(np.random.default_rng(seed)), ctx, None, dict(build_kwargs))
    except Exception as exc:
        raise ConfigError(f"{path}: {dict(build_kwargs)!r}: building a sampled architecture fails: "
                          f"{_first_line(exc)}") from None


def _create(registry, node: Mapping, path: str, space):
    """The plugin of a config node ``{name, params}`` at ``path``: its space keywords
    (``build_kwargs``, ``supernet_kwargs``) checked against the space, then constructed; any
    constructor error becomes one line blaming the parameter at fault."""
    for name, method in SPACE_KWARGS.items():
        if node["params"].get(name):
            check_space_kwargs(space, node["params"][name], f"{path}.params.{name}", method)
    try:
        return registry.create(node["name"], **node["params"])
    except Exception as exc:
        raise _blame(path, node["params"], exc, registry.get(node["name"])) from None


def check(cfg: Dict[str, Any], run_dir: bool = True) -> None:
    """Raise :class:`ConfigError` for the first thing of ``cfg`` that ``search`` would reject
    (see the module docstring); ``run_dir=False`` skips the run directory (``validate`` with no
    run to start)."""
    _check_devices(cfg)
    s = cfg["search_space"]
    try:
        space = SEARCH_SPACES.create(s["name"], **s["params"])
    except Exception as exc:
        raise _blame("search_space", s["params"], exc, SEARCH_SPACES.get(s["name"])) from None
    has_data = "dataset" in cfg
    data = _data_stand_in(cfg)
    for i, o in enumerate(cfg["objectives"]):
        path = f"objectives[{i}]"
        _check_table_file(o["params"], path)
        _check_files_and_labels(o["params"], path, None)
        obj = _create(OBJECTIVES, o, path, space)
        if getattr(obj, "needs_data", False) and not has_data:
            raise ConfigError(f"{path}: objective {o['name']!r} ({o['label']}) trains or evaluates on data; "
                              f"accepted: a config with dataset: {{name: digits}} (or cifar10 with its root)")
        _check_table(obj, space, path)
        if getattr(obj, "needs_search_process", False) and cfg.get("workers", 1) != 1:
            raise ConfigError(f"{path}: objective {o['name']!r} ({o['label']}) reads the supernet the search process "
                              f"trains, which worker processes do not have; accepted: workers: 1 with it "
                              f"(got workers: {cfg['workers']})")
        if isinstance(o["params"].get("build_kwargs"), Mapping) and o["params"]["build_kwargs"] and data is not False:
            _dry_build(space, o["params"]["build_kwargs"], data, cfg["seed"], f"{path}.params.build_kwargs")
        if getattr(obj, "cheap", False) and data is not False:
            _dry_measure(obj, space, cfg, path, o["label"], data)
    labels = [o["label"] for o in cfg["objectives"]]
    for i, g in enumerate(cfg["generators"]):
        path = f"generators[{i}]"
        _check_files_and_labels(g["params"], path, labels)
        generator = _create(GENERATORS, g, path, space)
        try:
            check_capabilities(generator, space, g["label"])
        except CapabilityError as exc:
            raise ConfigError(f"{path}.name: {g['name']!r}: {exc}") from None
        if getattr(generator, "needs_data", False) and not has_data:
            raise ConfigError(f"{path}: generator {g['name']!r} ({g['label']}) trains on data; accepted: a config "
                              f"with dataset: {{name: digits}} (or cifar10 with its root)")
    if (cfg.get("retrain") or {}).get("build"):
        check_space_kwargs(space, cfg["retrain"]["build"], "retrain.build")
        if data is not False:
            _dry_build(space, cfg["retrain"]["build"], data, cfg["seed"], "retrain.build")
    if cfg.get("storage"):
        check_storage(cfg["storage"])
    if run_dir and cfg.get("run_dir"):
        check_run_dir(cfg["run_dir"])
