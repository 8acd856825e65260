"""Config errors: one line naming the path and what is accepted, before any work starts."""
import subprocess
import sys

import pytest
import yaml

from monas.config import ConfigError, validate

BASE = {
    "search_space": {"name": "nb201"},
    "objectives": [{"name": "tabular", "label": "acc", "params": {"column": "c10_test_acc_200ep"}}],
    "generators": [{"name": "random"}],
    "budget": {"evaluations": 5},
}


def bad(**change):
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    cfg.update(change)
    return cfg


@pytest.mark.parametrize("cfg, pattern", [
    (bad(budgt={"evaluations": 1}), r"^budgt: unknown field; accepted: .*budget"),
    (bad(generators=[{"name": "nope"}]), r"^generators\[0\]\.name: unknown generator 'nope'; accepted: .*random"),
    (bad(generators=[{"name": "nsga2", "params": {"pop_sze": 3}}]),
     r"^generators\[0\]\.params\.pop_sze: unknown parameter; accepted: .*pop_size"),
    (bad(search_space={"name": "nb999"}), r"^search_space\.name: unknown search space 'nb999'; accepted: .*nb201"),
    (bad(budget={"evaluations": 0}), r"^budget\.evaluations: must be >= 1"),
    (bad(budget={"evaluations": "many"}), r"^budget\.evaluations: expected a number"),
    (bad(constraints=["latency < 5"]), r"^constraints\[0\]: constraint 'latency < 5'; accepted"),
    (bad(constraints=["lat <= 5"]), r"^constraints\[0\]: unknown objective 'lat'; accepted: acc"),
    (bad(objectives=[{"name": "tabular", "params": {}}]), r"^objectives\[0\]\.params\.column: required parameter is missing"),
    (bad(generators=[{"name": "random", "share": -1}]), r"^generators\[0\]\.share: must be > 0"),
    (bad(device="tpu"), r"^device: 'tpu'; accepted: cpu, cuda, cuda:N"),
    ({k: v for k, v in BASE.items() if k != "budget"}, r"^budget: missing"),
])
def test_bad_field_names_path_and_accepted(cfg, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        validate(cfg)
    assert "\n" not in str(info.value)


def test_valid_config_passes():
    cfg = validate(BASE)
    assert cfg["objectives"][0]["label"] == "acc"
    assert cfg["generators"][0]["share"] == 1.0


def test_cli_validate_reports_one_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(bad(generators=[{"name": "nsga2", "params": {"pop_sze": 3}}])))
    r = subprocess.run([sys.executable, "-m", "monas.cli", "validate", str(p)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "generators[0].params.pop_sze" in r.stderr and "Traceback" not in r.stderr
    p.write_text("a: [unclosed")
    r = subprocess.run([sys.executable, "-m", "monas.cli", "validate", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and "not valid YAML" in r.stderr


def test_cli_list_names_builtins():
    r = subprocess.run([sys.executable, "-m", "monas.cli", "list"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "random" in r.stdout and "nsga2" in r.stdout and "nb201" in r.stdout
