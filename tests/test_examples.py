"""The shipped example configs: every one validates, and the main job is what the README says."""
from pathlib import Path

import pytest

from monas.config import build_engine, load
from monas.registry import GENERATORS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_validates_and_builds_its_generators(path):
    cfg = load(str(path))
    for g in cfg["generators"]:
        GENERATORS.create(g["name"], **g["params"])  # constructor checks (ranges, choices, per-cost w)


def test_main_job_is_hardware_aware_tnd_nas_with_measured_latency_and_params_in_the_reward():
    cfg = load(str(EXAMPLES / "main.yaml"))
    assert cfg["search_space"]["name"] == "nb201" and "dataset" not in cfg
    assert [g["name"] for g in cfg["generators"]] == ["tnd_nas"]
    params = cfg["generators"][0]["params"]
    names = {o["label"]: o for o in cfg["objectives"]}
    assert names["accuracy"]["name"] == "tabular" and names["accuracy"]["params"]["column"] == "c10_test_acc_200ep"
    assert names["latency"]["name"] == "latency" and names["latency"]["params"]["device"] == "cpu"
    assert names["params"]["name"] == "params"
    assert params["w"]["latency"] < 0 and params["w"]["params"] < 0  # both costs reach the reward
    assert any(c.startswith("latency <=") for c in cfg["constraints"])


def test_main_job_runs_end_to_end_at_a_small_budget(tmp_path):
    cfg = load(str(EXAMPLES / "main.yaml"))
    cfg["run_dir"] = str(tmp_path / "main")
    cfg["budget"] = {"evaluations": 10}
    cfg["generators"][0]["params"].update(n_policies=2, n_calibration=4)
    engine = build_engine(cfg, progress=False)
    archive = engine.optimize()
    assert len(archive) == 10 and all(e.state.value == "complete" for e in archive.evaluations)
    latency = [e.details["latency"] for e in archive.evaluations]
    assert all(d["rounds"] >= 1 and d["device"] == "cpu" and d["median_ms"] > 0 for d in latency)
    gen = engine.slots[0].generator
    assert gen.costs_ == ["params", "latency"] and gen.mode_ == "black_box"


def test_one_shot_example_is_tnd_nas_one_shot_on_digits_with_a_retrain_at_the_measured_size():
    cfg = load(str(EXAMPLES / "oneshot_digits.yaml"))
    assert cfg["search_space"]["name"] == "nb201"
    assert cfg["dataset"]["name"] == "digits"
    assert cfg["generators"][0]["params"]["mode"] == "one_shot"
    names = {o["name"]: o for o in cfg["objectives"]}
    assert names["accuracy"]["params"]["fidelity"] == "supernet"
    assert cfg["retrain"]["epochs"] >= 1
    # the retrained network is the one whose params and latency were measured
    assert cfg["retrain"]["build"] == names["params"]["params"]["build_kwargs"] == \
        names["latency"]["params"]["build_kwargs"]
