"""OptunaRecord: every evaluation is also a trial of a multi-objective Optuna study.

Trials carry the architecture's option choices as categorical params, the objective values,
``user_attrs`` (``monas_number``, ``arch_key``, ``genotype``, ``generator``, error) and the
constraint violations through ``create_trial(constraints=...)``, which is where Optuna's own
samplers and tools (``trial.constraints``, feasibility in plots) read them.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Sequence

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from monas.context import ObjectiveSpec
from monas.evaluation import EvalState, Evaluation


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


class OptunaRecord:
    """Mirror of the evaluations log in an Optuna study (``storage`` is any Optuna storage URL)."""

    def __init__(self, storage: str, study_name: str, space, objectives: Sequence[ObjectiveSpec]) -> None:
        optuna.logging.set_verbosity(logging.WARNING)
        self.space = space
        self.objectives = list(objectives)
        self.study = optuna.create_study(
            storage=storage, study_name=study_name, load_if_exists=True,
            directions=[o.direction for o in self.objectives],
        )
        self.distributions = distributions_of(space)

    def recorded_numbers(self) -> set:
        trials = self.study.get_trials(deepcopy=False)
        return {t.user_attrs.get("monas_number") for t in trials}

    def record(self, evaluation: Evaluation) -> None:
        attrs = {
            "monas_number": evaluation.number,
            "arch_key": evaluation.arch.key,
            "genotype": json.dumps(evaluation.arch.genotype),
            "generator": evaluation.generator,
        }
        complete = evaluation.state == EvalState.COMPLETE
        if not complete:
            attrs["error"] = (evaluation.error or "")[:2000]
        trial = create_trial(
            state=TrialState.COMPLETE if complete else TrialState.FAIL,
            values=[evaluation.values[o.label] for o in self.objectives] if complete else None,
            params=params_of(self.space, evaluation.arch),
            distributions=self.distributions,
            user_attrs=attrs,
            constraints=dict(evaluation.violations) if complete and evaluation.violations else None,
        )
        self.study.add_trial(trial)

    def sync(self, evaluations: List[Evaluation]) -> int:
        """Record the evaluations the study lacks (after a crash between log and study)."""
        have = self.recorded_numbers()
        missing = [e for e in evaluations if e.number not in have]
        for e in missing:
            self.record(e)
        return len(missing)
