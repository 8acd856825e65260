import optuna
import pytest

from monas.objectives.tabular import load_table
from monas.optuna_bridge import GeneratorSampler, space_params
from monas.plugins.pymoo_nsga2 import PymooNSGA2
from monas.plugins.regularized_evolution import MORegularizedEvolution


@pytest.mark.parametrize("make", [MORegularizedEvolution, lambda: PymooNSGA2(pop_size=8)])
def test_monas_generator_drives_an_optuna_study(nb201, make):
    table = load_table()
    acc, lat = table.column("c10_test_acc_200ep"), table.column("lat_ms_1080ti_1")

    def objective(trial):
        arch = space_params(trial, nb201)
        row = table.row_of(arch.key, nb201)
        return acc[row], lat[row]

    sampler = GeneratorSampler(make(), nb201, directions=["maximize", "minimize"], seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=64)
    assert len(study.trials) == 64
    assert len(sampler.archive) == 64
    gen = sampler.generator
    if isinstance(gen, MORegularizedEvolution):
        assert gen.n_told_ == 64  # every trial's values went back to the generator
    else:
        assert gen.algorithm_.n_gen >= 8  # pymoo advanced one generation per told population
    assert len(study.best_trials) >= 3
    first = study.trials[0].params
    assert set(first) == {v.name for v in nb201.variables()}


def test_unknown_parameter_is_named(nb201):
    sampler = GeneratorSampler(MORegularizedEvolution(), nb201, directions=["minimize"])
    study = optuna.create_study(sampler=sampler)
    with pytest.raises(ValueError, match="not a variable of space 'nb201'"):
        study.optimize(lambda t: t.suggest_float("lr", 0, 1), n_trials=1)
