"""Run directory, Optuna record and resume after a kill (kill -9 included)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from monas import config as config_mod
from monas.run_directory import RunDirectory

CONFIG = {
    "seed": 0,
    "search_space": {"name": "nb201"},
    "objectives": [
        {"name": "tabular", "label": "accuracy", "params": {"column": "c10_test_acc_200ep"}},
        {"name": "tabular", "label": "latency", "params": {"column": "lat_ms_1080ti_1"}},
    ],
    "constraints": ["latency <= 14"],
    "generators": [{"name": "evolution"}, {"name": "nsga2", "params": {"pop_size": 10}}],
    "budget": {"evaluations": 120},
    "progress": False,
}


def write_config(tmp_path, **overrides):
    cfg = {**CONFIG, "run_dir": str(tmp_path / "run"), **overrides}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "monas.cli", *args], capture_output=True, text=True, **kw)


def test_run_writes_log_state_config_and_optuna_study(tmp_path):
    path = write_config(tmp_path)
    engine = config_mod.build_engine(config_mod.load(str(path)))
    engine.optimize()
    run = RunDirectory(tmp_path / "run")
    evs = run.read_evaluations()
    assert [e.number for e in evs] == list(range(120))
    assert len({e.arch.key for e in evs}) == 120
    assert run.load_state()["n_unique"] == 120
    assert yaml.safe_load(run.config_path.read_text())["budget"] == {"evaluations": 120}
    study = optuna.load_study(study_name=run.path.name, storage=run.default_storage())
    trials = study.get_trials()
    assert len(trials) == 120
    t = trials[5]
    assert t.user_attrs["arch_key"] == evs[5].arch.key
    assert t.user_attrs["generator"] in ("evolution", "nsga2")
    assert json.loads(t.user_attrs["genotype"]) == list(evs[5].arch.genotype)
    assert t.constraints == {"latency <= 14": pytest.approx(evs[5].violations["latency <= 14"])}
    assert set(t.params) == {"op_1_0", "op_2_0", "op_2_1", "op_3_0", "op_3_1", "op_3_2"}
    assert len(study.best_trials) > 0


def test_existing_run_needs_resume(tmp_path):
    path = write_config(tmp_path, budget={"evaluations": 10})
    config_mod.build_engine(config_mod.load(str(path))).optimize()
    r = run_cli("search", str(path), "--quiet")
    assert r.returncode == 2
    assert "already holds a run; pass --resume" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_resume_after_kill_9_loses_and_repeats_nothing(tmp_path):
    path = write_config(tmp_path, budget={"evaluations": 250})
    log = tmp_path / "run" / "evaluations.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "monas.cli", "search", str(path), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if log.exists() and log.read_text().count("\n") >= 40:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [json.loads(l) for l in log.read_text().splitlines() if l.strip().endswith("}")]
    assert 40 <= len(before) < 250, "the kill should land mid-run"
    r = run_cli("search", str(path), "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    after = RunDirectory(tmp_path / "run").read_evaluations()
    assert len(after) == 250
    assert len({e.arch.key for e in after}) == 250  # nothing repeated
    assert [e.number for e in after] == list(range(250))
    for old, new in zip(before, after):  # nothing lost or rewritten
        assert old["arch"]["key"] == new.arch.key and old["values"] == new.values
    study = optuna.load_study(study_name="run", storage=RunDirectory(tmp_path / "run").default_storage())
    numbers = sorted(t.user_attrs["monas_number"] for t in study.get_trials())
    assert numbers == list(range(250))


def test_torn_last_line_is_dropped_on_resume(tmp_path):
    path = write_config(tmp_path, budget={"evaluations": 20})
    config_mod.build_engine(config_mod.load(str(path))).optimize()
    log = tmp_path / "run" / "evaluations.jsonl"
    with open(log, "a") as fh:
        fh.write('{"number": 20, "arch": {"spa')  # killed mid-write
    cfg = config_mod.load(str(path))
    cfg["budget"] = {"evaluations": 30}
    engine = config_mod.build_engine(cfg, resume=True)
    engine.optimize()
    evs = RunDirectory(tmp_path / "run").read_evaluations()
    assert [e.number for e in evs] == list(range(30))


def test_corrupt_state_replays_from_the_log(tmp_path, caplog):
    path = write_config(tmp_path, budget={"evaluations": 30})
    config_mod.build_engine(config_mod.load(str(path))).optimize()
    (tmp_path / "run" / "state.pt").write_bytes(b"garbage")
    cfg = config_mod.load(str(path))
    cfg["budget"] = {"evaluations": 45}
    engine = config_mod.build_engine(cfg, resume=True)
    engine.optimize()
    assert "corrupt" in caplog.text
    evs = RunDirectory(tmp_path / "run").read_evaluations()
    assert len(evs) == 45 and len({e.arch.key for e in evs}) == 45


def test_report_command_writes_table_and_plot(tmp_path):
    path = write_config(tmp_path, budget={"evaluations": 30})
    config_mod.build_engine(config_mod.load(str(path))).optimize()
    r = run_cli("report", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    assert "accuracy [%] (max)" in r.stdout  # units from the objective, kept in the run directory
    png = tmp_path / "run" / "report" / "pareto.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
