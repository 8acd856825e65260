"""Any monas generator as an Optuna sampler, for a user's own objective function.

The user's objective suggests the space's variables by name
(``trial.suggest_categorical(name, options)`` for each ``space.variables()``, or simply
``space_params(trial, space)``); the sampler answers them with the candidate the monas
generator proposes, and after each trial tells the generator the values Optuna recorded
(failed trials as FAILED evaluations, constraints from ``trial.constraints``)::

    sampler = GeneratorSampler(MORegularizedEvolution(), space, directions=["maximize", "minimize"])
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(lambda t: my_objective(space_params(t, space)), n_trials=100)

Generators that need the engine's measurement service (``ctx.measure``) are not supported
here: they get a clear error when they ask for it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from monas.archive import ParetoArchive
from monas.arch import Arch
from monas.constraint import Constraint
from monas.context import EvaluationContext, GeneratorContext, ObjectiveSpec
from monas.evaluation import EvalState, Evaluation
from monas.generator import CandidateGenerator
from monas.optuna_record import distributions_of, option_value


def space_params(trial: optuna.Trial, space) -> Arch:
    """Suggest every variable of ``space`` on ``trial`` and return the architecture chosen."""
    dists = distributions_of(space)
    x = []
    for v in space.variables():
        choice = trial.suggest_categorical(v.name, dists[v.name].choices)
        x.append(dists[v.name].choices.index(choice))
    return space.decode(x)


def _no_measure(arch, label):
    raise RuntimeError("this generator asks for engine measurements (ctx.measure), which an Optuna "
                       "objective function does not provide; run it through monas.engine.Engine")


class GeneratorSampler(optuna.samplers.BaseSampler):
    """Optuna sampler backed by a monas ``CandidateGenerator`` over ``space``.

    ``directions`` and ``labels`` describe the study's objectives (labels default to
    ``objective_0``, ...); ``constraints`` names the trial constraint keys ("<label> <= bound"
    strings are only used for naming). ``seed`` seeds the generator.
    """

    def __init__(self, generator: CandidateGenerator, space, directions: Sequence[str],
                 labels: Optional[Sequence[str]] = None, seed: int = 0) -> None:
        self.generator = generator
        self.space = space
        labels = list(labels or [f"objective_{i}" for i in range(len(directions))])
        self.specs = [ObjectiveSpec(l, d) for l, d in zip(labels, directions)]
        self.archive = ParetoArchive(self.specs)
        self.distributions = distributions_of(space)
        ctx = GeneratorContext(
            name=type(generator).__name__, space=space, objectives=self.specs, constraints=[],
            seed=seed, measure=_no_measure, archive=self.archive,
            evaluation=EvaluationContext(space=space, seed=seed),
        )
        generator.setup(ctx)
        self._queue: List[Arch] = []
        self._proposed: Dict[int, Arch] = {}
        self._batch: List[Evaluation] = []
        self._batch_size = 0

    def infer_relative_search_space(self, study, trial: FrozenTrial) -> Dict[str, BaseDistribution]:
        return dict(self.distributions)

    def sample_relative(self, study, trial: FrozenTrial, search_space: Dict[str, BaseDistribution]) -> Dict[str, Any]:
        if not search_space:
            return {}
        if not self._queue:
            self._queue = list(self.generator.ask(self.generator.batch_size))
            self._batch_size = len(self._queue)
            if not self._queue:
                raise RuntimeError(f"{type(self.generator).__name__} has no more candidates")
        arch = self._queue.pop(0)
        self._proposed[trial.number] = arch
        x = self.space.encode(arch)
        return {v.name: option_value(v.options[int(i)]) for v, i in zip(self.space.variables(), x)
                if v.name in search_space}

    def sample_independent(self, study, trial, param_name, param_distribution):
        raise ValueError(f"parameter {param_name!r} is not a variable of space {self.space.name!r}; "
                         f"accepted: {', '.join(self.distributions)}")

    def after_trial(self, study, trial: FrozenTrial, state: TrialState, values: Optional[Sequence[float]]) -> None:
        arch = self._proposed.pop(trial.number, None)
        if arch is None:
            return
        complete = state == TrialState.COMPLETE and values is not None
        ev = Evaluation(
            number=len(self.archive), arch=arch,
            values={s.label: float(v) for s, v in zip(self.specs, values)} if complete else {},
            violations=dict(trial.constraints) if complete else {},
            state=EvalState.COMPLETE if complete else EvalState.FAILED, generator="optuna",
        )
        self.archive.add(ev)
        self._batch.append(ev)
        if len(self._batch) >= self._batch_size:
            self.generator.tell(self._batch)
            self._batch = []
