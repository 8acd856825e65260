"""NSGA-II from pymoo, driven through pymoo's own ask / tell.

Each variable of the space is an integer gene (the option index). ``variation="integer"``
(default) is pymoo's own recipe for integer variables: SBX crossover and polynomial mutation
with rounding repair. ``variation="categorical"`` treats option indices as unordered: uniform
crossover and a mutation that redraws a gene among its *other* options. On the NB201 table
benchmark (300 evaluations, 10 seeds) the integer recipe at pop_size 20 scored a median HV
ratio of 0.993 against 0.981 for the categorical one. pymoo removes duplicates within and
across generations. Evaluations come back through
``StaticProblem`` with F in minimisation form and G the constraint violations; a failed
evaluation gets a large violation so selection drops it.
"""
from __future__ import annotations

import pickle
from typing import Any, Dict, List

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.mutation import Mutation
from pymoo.core.problem import Problem
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.crossover.ux import UniformCrossover
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.problems.static import StaticProblem

from monas.arch import Arch
from monas.evaluation import Evaluation
from monas.generator import CandidateGenerator

FAILED_VIOLATION = 1e9


class CategoricalMutation(Mutation):
    """Redraw each gene with probability ``prob_var`` (default 1/n_var) among its other options."""

    def __init__(self, prob_var: float = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prob_var_ = prob_var

    def _do(self, problem, X, **kwargs):
        X = X.astype(int).copy()
        rng = kwargs.get("random_state") or np.random.default_rng()
        cards = (problem.xu - problem.xl + 1).astype(int)
        p = self.prob_var_ if self.prob_var_ is not None else 1.0 / problem.n_var
        for i in range(len(X)):
            flips = rng.random(problem.n_var) < p
            if not flips.any():
                flips[rng.integers(problem.n_var)] = True
            for j in np.flatnonzero(flips):
                if cards[j] > 1:
                    X[i, j] = (X[i, j] + 1 + rng.integers(cards[j] - 1)) % cards[j]
        return X


class _SpaceProblem(Problem):
    def __init__(self, cards: np.ndarray, n_obj: int, n_ieq: int) -> None:
        super().__init__(n_var=len(cards), n_obj=n_obj, n_ieq_constr=n_ieq,
                         xl=np.zeros(len(cards)), xu=cards - 1, vtype=int)


class PymooNSGA2(CandidateGenerator):
    """pymoo's NSGA-II. Parameters: ``pop_size`` (20), ``variation`` ("integer" or
    "categorical", see the module docstring), ``mutation_prob`` (per gene, default 1/n_var),
    ``crossover_prob`` (0.9)."""

    contract_params = {"pop_size": 4}

    def __init__(self, pop_size: int = 20, variation: str = "integer", mutation_prob: float = None,
                 crossover_prob: float = 0.9) -> None:
        if variation not in ("integer", "categorical"):
            raise ValueError(f"variation {variation!r}; accepted: integer, categorical")
        self.variation = variation
        self.pop_size = int(pop_size)
        self.batch_size = self.pop_size
        self.mutation_prob = mutation_prob
        self.crossover_prob = crossover_prob

    def setup(self, ctx) -> None:
        super().setup(ctx)
        space = ctx.space
        self.n_ieq_ = max(1, len(ctx.constraints))
        self.problem_ = _SpaceProblem(space.cardinalities(), len(ctx.objectives), self.n_ieq_)
        if self.variation == "integer":
            crossover = SBX(prob=self.crossover_prob, eta=15, vtype=float, repair=RoundingRepair())
            mutation = PM(prob_var=self.mutation_prob, eta=20, vtype=float, repair=RoundingRepair())
        else:
            crossover = UniformCrossover(prob=self.crossover_prob)
            mutation = CategoricalMutation(prob_var=self.mutation_prob)
        self.algorithm_ = NSGA2(
            pop_size=self.pop_size,
            sampling=IntegerRandomSampling(),
            crossover=crossover,
            mutation=mutation,
            eliminate_duplicates=True,
        )
        self.algorithm_.setup(self.problem_, termination=("n_gen", 10**9), seed=ctx.seed, verbose=False)
        self.pending_ = None

    def ask(self, n: int) -> List[Arch]:
        self.pending_ = self.algorithm_.ask()
        X = np.rint(self.pending_.get("X")).astype(int)
        return [self.ctx_.space.decode(x) for x in X]

    def tell(self, evaluations: List[Evaluation]) -> None:
        signs = self.ctx_.signs()
        F = np.zeros((len(evaluations), len(signs)))
        G = np.zeros((len(evaluations), self.n_ieq_))
        for i, ev in enumerate(evaluations):
            if ev.state.value != "complete":
                F[i] = 0.0
                G[i] = FAILED_VIOLATION
                continue
            F[i] = [ev.values[o.label] * s for o, s in zip(self.ctx_.objectives, signs)]
            if self.ctx_.constraints:
                G[i] = [ev.violations[str(c)] for c in self.ctx_.constraints]
        static = StaticProblem(self.problem_, F=F, G=G)
        Evaluator().eval(static, self.pending_)
        self.algorithm_.tell(infills=self.pending_)
        self.pending_ = None

    def state_dict(self) -> Dict[str, Any]:
        return {"algorithm": pickle.dumps(self.algorithm_)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.algorithm_ = pickle.loads(state["algorithm"])
