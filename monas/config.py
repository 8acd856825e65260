"""Run configuration: YAML validated before any work starts, then built into an Engine.

Every ``{name: ..., params: {...}}`` node becomes ``REGISTRY.create(name, **params)``. A bad
field raises :class:`ConfigError` with one line naming its path and what is accepted, e.g.
``generators[0].params.pop_sze: unknown parameter; accepted: pop_size, mutation_prob``.
See ``examples/*.yaml`` and the README for the format.
"""
from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from monas import strict_yaml
from monas.budget import Budget
from monas.constraint import Constraint
from monas.param_check import ParamError, check_params as check_param_values, schema_of
from monas.registry import DATASETS, GENERATORS, OBJECTIVES, SEARCH_SPACES, Registry, RegistryError

TOP_LEVEL = {
    "run_dir": "path of the run directory (default runs/<config name>)",
    "seed": "integer seed",
    "device": "cpu or cuda[:N]",
    "search_space": "{name, params}",
    "dataset": "{name, params}",
    "objectives": "list of {name, label, params}",
    "constraints": "list of '<label> <= <number>'",
    "generators": "list of {name, label, params, share}",
    "budget": "{evaluations, wall_time_s, target_hypervolume}",
    "storage": "Optuna storage URL",
    "study_name": "Optuna study name (default: the run directory's name)",
    "workers": "evaluation workers: 1 evaluates in the search process (default), N >= 2 starts N worker "
               "processes, 0 starts none and waits for `monas worker` processes",
    "devices": "list of devices (cpu, cuda, cuda:N) dealt to the workers in turn (default: [device])",
    "heartbeat_s": "seconds between a worker's heartbeats; a trial silent for twice this is evaluated again "
                   "(default 5)",
    "retrain": "{epochs, batch_size, lr, build}",
    "progress": "true/false",
    "max_failed_share": "share of evaluations an objective may fail on before the run exits non-zero "
                        "(a number in [0, 1], default 0.5)",
}
REQUIRED = ("search_space", "objectives", "generators", "budget")
BUDGET_KEYS = ("evaluations", "wall_time_s", "target_hypervolume", "hv_ideal", "hv_nadir")
RETRAIN_KEYS = ("epochs", "batch_size", "lr", "build", "top")


class ConfigError(ValueError):
    """A config field that is wrong: the message names its path and what is accepted."""


def _accepted(keys) -> str:
    return ", ".join(sorted(keys))


def _check_params(factory: Any, params: Mapping[str, Any], path: str) -> None:
    try:
        sig = inspect.signature(schema_of(factory))
    except (TypeError, ValueError):
        return
    accepted = [n for n, p in sig.parameters.items()
                if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    for key in params:
        if key not in accepted:
            raise ConfigError(f"{path}.params.{key}: unknown parameter; accepted: {_accepted(accepted) or '(none)'}")
    missing = [n for n, p in sig.parameters.items()
               if n in accepted and p.default is inspect.Parameter.empty and n not in params]
    if missing:
        raise ConfigError(f"{path}.params.{missing[0]}: required parameter is missing")
    try:
        check_param_values(factory, params)
    except ParamError as exc:
        raise ConfigError(f"{path}.params.{exc.param}: {exc.message}") from None


def _node(node: Any, path: str, registry: Registry, extra=()) -> Dict[str, Any]:
    if isinstance(node, str):
        node = {"name": node}
    if not isinstance(node, Mapping):
        raise ConfigError(f"{path}: expected a mapping {{name, params}}, got {type(node).__name__}")
    allowed = {"name", "params", *extra}
    for key in node:
        if key not in allowed:
            raise ConfigError(f"{path}.{key}: unknown field; accepted: {_accepted(allowed)}")
    name = node.get("name")
    if not isinstance(name, str):
        got = "missing" if name is None else f"{name!r} is not a name"
        raise ConfigError(f"{path}.name: {got}; accepted: {_accepted(registry.names())}")
    if "label" in node and (not isinstance(node["label"], str) or not node["label"].strip()):
        raise ConfigError(f"{path}.label: {node['label']!r}; accepted: a non-empty string")
    try:
        factory = registry.get(name)
    except RegistryError:
        raise ConfigError(f"{path}.name: unknown {registry.kind} {name!r}; accepted: "
                          f"{_accepted(registry.names())}") from None
    params = node.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{path}.params: {params!r}; accepted: a mapping of constructor arguments")
    _check_params(factory, params, path)
    return {**node, "name": name, "params": dict(params)}


def _number(value: Any, path: str, kind=float, minimum: Optional[float] = None,
            maximum: Optional[float] = None, above: Optional[float] = None):
    """``value`` as ``kind`` when it is a finite number in range (``above`` is an exclusive bound)."""
    what = "an integer" if kind is int else "a number"
    for op, bound in ((">=", minimum), (">", above), ("<=", maximum)):
        if bound is not None:
            what += f" {op} {bound}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: expected a number, got {value!r}; accepted: {what}")
    if not math.isfinite(value):
        raise ConfigError(f"{path}: {value!r} is not a finite number; accepted: {what}")
    if kind is int and int(value) != value:
        raise ConfigError(f"{path}: expected an integer, got {value!r}; accepted: {what}")
    for op, bound, bad in ((">=", minimum, lambda b: value < b), (">", above, lambda b: value <= b),
                           ("<=", maximum, lambda b: value > b)):
        if bound is not None and bad(bound):
            raise ConfigError(f"{path}: must be {op} {bound}, got {value!r}; accepted: {what}")
    return kind(value)


def _string(value: Any, path: str, accepted: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: {value!r}; accepted: {accepted}")
    return value


def _device(value: Any, path: str) -> str:
    if not isinstance(value, str) or not (value in ("cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())):
        raise ConfigError(f"{path}: {value!r}; accepted: cpu, cuda, cuda:N")
    return value


def validate(raw: Any, source: str = "config") -> Dict[str, Any]:
    """Check ``raw`` (parsed YAML) completely and return it normalised; nothing is built."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of {_accepted(TOP_LEVEL)}")
    for key in raw:
        if key not in TOP_LEVEL:
            raise ConfigError(f"{key}: unknown field; accepted: {_accepted(TOP_LEVEL)}")
    for key in REQUIRED:
        if key not in raw:
            raise ConfigError(f"{key}: missing; it takes {TOP_LEVEL[key]}")
    cfg: Dict[str, Any] = {}
    cfg["seed"] = _number(raw.get("seed", 0), "seed", int, 0, 2 ** 32 - 1)
    cfg["device"] = _device(raw.get("device", "cpu"), "device")
    if raw.get("workers") is not None:
        cfg["workers"] = _number(raw["workers"], "workers", int, 0)
    if raw.get("devices") is not None:
        if not isinstance(raw["devices"], list) or not raw["devices"]:
            raise ConfigError(f"devices: {raw['devices']!r}; accepted: a non-empty list such as [cuda:0, cuda:1] or [cpu]")
        cfg["devices"] = [_device(d, f"devices[{i}]") for i, d in enumerate(raw["devices"])]
    if raw.get("heartbeat_s") is not None:
        cfg["heartbeat_s"] = _number(raw["heartbeat_s"], "heartbeat_s", float, above=0)
    if raw.get("run_dir") is not None:
        cfg["run_dir"] = _string(raw["run_dir"], "run_dir", "a folder path")
    cfg["search_space"] = _node(raw["search_space"], "search_space", SEARCH_SPACES)
    if raw.get("dataset") is not None:
        cfg["dataset"] = _node(raw["dataset"], "dataset", DATASETS)

    objectives = raw["objectives"]
    if not isinstance(objectives, list) or not objectives:
        raise ConfigError("objectives: expected a non-empty list of {name, label, params}")
    cfg["objectives"] = []
    for i, node in enumerate(objectives):
        o = _node(node, f"objectives[{i}]", OBJECTIVES, extra=("label",))
        o["label"] = str(o.get("label") or o["params"].get("column") or o["name"])
        cfg["objectives"].append(o)
    labels = [o["label"] for o in cfg["objectives"]]
    dup = {l for l in labels if labels.count(l) > 1}
    if dup:
        raise ConfigError(f"objectives: label {sorted(dup)[0]!r} is used twice; give each a distinct label")

    cfg["constraints"] = []
    constraints = raw.get("constraints") or []
    if not isinstance(constraints, list):
        raise ConfigError(f"constraints: {constraints!r} is not a list; accepted: a list of "
                          f"'<label> <= <number>', e.g. [\"{labels[-1]} <= 16\"]")
    for i, text in enumerate(constraints):
        if not isinstance(text, str):
            raise ConfigError(f"constraints[{i}]: {text!r} is not a string; accepted: '<label> <= <number>'")
        try:
            c = Constraint.parse(text)
        except ValueError as exc:
            raise ConfigError(f"constraints[{i}]: {exc}") from None
        if not math.isfinite(c.bound):
            raise ConfigError(f"constraints[{i}]: bound {c.bound!r} is not a finite number; accepted: "
                              f"'<objective> <= <finite number>'")
        if c.objective not in labels:
            raise ConfigError(f"constraints[{i}]: unknown objective {c.objective!r}; accepted: {_accepted(labels)}")
        cfg["constraints"].append(str(text))

    generators = raw["generators"]
    if not isinstance(generators, list) or not generators:
        raise ConfigError("generators: expected a non-empty list of {name, label, params, share}")
    cfg["generators"] = []
    for i, node in enumerate(generators):
        g = _node(node, f"generators[{i}]", GENERATORS, extra=("label", "share"))
        g["label"] = str(g.get("label") or g["name"])
        g["share"] = _number(g.get("share", 1.0), f"generators[{i}].share", float, above=0)
        cfg["generators"].append(g)
    glabels = [g["label"] for g in cfg["generators"]]
    if len(set(glabels)) != len(glabels):
        raise ConfigError("generators: two generators share a label; give each a distinct label")

    budget = raw["budget"]
    if not isinstance(budget, Mapping):
        raise ConfigError(f"budget: expected a mapping with any of {_accepted(BUDGET_KEYS)}")
    for key in budget:
        if key not in BUDGET_KEYS:
            raise ConfigError(f"budget.{key}: unknown field; accepted: {_accepted(BUDGET_KEYS)}")
    cfg["budget"] = {}
    if budget.get("evaluations") is not None:
        cfg["budget"]["evaluations"] = _number(budget["evaluations"], "budget.evaluations", int, 1)
    if budget.get("wall_time_s") is not None:
        cfg["budget"]["wall_time_s"] = _number(budget["wall_time_s"], "budget.wall_time_s", float, above=0)
    if budget.get("target_hypervolume") is not None:
        cfg["budget"]["target_hypervolume"] = _number(budget["target_hypervolume"], "budget.target_hypervolume",
                                                      float, above=0)
    for key in ("hv_ideal", "hv_nadir"):
        if budget.get(key) is not None:
            bounds = budget[key]
            if not isinstance(bounds, Mapping) or set(bounds) != set(labels):
                raise ConfigError(f"budget.{key}: expected a value for every objective label; accepted: "
                                  f"{_accepted(labels)}")
            cfg["budget"][key] = {k: _number(v, f"budget.{key}.{k}") for k, v in bounds.items()}
    if "target_hypervolume" in cfg["budget"] and not ("hv_ideal" in cfg["budget"] and "hv_nadir" in cfg["budget"]):
        raise ConfigError("budget.target_hypervolume: needs budget.hv_ideal and budget.hv_nadir to fix the "
                          "normalisation")
    if not any(k in cfg["budget"] for k in BUDGET_KEYS[:3]):
        raise ConfigError(f"budget: give at least one of evaluations, target_hypervolume, wall_time_s")

    if raw.get("storage") is not None:
        cfg["storage"] = _string(raw["storage"], "storage", "an Optuna storage URL such as sqlite:///study.db")
    if raw.get("study_name") is not None:
        cfg["study_name"] = _string(raw["study_name"], "study_name", "a non-empty string")
    if "progress" in raw:
        if not isinstance(raw["progress"], bool):
            raise ConfigError(f"progress: {raw['progress']!r} is not true or false; accepted: true, false")
        cfg["progress"] = raw["progress"]
    if raw.get("max_failed_share") is not None:
        cfg["max_failed_share"] = _number(raw["max_failed_share"], "max_failed_share", float, 0, 1)
    if raw.get("retrain") is not None:
        r = raw["retrain"]
        if not isinstance(r, Mapping):
            raise ConfigError(f"retrain: expected a mapping with any of {_accepted(RETRAIN_KEYS)}")
        for key in r:
            if key not in RETRAIN_KEYS:
                raise ConfigError(f"retrain.{key}: unknown field; accepted: {_accepted(RETRAIN_KEYS)}")
        if "dataset" not in cfg:
            raise ConfigError("retrain: needs a dataset to train on; add dataset: {name: digits}")
        from monas.retrain import retrain_front

        try:
            check_param_values(retrain_front, {("build_kwargs" if k == "build" else k): v for k, v in r.items()})
        except ParamError as exc:
            raise ConfigError(f"retrain.{'build' if exc.param == 'build_kwargs' else exc.param}: {exc.message}") from None
        for key in ("epochs", "batch_size", "top"):
            if r.get(key) is not None:
                _number(r[key], f"retrain.{key}", int, 1)
        if r.get("lr") is not None:
            _number(r["lr"], "retrain.lr", float, above=0)
        cfg["retrain"] = dict(r)
    return cfg


def load(path: str) -> Dict[str, Any]:
    """Read and validate the YAML file at ``path``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = strict_yaml.load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    except strict_yaml.DuplicateKeyError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    cfg = validate(raw, source=str(path))
    cfg.setdefault("run_dir", str(Path("runs") / p.stem))
    return cfg


def build_evaluation(cfg: Dict[str, Any]):
    """The search space, dataset, objectives and constraints of a validated config: everything an
    evaluation needs (a worker builds exactly this)."""
    space = SEARCH_SPACES.create(cfg["search_space"]["name"], **cfg["search_space"]["params"])
    data = None
    if "dataset" in cfg:
        data = DATASETS.create(cfg["dataset"]["name"], **cfg["dataset"]["params"])
    objectives = {}
    for i, o in enumerate(cfg["objectives"]):
        try:
            objectives[o["label"]] = OBJECTIVES.create(o["name"], **o["params"])
        except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
            raise ConfigError(f"objectives[{i}] ({o['name']}): {exc}") from None
    return space, data, objectives, [Constraint.parse(c) for c in cfg["constraints"]]


def build_evaluator(cfg: Dict[str, Any], device: str):
    """``(space, Evaluator)`` of a validated config on ``device``, as a worker evaluates with it."""
    from monas.context import EvaluationContext
    from monas.evaluator import Evaluator

    space, data, objectives, constraints = build_evaluation(cfg)
    ctx = EvaluationContext(space=space, device=device, data=data, seed=int(cfg.get("seed", 0)))
    return space, Evaluator(objectives, constraints, ctx)


def build_engine(cfg: Dict[str, Any], resume: bool = False, progress: Optional[bool] = None,
                 workers: Optional[int] = None):
    """Create every object of a validated config and the Engine that runs them."""
    from monas.engine import Engine

    space, data, objectives, constraints = build_evaluation(cfg)
    generators = []
    for i, g in enumerate(cfg["generators"]):
        try:
            generators.append((g["label"], GENERATORS.create(g["name"], **g["params"]), g["share"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"generators[{i}] ({g['name']}): {exc}") from None
    return Engine(
        space, objectives, generators, constraints=constraints,
        budget=Budget(**cfg["budget"]), seed=cfg["seed"], run_dir=Path(cfg["run_dir"]),
        storage=cfg.get("storage"), study_name=cfg.get("study_name"), data=data,
        device=cfg["device"], resume=resume,
        progress=cfg.get("progress", True) if progress is None else progress, config=cfg,
        workers=cfg.get("workers", 1) if workers is None else workers, devices=cfg.get("devices"),
        heartbeat_s=cfg.get("heartbeat_s", 5.0),
    )
