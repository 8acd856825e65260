"""DARTS-family generators end to end through the Engine on digits (tiny supernets)."""
import math

import pytest
import torch

from monas.budget import Budget
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objectives.accuracy import AccuracyObjective
from monas.objectives.params_flops import ParamsObjective
from monas.registry import GENERATORS, SEARCH_SPACES

TINY = {"epochs": 1, "steps_per_epoch": 1, "C": 8, "search_batch_size": 8, "top_k": 2}
EXTRA = {"pc_darts": {"arch_warmup_epochs": 0}}


@pytest.fixture(scope="module")
def digits():
    return load_digits(size=16)


def objectives():
    return {"params": ParamsObjective(),
            "accuracy": AccuracyObjective(fidelity="supernet")}


def space_of(name):
    return SEARCH_SPACES.create("darts", C=4, layers=3) if name == "darts" else SEARCH_SPACES.create("nb201", C=4, N=1)


@pytest.mark.parametrize("method", ["darts", "pc_darts", "rome", "sharp_darts"])
@pytest.mark.parametrize("space_name", ["darts", "nb201"])
def test_generator_proposes_valid_archs_scored_on_its_published_supernet(method, space_name, digits):
    space = space_of(space_name)
    layers = 3 if space_name == "darts" else 1
    gen = GENERATORS.create(method, layers=layers, **TINY, **EXTRA.get(method, {}))
    engine = Engine(space, objectives(), [(method, gen, 1.0)], budget=Budget(evaluations=10), seed=0, data=digits)
    archive = engine.optimize()
    assert engine.stop_reason == "every generator is exhausted"
    evs = archive.evaluations
    assert 1 <= len(evs) <= 2 and all(space.contains(e.arch) for e in evs)
    assert all(e.error is None for e in evs)
    assert all(0.0 <= e.values["accuracy"] <= 100.0 and e.values["params"] > 0 for e in evs)
    assert engine.eval_ctx.shared["supernet"] is gen.search_.net
    assert engine.eval_ctx.shared["supernet_tag"].startswith(f"{method}:{method}:lambda=0.0")
    assert [d["key"] for d in gen.derived_][: len(evs)] == [e.arch.key for e in evs]
    assert all(set(d["parameter_free"]) >= {"skip"} for d in gen.derived_)
    if method == "rome" and space_name == "darts":
        assert "none" not in gen.search_.net.ops


def test_lambda_sweep_gives_cheaper_architectures(digits):
    space = space_of("nb201")
    gen = GENERATORS.create("darts", epochs=1, steps_per_epoch=3, C=8, layers=1, search_batch_size=8, top_k=1,
                            arch_lr=0.3, penalty="params", lambdas=[0.0, 20.0])
    engine = Engine(space, objectives(), [("darts", gen, 1.0)], budget=Budget(evaluations=10), seed=0, data=digits)
    evs = engine.optimize().evaluations
    assert len(evs) == 2
    tags = [r["lambda"] for r in gen.results_]
    assert tags == [0.0, 20.0]
    assert evs[1].values["params"] < evs[0].values["params"]
    cheap = sum(op in ("none", "skip_connect", "avg_pool_3x3") for op in evs[1].arch.genotype)
    assert cheap >= 5


def test_killed_search_resumes_from_its_epoch_checkpoint(tmp_path, digits):
    space = space_of("nb201")
    kw = dict(epochs=2, steps_per_epoch=1, C=8, layers=1, search_batch_size=8, top_k=2, arch_lr=0.05)

    def run(run_dir, resume=False, kill_after_epoch=None):
        gen = GENERATORS.create("rome", **kw)
        engine = Engine(space, {"params": ParamsObjective()}, [("rome", gen, 1.0)], budget=Budget(evaluations=10),
                        seed=0, data=digits, run_dir=run_dir, resume=resume)
        engine.start()
        if kill_after_epoch is not None:
            def progress(msg):
                if f"epoch {kill_after_epoch}/" in msg:
                    raise KeyboardInterrupt
            gen.ctx_.progress = progress
        engine.optimize()
        return gen, engine

    straight, _ = run(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed", kill_after_epoch=1)
    ckpt = tmp_path / "killed" / "checkpoints" / "rome" / "lambda0.pt"
    assert torch.load(ckpt, weights_only=False)["search"]["epoch"] == 1
    resumed, engine = run(tmp_path / "killed", resume=True)
    assert resumed.search_.epoch_ == 2 and len(resumed.search_.history_) == 2
    for k, v in straight.search_.params.items():
        assert torch.equal(resumed.search_.params[k], v)
    assert [e.arch.key for e in engine.archive.evaluations] == [d["key"] for d in straight.derived_]


def test_state_dict_restores_the_trained_supernet_without_a_run_directory(digits):
    space = space_of("darts")
    gen = GENERATORS.create("pc_darts", layers=3, **TINY, **EXTRA["pc_darts"])
    engine = Engine(space, objectives(), [("pc", gen, 1.0)], budget=Budget(evaluations=1), seed=0, data=digits)
    engine.optimize()
    state = gen.state_dict()
    assert "supernet" in state and set(state["arch_params"]) == {"alpha.normal", "alpha.reduce", "beta.normal",
                                                                    "beta.reduce"}
    restored = GENERATORS.create("pc_darts", layers=3, **TINY, **EXTRA["pc_darts"])
    restored.setup(gen.ctx_)
    restored.load_state_dict(state)
    for (n, a), b in zip(gen.search_.net.state_dict().items(), restored.search_.net.state_dict().values()):
        assert torch.equal(a, b), n
    assert [a.key for a in restored.ask(2)] == [a.key for a in gen.ask(2)]
    x = digits.valid.tensors[0][:4]
    w, ew = gen.search_.net.arch_to_weights(gen.ctx_.space.from_key(gen.derived_[0]["key"]))
    gen.search_.net.eval(), restored.search_.net.eval()
    assert torch.allclose(gen.search_.net(x, w, ew), restored.search_.net(x, w, ew))
    assert math.isfinite(float(restored.search_.net(x, w, ew).detach().sum()))
