"""The shipped example configs: every one validates, and the main job is what the README says."""
from pathlib import Path

import pytest

from monas.config import load
from monas.registry import GENERATORS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_validates_and_builds_its_generators(path):
    cfg = load(str(path))
    for g in cfg["generators"]:
        GENERATORS.create(g["name"], **g["params"])  # constructor checks (ranges, choices, per-cost w)


def test_main_job_is_tnd_nas_one_shot_on_nb201_digits_with_params_latency_and_a_retrain():
    cfg = load(str(EXAMPLES / "main.yaml"))
    assert cfg["search_space"]["name"] == "nb201"
    assert cfg["dataset"]["name"] == "digits"
    assert [g["name"] for g in cfg["generators"]] == ["tnd_nas"]
    assert cfg["generators"][0]["params"]["mode"] == "one_shot"
    names = {o["name"]: o for o in cfg["objectives"]}
    assert names["accuracy"]["params"]["fidelity"] == "supernet"
    assert names["latency"]["params"]["device"] == "cpu"
    assert "params" in names
    assert cfg["retrain"]["epochs"] >= 1
    # the retrained network is the one whose params and latency were measured
    assert cfg["retrain"]["build"] == names["params"]["params"]["build_kwargs"] == \
        names["latency"]["params"]["build_kwargs"]
