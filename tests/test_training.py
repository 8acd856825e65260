"""Training from scratch, accuracy / error objectives and their failure messages."""
import pytest
import torch
import torch.nn as nn

from monas.context import EvaluationContext
from monas.datasets import load_digits
from monas.objectives.accuracy import AccuracyObjective, ErrorObjective
from monas.search_spaces.nb201 import NB201Space
from monas.training import NonFiniteLossError, evaluate_accuracy, train_network

KEY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
RECIPE = dict(epochs=2, batch_size=32, lr=0.1, build_kwargs={"C": 4, "N": 1})


@pytest.fixture(scope="module")
def data():
    return load_digits()


@pytest.fixture(scope="module")
def ctx(data):
    return EvaluationContext(space=NB201Space(), data=data, seed=0)


@pytest.fixture(scope="module")
def arch(ctx):
    return ctx.space.from_key(KEY)


@pytest.fixture(scope="module")
def trained(ctx, arch):
    return AccuracyObjective(**RECIPE).measure(arch, ctx)


def test_short_training_beats_chance(trained):
    assert trained.value > 30.0  # chance is 10 %
    assert trained.details["epochs"] == 2 and len(trained.details["train_loss"]) == 2
    assert trained.details["train_loss"][1] < trained.details["train_loss"][0]
    assert trained.details["seconds"] > 0


def test_training_is_deterministic_under_a_seed(trained, ctx, arch, data):
    again = AccuracyObjective(**RECIPE).measure(arch, ctx)
    assert again.value == trained.value
    assert again.details["train_loss"] == trained.details["train_loss"]
    other = AccuracyObjective(**RECIPE).measure(arch, EvaluationContext(space=ctx.space, data=data, seed=1))
    assert other.details["train_loss"] != trained.details["train_loss"]


def test_error_is_100_minus_accuracy(trained, ctx, arch):
    err = ErrorObjective(**RECIPE)
    m = err.measure(arch, ctx)
    assert err.direction == "minimize" and AccuracyObjective.direction == "maximize"
    assert m.value == pytest.approx(100.0 - trained.value) and m.details["accuracy"] == trained.value
    assert err.fingerprint(ctx)["kind"] == "error"
    assert AccuracyObjective(**RECIPE).fingerprint(ctx)["seed"] == 0


def test_nan_loss_names_arch_and_epoch(ctx, arch):
    with pytest.raises(NonFiniteLossError, match=r"nor_conv_3x3~0.*epoch 1 of 1"):
        AccuracyObjective(epochs=1, batch_size=32, lr=1e10, build_kwargs={"C": 4, "N": 1}).measure(arch, ctx)


def test_injected_nan_raises_in_train_network(data):
    net = nn.Sequential(nn.Flatten(), nn.Linear(256, 10))
    with torch.no_grad():
        net[1].weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="tiny: loss became nan in epoch 1"):
        train_network(net, data, epochs=1, name="tiny")


def test_train_network_plain_module_and_evaluate(data):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(256, 10))
    history = train_network(net, data, epochs=2, batch_size=32, lr=0.05, seed=3)
    assert history["valid_acc"] > 60.0 and history["steps"] == 2 * 23
    assert evaluate_accuracy(net, data.loader("valid", shuffle=False)) == history["valid_acc"]
    with pytest.raises(ValueError, match="epochs >= 1"):
        train_network(net, data, epochs=0)


def test_fidelity_errors(ctx, arch):
    with pytest.raises(ValueError, match="'tabular' objective"):
        AccuracyObjective(fidelity="tabular")
    with pytest.raises(ValueError, match="accepted: train, supernet, tabular"):
        AccuracyObjective(fidelity="zero-cost")
    with pytest.raises(ValueError, match=r"no supernet was published in ctx.shared\['supernet'\]"):
        AccuracyObjective(fidelity="supernet").measure(arch, ctx)
    with pytest.raises(ValueError, match="needs a dataset"):
        AccuracyObjective().measure(arch, EvaluationContext(space=ctx.space))


def test_supernet_fidelity_inherits_weights(data, arch):
    space = NB201Space(C=4, N=1)
    net = space.supernet(mode="discrete", in_channels=1)
    shared = {"supernet": net, "supernet_tag": 7}
    ctx = EvaluationContext(space=space, data=data, shared=shared)
    m = AccuracyObjective(fidelity="supernet").measure(arch, ctx)
    assert 0.0 <= m.value <= 100.0 and m.details["supernet_tag"] == 7
    assert AccuracyObjective(fidelity="supernet").fingerprint(ctx)["supernet_tag"] == 7
    assert net.training  # left as the generator had it
