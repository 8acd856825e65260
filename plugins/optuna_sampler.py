"""Any Optuna sampler as a monas generator (TPESampler, NSGAIISampler, GPSampler, ...).

The generator keeps a private in-memory multi-objective Optuna study whose categorical
parameters are the space's variables. ``ask`` draws Optuna trials and decodes them; ``tell``
completes them with the objective values (failed evaluations as FAIL) and sets the constraint
violations with ``trial.set_constraint`` so constraint-aware samplers see them.
"""
from __future__ import annotations

import inspect
import logging
import pickle
from typing import Any, Dict, List, Optional

import optuna
from optuna.trial import TrialState

from monas.arch import Arch
from monas.evaluation import Evaluation
from monas.generator import CandidateGenerator
from monas.optuna_record import distributions_of


def make_sampler(name: str, params: Dict[str, Any], seed: int) -> optuna.samplers.BaseSampler:
    names = sorted(n for n in dir(optuna.samplers) if n.endswith("Sampler") and not n.startswith("Base"))
    if name not in names:
        raise ValueError(f"unknown Optuna sampler {name!r}; accepted: {', '.join(names)}")
    cls = getattr(optuna.samplers, name)
    accepted = inspect.signature(cls).parameters
    bad = [k for k in params if k not in accepted]
    if bad:
        raise ValueError(f"{name} has no parameter {bad[0]!r}; accepted: {', '.join(accepted)}")
    kwargs = dict(params)
    if "seed" in accepted and "seed" not in kwargs:
        kwargs["seed"] = seed
    return cls(**kwargs)


class OptunaSampler(CandidateGenerator):
    """An Optuna sampler by class name with its parameters.

    Parameters: ``sampler`` ("TPESampler"), ``sampler_params`` ({}), ``batch_size`` (1; larger
    values ask several trials before telling, as parallel workers would).
    """

    def __init__(self, sampler: str = "TPESampler", sampler_params: Optional[Dict[str, Any]] = None,
                 batch_size: int = 1) -> None:
        self.sampler = sampler
        self.sampler_params = dict(sampler_params or {})
        self.batch_size = int(batch_size)

    @staticmethod
    def check_params(sampler: str = "TPESampler", sampler_params: Optional[Dict[str, Any]] = None,
                     batch_size: int = 1) -> None:
        """Before any work: the sampler name, its parameters' names and values (it is built once)."""
        from monas.param_check import ParamError, check_params

        names = sorted(n for n in dir(optuna.samplers) if n.endswith("Sampler") and not n.startswith("Base"))
        if sampler not in names:
            raise ParamError("sampler", f"unknown Optuna sampler {sampler!r}; accepted: {', '.join(names)}")
        cls = getattr(optuna.samplers, sampler)
        params = dict(sampler_params or {})
        accepted = [n for n in inspect.signature(cls).parameters if n != "self"]
        for key in params:
            if key not in accepted:
                raise ParamError(f"sampler_params.{key}", f"{sampler} has no parameter {key!r}; "
                                                          f"accepted: {', '.join(accepted)}")
        try:
            check_params(cls, params)
        except ParamError as exc:
            raise ParamError(f"sampler_params.{exc.param}", exc.message) from None
        try:
            make_sampler(sampler, params, 0)
        except Exception as exc:
            text = (str(exc).splitlines() or [type(exc).__name__])[0]
            bad = next((k for k in params if k in text), next(iter(params)) if len(params) == 1 else None)
            raise ParamError(f"sampler_params.{bad}" if bad else "sampler_params",
                             f"{sampler} rejects {params!r}: {text}") from None

    def setup(self, ctx) -> None:
        super().setup(ctx)
        optuna.logging.set_verbosity(logging.WARNING)
        self.distributions_ = distributions_of(ctx.space)
        self.study_ = optuna.create_study(
            sampler=make_sampler(self.sampler, self.sampler_params, ctx.seed),
            directions=[o.direction for o in ctx.objectives],
        )
        self.pending_: List[optuna.Trial] = []

    def ask(self, n: int) -> List[Arch]:
        space = self.ctx_.space
        out = []
        for _ in range(n):
            trial = self.study_.ask(self.distributions_)
            x = [self.distributions_[v.name].choices.index(trial.params[v.name]) for v in space.variables()]
            self.pending_.append(trial)
            out.append(space.decode(x))
        return out

    def tell(self, evaluations: List[Evaluation]) -> None:
        for trial, ev in zip(self.pending_, evaluations):
            if ev.state.value != "complete":
                self.study_.tell(trial, state=TrialState.FAIL)
                continue
            for c in self.ctx_.constraints:
                trial.set_constraint(str(c), ev.violations[str(c)])
            self.study_.tell(trial, [ev.values[o.label] for o in self.ctx_.objectives])
        self.pending_ = []

    def state_dict(self) -> Dict[str, Any]:
        return {"study": pickle.dumps(self.study_)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.study_ = pickle.loads(state["study"])
        self.pending_ = []
