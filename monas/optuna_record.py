"""OptunaRecord: every evaluation is also a trial of a multi-objective Optuna study.

Trials carry the architecture's option choices as categorical params, the objective values (the
study's metric names are the objective labels), ``user_attrs`` (``monas_number``, ``arch_key``,
``genotype``, ``generator``, error), real start and completion times, and the constraint
violations as Optuna constraints (``trial.constraints``), which is where Optuna's samplers,
plots and optuna-dashboard read feasibility.

The study name defaults to the run's name, so several runs share one storage without colliding;
opening a study that holds another run (other objectives, or trials without ``--resume``) is
refused in one line before any evaluation.
"""
from __future__ import annotations

import datetime
import json
import logging
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from monas.context import ObjectiveSpec
from monas.evaluation import EvalState, Evaluation
from monas.run_directory import LEGACY_STUDY_NAME, RunDirectoryError, default_study_name  # noqa: F401

#: study user attribute holding the run's resolved config (workers build their objectives from it)
CONFIG_ATTR = "monas_config"


class StudyMismatch(RunDirectoryError):
    """The configured study belongs to another run; the message says which and what to do."""


def option_value(option: Any) -> Any:
    """An option as an Optuna categorical choice (None, bool, int, float or str)."""
    if option is None or isinstance(option, (bool, int, float, str)):
        return option
    return json.dumps(option)


def distributions_of(space) -> Dict[str, CategoricalDistribution]:
    return {v.name: CategoricalDistribution([option_value(o) for o in v.options]) for v in space.variables()}


def params_of(space, arch) -> Dict[str, Any]:
    x = space.encode(arch)
    return {v.name: option_value(v.options[int(i)]) for v, i in zip(space.variables(), x)}


def existing_study_name(storage, preferred: str) -> str:
    """``preferred`` unless the storage lacks it and holds the name runs had before study names
    followed the run (``monas``): reading and resuming such a run keeps working."""
    try:
        names = set(optuna.get_all_study_names(storage))
    except Exception:
        return preferred
    return LEGACY_STUDY_NAME if preferred not in names and LEGACY_STUDY_NAME in names else preferred


def trial_attrs(number: int, arch, generator: str) -> Dict[str, Any]:
    """The user attributes that tie a trial to the run: its evaluation number and architecture."""
    return {"monas_number": int(number), "arch_key": arch.key, "genotype": json.dumps(arch.genotype),
            "space": arch.space, "generator": generator}


def open_study(storage, study_name: str, objectives: Sequence[ObjectiveSpec], resume: bool,
               config: Optional[Dict[str, Any]] = None) -> optuna.Study:
    """Create or load ``study_name``; refuse (StudyMismatch) a study of other objectives, or one
    that already holds trials when the run is not resumed. Sets the metric names."""
    optuna.logging.set_verbosity(logging.WARNING)
    labels = [o.label for o in objectives]
    directions = [o.direction for o in objectives]
    where = storage if isinstance(storage, str) else getattr(storage, "url", "the storage")
    from monas.study_storage import masked_url

    where = masked_url(where) if isinstance(where, str) else where
    names = set(optuna.get_all_study_names(storage))
    if study_name in names:
        study = optuna.load_study(study_name=study_name, storage=storage)
        theirs = study.metric_names or [f"objective {i}" for i in range(len(study.directions))]
        their_dirs = [d.name.lower() for d in study.directions]
        if theirs != labels or their_dirs != directions:
            raise StudyMismatch(
                f"study {study_name!r} in {where} has the objectives "
                f"{', '.join(f'{n} ({d})' for n, d in zip(theirs, their_dirs))}, not "
                f"{', '.join(f'{n} ({d})' for n, d in zip(labels, directions))}; set study_name to another name")
        if not resume and study.get_trials(deepcopy=False):
            raise StudyMismatch(f"study {study_name!r} in {where} already holds {len(study.trials)} trials of another "
                                f"run; pass --resume to continue it or set study_name to another name")
    else:
        study = optuna.create_study(storage=storage, study_name=study_name, directions=directions)
        with warnings.catch_warnings():  # experimental in Optuna 5; the study's objectives get their names
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(labels)
    if config is not None:
        study.set_user_attr(CONFIG_ATTR, json.loads(json.dumps(config, default=str)))
    return study


def _when(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t)


class OptunaRecord:
    """Mirror of the evaluations log in an Optuna study (``storage`` is a URL or an Optuna storage)."""

    def __init__(self, storage, study_name: str, space, objectives: Sequence[ObjectiveSpec],
                 resume: bool = False, config: Optional[Dict[str, Any]] = None) -> None:
        self.space = space
        self.objectives = list(objectives)
        self.study = open_study(storage, study_name, self.objectives, resume, config)
        self.distributions = distributions_of(space)

    def recorded_numbers(self) -> set:
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        return {t.user_attrs.get("monas_number") for t in trials if "monas_state" in t.user_attrs
                or t.state == TrialState.COMPLETE or "error" in t.user_attrs}

    def record(self, evaluation: Evaluation) -> None:
        attrs = trial_attrs(evaluation.number, evaluation.arch, evaluation.generator)
        attrs["monas_state"] = evaluation.state.value
        complete = evaluation.state == EvalState.COMPLETE
        if not complete:
            attrs["error"] = (evaluation.error or "")[:2000]
        system_attrs: Dict[str, Any] = {}
        if complete:
            for name, v in evaluation.violations.items():
                system_attrs[f"constraints:{name}"] = float(v)
        started = evaluation.started_at or datetime.datetime.now().timestamp()
        trial = FrozenTrial(
            number=-1, trial_id=-1,
            state=TrialState.COMPLETE if complete else TrialState.FAIL,
            value=None, values=[evaluation.values[o.label] for o in self.objectives] if complete else None,
            datetime_start=_when(started), datetime_complete=_when(started + max(0.0, evaluation.duration_s)),
            params=params_of(self.space, evaluation.arch), distributions=self.distributions,
            user_attrs=attrs, system_attrs=system_attrs, intermediate_values={},
        )
        self.study.add_trial(trial)

    def sync(self, evaluations: List[Evaluation]) -> int:
        """Record the evaluations the study lacks (after a crash between log and study)."""
        have = self.recorded_numbers()
        missing = [e for e in evaluations if e.number not in have]
        for e in missing:
            self.record(e)
        return len(missing)
