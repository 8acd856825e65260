"""GCN predictor on supernet estimates (METHODS.md section 6, ``labels="supernet"``) and its
``preset: paper``: the generator trains (or loads) the supernet, labels uniform subnets with
their inherited-weight accuracy, fits the GCN to those labels and proposes under constraints."""
import inspect

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from monas.budget import Budget
from monas.capabilities import CapabilityError
from monas.constraint import Constraint
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objectives.accuracy import AccuracyObjective
from monas.objectives.params_flops import ParamsObjective
from monas.plugins.gcn_predictor import GCNPredictorGenerator
from monas.plugins.gcn_predictor.supernet import SupernetSettings, build_supernet, inherited_accuracy
from monas.registry import SEARCH_SPACES

#: a tiny supernet run: NB201 C=4 N=1 on 8x8 digits, a few SGD steps, 16 labelled subnets
TINY = dict(labels="supernet", supernet_samples=16, supernet_C=4, supernet_depth=1, supernet_epochs=2,
            supernet_steps_per_epoch=6, supernet_batch_size=32, hidden=16, epochs=200, refit_every=4, batch_size=2,
            max_pool=10, pool_size=60, n_mutants=0)  # a sampled pool of 60 cells: params measured for 60, not 15,625


@pytest.fixture(scope="module")
def digits():
    return load_digits(size=8)


@pytest.fixture(scope="module")
def space():
    return SEARCH_SPACES.create("nb201", C=4, N=1)


def run(space, digits, budget=4, constraints=(), run_dir=None, **params):
    torch.set_num_threads(1)
    gen = GCNPredictorGenerator(**{**TINY, **params})
    engine = Engine(space, {"accuracy": AccuracyObjective(fidelity="supernet"), "params": ParamsObjective()},
                    [("gcn", gen, 1.0)], constraints=constraints, budget=Budget(evaluations=budget), seed=0,
                    data=digits, run_dir=run_dir)
    return engine, gen, engine.optimize()


def relabel(gen, space, digits, net):
    return np.array([inherited_accuracy(net, space.from_key(k), digits) for k in gen.sn_labels_["keys"]])


def test_trains_labels_with_supernet_accuracy_fits_and_proposes(space, digits):
    bound = 0.006  # M params: about half of the cells of this tiny NB201
    engine, gen, archive = run(space, digits, budget=4, constraints=[Constraint("params", bound)])
    labels = gen.sn_labels_
    assert labels["source"] == "trained" and len(labels["keys"]) == len(set(labels["keys"])) == 16
    net = engine.eval_ctx.shared["supernet"]  # the supernet it trained, published for the accuracy objective
    assert engine.eval_ctx.shared["supernet_tag"].startswith("gcn:gcn_predictor:trained")
    # the labels are the supernet's inherited-weight accuracies, not anything else
    acc = np.array(labels["acc"])
    assert np.allclose(acc, relabel(gen, space, digits, net))
    assert acc.std() > 0  # the subnets differ (a constant label would fit anything)
    # the GCN is fitted to those labels: its predictions rank them (a fit to other labels does not)
    graphs = [space.to_graph(space.from_key(k)) for k in labels["keys"]]
    pred = gen.sn_predictor_.predict(graphs)
    assert kendalltau(pred, acc)[0] > 0.5
    # it proposes from the predictions, under the constraint (params are measured: cheap)
    evs = archive.evaluations
    assert len(evs) == 4 and all(e.values["params"] <= bound for e in evs)
    assert gen.n_refits_ >= 1 and not gen.predictor_.fitted  # nothing was fitted to the archive
    # the first proposal is on the predicted front: no feasible pool cell has a higher predicted
    # accuracy at no more params
    pool_pred = gen.sn_predictor_.predict(gen._graphs)
    params = gen._measured["params"]
    i = gen.pool_keys_.index(evs[0].arch.key)
    feasible = params <= bound
    dominated_by = feasible & (pool_pred > pool_pred[i] + 1e-9) & (params <= params[i])
    assert not dominated_by.any()


def test_reuses_a_tnd_nas_checkpoint_file(space, digits, tmp_path):
    settings = SupernetSettings(C=4, depth=1)
    torch.manual_seed(3)
    net = build_supernet(space, digits, settings, seed=7)  # other weights than the generator would train
    path = tmp_path / "tnd_nas_search.pt"
    torch.save({"stage": 2, "epoch": 0, "net": net.state_dict()}, path)  # tnd_nas' checkpoint layout
    engine, gen, _ = run(space, digits, budget=2, supernet=str(path))
    assert gen.sn_labels_["source"] == f"file:{path}"
    assert np.allclose(gen.sn_labels_["acc"], relabel(gen, space, digits, net))
    bad = tmp_path / "wrong.pt"
    torch.save({"net": build_supernet(space, digits, SupernetSettings(C=8, depth=1), 0).state_dict()}, bad)
    with pytest.raises(ValueError, match="do not fit the supernet built with supernet_C"):
        run(space, digits, budget=2, supernet=str(bad))


def test_supernet_labels_need_data_and_the_single_path_protocol(space):
    gen = GCNPredictorGenerator(labels="supernet")
    assert gen.needs_data and "supernet.single_path" in gen.required_capabilities()
    assert not GCNPredictorGenerator().needs_data
    plain = SEARCH_SPACES.create("nb201", C=4, N=1)
    plain.supernet_protocols = ()  # an instance that offers no single-path supernet
    with pytest.raises(CapabilityError, match="supernet.single_path"):
        Engine(plain, {"params": ParamsObjective()}, [("gcn", gen, 1.0)], budget=Budget(evaluations=1))
    with pytest.raises(ValueError, match="labels='x'; accepted: archive, supernet"):
        GCNPredictorGenerator(labels="x")


def test_paper_preset_applies_explicit_parameters_win_and_unknown_names_are_refused():
    gen = GCNPredictorGenerator(preset="paper")
    assert (gen.labels, gen.supernet_samples, gen.hidden, gen.layers, gen.epochs, gen.lr) == \
        ("supernet", 1000, 128, 3, 300, 1e-3)
    assert gen.supernet_settings.C == 16 and gen.supernet_settings.epochs == 50
    over = GCNPredictorGenerator(preset="paper", hidden=16, supernet_samples=50)
    assert (over.hidden, over.supernet_samples, over.epochs) == (16, 50, 300)
    with pytest.raises(ValueError) as err:
        GCNPredictorGenerator(preset="papr")
    assert str(err.value) == "gcn_predictor: preset='papr'; accepted: paper"
    params = inspect.signature(GCNPredictorGenerator).parameters
    assert "labels" in params and "preset" in params and "self" not in params
