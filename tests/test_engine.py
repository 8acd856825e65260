"""Engine behaviour: budget, duplicates, failures, reproducibility, portfolio, ask/tell by hand."""
import numpy as np
import pytest

from monas.budget import Budget
from monas.constraint import Constraint
from monas.engine import Engine
from monas.evaluation import EvalState
from monas.generator import CandidateGenerator
from monas.objective import Measurement, Objective
from monas.plugins.random_search import RandomSearch
from monas.plugins.regularized_evolution import MORegularizedEvolution


class Repeater(CandidateGenerator):
    """Proposes the same few architectures over and over."""

    def setup(self, ctx):
        super().setup(ctx)
        rng = np.random.default_rng(0)
        self.pool_ = [ctx.space.sample(rng) for _ in range(3)]
        self.i_ = 0

    def ask(self, n):
        self.i_ += 1
        return [self.pool_[self.i_ % 3]]


class FailsOnConv3(Objective):
    direction = "minimize"

    def measure(self, arch, ctx):
        if arch.genotype[0] == "nor_conv_3x3":
            raise RuntimeError("simulated crash in measurement")
        return Measurement(float(len(arch.key)))


def test_budget_counts_unique_evaluations_and_duplicates_are_free(nb201, table_objectives):
    gen = Repeater()
    engine = Engine(nb201, table_objectives, [("rep", gen, 1.0)], budget=Budget(evaluations=5),
                    seed=0, max_stall=50)
    engine.optimize()
    assert len(engine.archive) == 3
    assert engine.n_duplicates > 40
    assert "stalled" in engine.stop_reason


def test_failed_evaluation_is_recorded_and_run_goes_on(nb201):
    objectives = {"f": FailsOnConv3()}
    engine = Engine(nb201, objectives, [("random", RandomSearch(), 1.0)], budget=Budget(evaluations=60), seed=1)
    archive = engine.optimize()
    states = [e.state for e in archive.evaluations]
    assert len(archive) == 60
    assert EvalState.FAILED in states and EvalState.COMPLETE in states
    failed = [e for e in archive.evaluations if e.state == EvalState.FAILED]
    assert all("simulated crash" in e.error for e in failed)
    assert all(e not in archive.front() for e in failed)


def test_same_seed_same_result(nb201, table_objectives):
    def run(seed):
        e = Engine(nb201, table_objectives, [("evo", MORegularizedEvolution(), 1.0)],
                   budget=Budget(evaluations=80), seed=seed)
        return [ev.arch.key for ev in e.optimize().evaluations]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_portfolio_splits_budget_by_share(nb201, table_objectives):
    engine = Engine(nb201, table_objectives,
                    [("a", RandomSearch(), 3.0), ("b", MORegularizedEvolution(), 1.0)],
                    budget=Budget(evaluations=80), seed=0)
    archive = engine.optimize()
    counts = {g: sum(e.generator == g for e in archive.evaluations) for g in "ab"}
    assert counts == {"a": 60, "b": 20}
    assert sum(archive.contributions().values()) == len(archive.front())


def test_constraints_keep_infeasible_out_of_front(nb201, table_objectives):
    c = Constraint.parse("latency <= 12")
    engine = Engine(nb201, table_objectives, [("r", RandomSearch(), 1.0)], constraints=[c],
                    budget=Budget(evaluations=100), seed=0)
    archive = engine.optimize()
    infeasible = [e for e in archive.evaluations if not e.feasible]
    assert infeasible, "the bound should cut some architectures"
    assert all(e.values["latency"] <= 12 for e in archive.front())
    assert all(e.violations["latency <= 12"] == pytest.approx(e.values["latency"] - 12) for e in infeasible)


def test_ask_tell_by_hand_matches_optimize(nb201, table_objectives):
    def by_hand():
        e = Engine(nb201, table_objectives, [("evo", MORegularizedEvolution(), 1.0)],
                   budget=Budget(evaluations=40), seed=5)
        while len(e.archive) < 40:
            batch = e.ask()
            e.tell(batch, [e.evaluate(a, batch.generator) for a in batch.archs])
        return [ev.arch.key for ev in e.archive.evaluations]

    e = Engine(nb201, table_objectives, [("evo", MORegularizedEvolution(), 1.0)],
               budget=Budget(evaluations=40), seed=5)
    assert [ev.arch.key for ev in e.optimize().evaluations] == by_hand()


def test_wall_time_budget_stops(nb201, table_objectives):
    engine = Engine(nb201, table_objectives, [("r", RandomSearch(), 1.0)],
                    budget=Budget(wall_time_s=0.3), seed=0)
    engine.optimize()
    assert "wall time" in engine.stop_reason
    assert len(engine.archive) > 0


def test_generator_outside_the_space_is_named(nb201, table_objectives):
    from monas.arch import Arch

    class Bad(CandidateGenerator):
        def ask(self, n):
            return [Arch("nb201", "|bogus~0|", ("bogus",))]

    engine = Engine(nb201, table_objectives, [("bad", Bad(), 1.0)], budget=Budget(evaluations=2))
    with pytest.raises(ValueError, match="generator 'bad' proposed an architecture outside"):
        engine.optimize()


def test_target_hypervolume_with_fixed_bounds_stops_early(nb201, table_objectives):
    budget = Budget(evaluations=2000, target_hypervolume=0.8,
                    hv_ideal={"accuracy": 95, "latency": 3}, hv_nadir={"accuracy": 50, "latency": 20})
    engine = Engine(nb201, table_objectives, [("evo", MORegularizedEvolution(), 1.0)], budget=budget, seed=0)
    archive = engine.optimize()
    assert "hypervolume" in engine.stop_reason
    assert len(archive) < 2000
    assert archive.hypervolume(ideal=budget.hv_ideal, nadir=budget.hv_nadir) >= 0.8
    with pytest.raises(ValueError, match="hv_ideal and hv_nadir"):
        Budget(target_hypervolume=0.5)


def test_user_table_with_op_columns_and_any_storage_url(nb201, tmp_path):
    """A table laid out like NB201 but without arch_str (op columns only), from a user path."""
    from monas.objectives.tabular import TabularObjective, load_table
    import optuna

    src = load_table()
    cols = [v.name for v in nb201.variables()]
    lines = [",".join(cols + ["my_acc", "my_latency"])]
    for i in range(len(src)):
        ops = [src.text(c)[i] for c in cols]
        lines.append(",".join(ops + [str(src.column("c10_test_acc_12ep")[i]), str(src.column("lat_ms_pixel3")[i])]))
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(lines) + "\n")
    objectives = {"acc": TabularObjective("my_acc", table=str(path)),
                  "lat": TabularObjective("my_latency", table=str(path))}
    assert objectives["acc"].direction == "maximize" and objectives["lat"].direction == "minimize"
    storage = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    engine = Engine(nb201, objectives, [("r", RandomSearch(), 1.0)], budget=Budget(evaluations=15),
                    run_dir=tmp_path / "run", storage=storage, study_name="mine")
    archive = engine.optimize()
    row = src.row_of(archive.evaluations[0].arch.key, nb201)
    assert archive.evaluations[0].values["acc"] == pytest.approx(src.column("c10_test_acc_12ep")[row])
    assert len(optuna.load_study(study_name="mine", storage=storage).trials) == 15
    with pytest.raises(KeyError, match="accepted: .*my_acc"):
        TabularObjective("nope", table=str(path))
