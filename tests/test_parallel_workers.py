"""Parallel search: N worker processes on the run's Optuna study (SQLite on one machine, PostgreSQL
across machines), the global budget, no duplicates, one numbering, faults, the run-directory lock."""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from monas import config as config_mod
from monas.evaluation_queue import stale_trials, told_evaluations
from monas.testing.faults import optimize_killing_workers
from monas.run_directory import RunDirectory
from monas.run_lock import RunLock, RunLocked

ROOT = Path(__file__).resolve().parent.parent


def _config(run_dir, generators=None, budget=40, workers=3, delay_s=0.0, storage=None, study=None, seed=0,
            heartbeat_s=1.0, table=None, extra=None):
    acc = {"column": "c10_test_acc_200ep", "direction": "maximize", "delay_s": delay_s}
    if table:
        acc["table"] = str(table)
    raw = {
        "run_dir": str(run_dir), "seed": seed, "search_space": {"name": "nb201"},
        "objectives": [{"name": "tabular", "label": "accuracy", "params": acc},
                       {"name": "tabular", "label": "latency", "params": {"column": "lat_ms_1080ti_1",
                                                                           "direction": "minimize"}}],
        "constraints": ["latency <= 16"],
        "generators": generators or [{"name": "random"}],
        "budget": {"evaluations": budget, "wall_time_s": 240}, "workers": workers, "heartbeat_s": heartbeat_s, "progress": False,
    }
    if storage:
        raw["storage"] = storage
    if study:
        raw["study_name"] = study
    raw.update(extra or {})
    return config_mod.validate(raw)


def _check_run(cfg, budget):
    """Exactly ``budget`` unique evaluations numbered 0..budget-1, log and study identical."""
    log = RunDirectory(Path(cfg["run_dir"])).read_evaluations()
    assert sorted(e.number for e in log) == list(range(budget))
    keys = [e.arch.key for e in log]
    assert len(set(keys)) == budget
    study = optuna.load_study(study_name=cfg.get("study_name") or Path(cfg["run_dir"]).name,
                              storage=cfg.get("storage") or RunDirectory(Path(cfg["run_dir"])).default_storage())
    counted = told_evaluations(study)
    assert sorted(counted) == list(range(budget))
    for e in log:
        t, ev = counted[e.number]
        assert t.user_attrs["arch_key"] == e.arch.key == ev.arch.key
        assert ev.values == e.values
    return log, study, counted


def test_three_local_workers_spend_exactly_the_budget_once_each(tmp_path):
    cfg = _config(tmp_path / "run", budget=40, workers=3, delay_s=0.05,
                  generators=[{"name": "random", "share": 1}, {"name": "evolution", "share": 1}])
    engine = config_mod.build_engine(cfg)
    engine.optimize()
    assert engine.n_unique == 40 and engine.stop_reason
    log, study, counted = _check_run(cfg, 40)
    # several workers evaluated, each trial carries real times, the study names its metrics
    assert len({t.user_attrs["monas_worker"] for t, _ in counted.values()}) >= 2
    assert all(t.datetime_complete > t.datetime_start for t, _ in counted.values())
    assert study.metric_names == ["accuracy", "latency"]
    assert all("latency <= 16" in t.constraints for t, _ in counted.values() if t.state == TrialState.COMPLETE)
    # the generators were told every batch: both counted their unique evaluations
    assert {s.label: s.used for s in engine.slots} == {
        lab: sum(1 for e in log if e.generator == lab) for lab in ("random", "evolution")}
    assert not engine.local_workers and not RunLock(engine.run_dir.path).owner() == {}  # workers gone, lock file left


class _Repeater:
    """Proposes from a short fixed list, again and again, without waiting for tells."""

    max_pending_batches = None
    batch_size = 2
    requires = ("categorical",)
    contract_params = {}

    def __init__(self, archs):
        self.archs = archs
        self.told = []
        self.pending_seen = []
        self.i = 0

    def required_capabilities(self):
        return self.requires

    def setup(self, ctx):
        self.ctx_ = ctx

    def ask(self, n):
        self.pending_seen.append(set(self.ctx_.pending()))
        out = [self.archs[(self.i + k) % len(self.archs)] for k in range(n)]
        self.i += n
        return out

    def tell(self, evaluations):
        self.told.append([e.arch.key for e in evaluations])

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def test_a_candidate_proposed_while_pending_is_evaluated_once_and_told_to_every_batch(tmp_path, nb201):
    from monas.budget import Budget
    from monas.engine import Engine
    from monas.objectives.tabular import TabularObjective

    rng = __import__("numpy").random.default_rng(0)
    archs = [nb201.sample(rng) for _ in range(5)]
    gen = _Repeater(archs)
    cfg = _config(tmp_path / "run", budget=5, workers=2, delay_s=0.2)
    engine = Engine(nb201, {"accuracy": TabularObjective("c10_test_acc_200ep", delay_s=0.2),
                            "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize")},
                    [("rep", gen, 1.0)], budget=Budget(evaluations=10, wall_time_s=90), run_dir=tmp_path / "run", workers=2,
                    heartbeat_s=1.0, config=cfg, max_stall=50)
    engine.optimize()
    log = engine.run_dir.read_evaluations()
    assert sorted(e.arch.key for e in log) == sorted(a.key for a in archs)  # each once
    assert engine.n_duplicates > 0 and "stalled" in engine.stop_reason
    # the generator saw the candidates in flight, and every batch of its asks was told
    assert any(p for p in gen.pending_seen)
    assert sum(len(t) for t in gen.told) == 2 * len(gen.told) and len(gen.told) >= 3


def test_a_second_process_on_a_live_run_directory_is_refused_and_a_killed_owners_lock_is_taken_over(tmp_path):
    cfg = _config(tmp_path / "run", budget=5, workers=1)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from monas.run_lock import RunLock; l = RunLock(sys.argv[1]); l.acquire('run'); "
        "print('held', flush=True); time.sleep(60)"), str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    engine = config_mod.build_engine(cfg)
    with pytest.raises(RunLocked) as err:
        engine.optimize()
    msg = str(err.value)
    assert f"pid {holder.pid}" in msg and "monas worker --storage" in msg and "\n" not in msg
    assert not (tmp_path / "run" / "evaluations.jsonl").exists()  # refused before any work
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    engine = config_mod.build_engine(cfg)
    engine.optimize()  # the dead owner's lock is taken over
    assert engine.n_unique == 5


def test_the_cli_refuses_a_second_search_on_a_live_run(tmp_path):
    (tmp_path / "c.yaml").write_text(json.dumps({
        "run_dir": str(tmp_path / "run"), "search_space": {"name": "nb201"},
        "objectives": [{"name": "tabular", "label": "accuracy", "params": {"column": "c10_test_acc_200ep",
                                                                            "delay_s": 0.05}}],
        "generators": [{"name": "random"}], "budget": {"evaluations": 400}, "progress": False}))
    first = subprocess.Popen([sys.executable, "-m", "monas", "search", str(tmp_path / "c.yaml"), "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "run" / "evaluations.jsonl"
    deadline = time.time() + 60
    while not (log.exists() and log.stat().st_size > 0) and time.time() < deadline:
        time.sleep(0.1)
    second = subprocess.run([sys.executable, "-m", "monas", "search", str(tmp_path / "c.yaml"), "--resume", "--quiet"],
                            capture_output=True, text=True, timeout=120)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and "in use" in lines[0]


def _run_cli(cfg_path, *extra, timeout=300):
    return subprocess.run([sys.executable, "-m", "monas", "search", str(cfg_path), "--quiet", *extra],
                          capture_output=True, text=True, timeout=timeout)


def test_one_worker_resume_after_kills_inside_batches_ends_with_the_uninterrupted_evaluations(tmp_path):
    """nsga2 (batches of 10) beside evolution, killed with SIGKILL at random moments and resumed:
    the same keys in the same order as the uninterrupted run."""
    def write(run_dir):
        raw = {"run_dir": str(run_dir), "seed": 3, "search_space": {"name": "nb201"},
               "objectives": [{"name": "tabular", "label": "accuracy",
                               "params": {"column": "c10_test_acc_200ep", "delay_s": 0.01}},
                              {"name": "tabular", "label": "latency",
                               "params": {"column": "lat_ms_1080ti_1", "direction": "minimize"}}],
               "generators": [{"name": "nsga2", "params": {"pop_size": 10}}, {"name": "evolution"}],
               "budget": {"evaluations": 90}, "progress": False}
        p = run_dir.parent / f"{run_dir.name}.yaml"
        p.write_text(json.dumps(raw))
        return p

    ref = _run_cli(write(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    path = write(tmp_path / "killed")
    rng = random.Random(0)
    kills = 0
    for attempt in range(40):
        log = tmp_path / "killed" / "evaluations.jsonl"
        before = log.read_text().count("\n") if log.exists() else 0
        if before >= 90:
            break
        args = [sys.executable, "-m", "monas", "search", str(path), "--quiet"] + (["--resume"] if log.exists() else [])
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # kill at a random moment once this process has logged a few evaluations
        target = before + rng.randint(2, 12)
        deadline = time.time() + 60
        while p.poll() is None and time.time() < deadline:
            if log.exists() and log.read_text().count("\n") >= target:
                time.sleep(rng.random() * 0.05)
                p.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.005)
        p.wait()
        if p.returncode == 0:
            break
    assert kills >= 3
    if not (tmp_path / "killed" / "state.pt").exists() or RunDirectory(tmp_path / "killed").read_evaluations().__len__() < 90:
        done = _run_cli(path, "--resume")
        assert done.returncode == 0, done.stderr
    want = [(e.number, e.arch.key) for e in RunDirectory(tmp_path / "ref").read_evaluations()]
    got = sorted((e.number, e.arch.key) for e in RunDirectory(tmp_path / "killed").read_evaluations())
    assert got == want


def test_joining_a_study_of_other_objectives_or_another_runs_study_is_refused_before_any_evaluation(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    first = _config(tmp_path / "a", budget=3, workers=1, storage=storage, study="shared")
    config_mod.build_engine(first).optimize()
    # other objectives
    other = _config(tmp_path / "b", budget=3, workers=1, storage=storage, study="shared")
    other["objectives"] = other["objectives"][:1]
    other["constraints"] = []
    with pytest.raises(Exception) as err:
        config_mod.build_engine(other).optimize()
    assert "study 'shared'" in str(err.value) and "accuracy (maximize)" in str(err.value)
    assert not (tmp_path / "b" / "evaluations.jsonl").exists()
    # same objectives, another run, not --resume
    again = _config(tmp_path / "c", budget=3, workers=1, storage=storage, study="shared")
    with pytest.raises(Exception) as err:
        config_mod.build_engine(again).optimize()
    assert "already holds 3 trials" in str(err.value)
    # two runs with default names in one storage do not collide
    for name in ("d", "e"):
        config_mod.build_engine(_config(tmp_path / name, budget=2, workers=1, storage=storage)).optimize()
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    assert {"shared", "d", "e"} <= names


def test_a_worker_that_cannot_reach_the_storage_exits_with_one_line_and_the_password_masked(tmp_path):
    url = "postgresql+psycopg2://monas:s3cret@127.0.0.1:9/nowhere"
    res = subprocess.run([sys.executable, "-m", "monas", "worker", "--storage", url, "--study", "x", "--tries", "2"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    lines = [line for line in res.stderr.strip().splitlines() if line.startswith("monas worker:")]
    assert len(lines) == 1 and "s3cret" not in res.stderr and "***" in lines[0] and "after 2 tries" in lines[0]


def test_failed_evaluations_are_recorded_and_the_workers_go_on(tmp_path, nb201):
    # a table that lacks most architectures: their evaluations fail, in the workers
    from monas.objectives.tabular import load_table

    rows = Path(tmp_path / "small.csv")
    keys = list(load_table(None).keys(nb201))[:200]
    rows.write_text("arch_str,c10_test_acc_200ep\n" + "\n".join(f"{k},{i % 90}" for i, k in enumerate(keys)) + "\n")
    cfg = _config(tmp_path / "run", budget=30, workers=2, table=rows)
    cfg["max_failed_share"] = 1.0
    engine = config_mod.build_engine(cfg)
    engine.optimize()
    log, study, counted = _check_run(cfg, 30)
    failed = [e for e in log if e.error]
    assert len(failed) >= 25  # 200 of 15,625 cells are in the table: random cells almost all fail
    for e in failed:
        t, _ = counted[e.number]
        assert t.state == TrialState.FAIL and "error" in t.user_attrs


# --------------------------------------------------------------------------- PostgreSQL
def test_three_workers_on_postgresql_killed_with_sigkill_lose_and_duplicate_nothing(tmp_path, postgres_url):
    study = f"kills-{uuid.uuid4().hex[:8]}"
    cfg = _config(tmp_path / "run", budget=60, workers=3, delay_s=0.25, storage=postgres_url, study=study,
                  heartbeat_s=1.0, generators=[{"name": "evolution"}])
    engine = config_mod.build_engine(cfg)
    kills = optimize_killing_workers(engine, 6, (1.5, 3.0), seed=1, min_unique=4)
    assert len(kills) >= 5
    log, st, counted = _check_run(cfg, 60)
    # killed mid-evaluation: their trials were failed as stale and evaluated again under the same number
    stale = stale_trials(st)
    assert stale, "no kill landed inside an evaluation"
    retried = {t.user_attrs["monas_number"] for t in stale}
    assert retried <= set(counted)


def test_monas_worker_processes_started_elsewhere_join_a_search_on_postgresql(tmp_path, postgres_url):
    study = f"join-{uuid.uuid4().hex[:8]}"
    cfg = _config(tmp_path / "run", budget=24, workers=0, delay_s=0.1, storage=postgres_url, study=study)
    engine = config_mod.build_engine(cfg)
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("archive", engine.optimize()))
    runner.start()
    deadline = time.time() + 60
    while "monas_parallel" not in _study_attrs(postgres_url, study) and time.time() < deadline:
        time.sleep(0.2)
    workers = [subprocess.Popen([sys.executable, "-m", "monas", "worker", "--storage", postgres_url, "--study", study,
                                 "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(3)]
    runner.join(timeout=240)
    outs = [w.communicate(timeout=60)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outs
    log, st, counted = _check_run(cfg, 24)
    assert len({t.user_attrs["monas_worker"] for t, _ in counted.values()}) == 3


def _study_attrs(url, name):
    try:
        return optuna.load_study(study_name=name, storage=url).user_attrs
    except KeyError:
        return {}


def test_a_killed_search_resumes_with_what_its_workers_finished_meanwhile(tmp_path):
    raw = {"run_dir": str(tmp_path / "run"), "seed": 0, "search_space": {"name": "nb201"},
           "objectives": [{"name": "tabular", "label": "accuracy", "params": {"column": "c10_test_acc_200ep",
                                                                               "delay_s": 0.3}}],
           "generators": [{"name": "evolution"}], "budget": {"evaluations": 36, "wall_time_s": 240},
           "workers": 3, "heartbeat_s": 1.0, "progress": False}
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(raw))
    search = subprocess.Popen([sys.executable, "-m", "monas", "search", str(path), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "run" / "evaluations.jsonl"
    deadline = time.time() + 120
    while not (log.exists() and log.read_text().count("\n") >= 8) and time.time() < deadline:
        time.sleep(0.05)
    search.send_signal(signal.SIGKILL)
    search.wait()
    logged = log.read_text().count("\n")
    time.sleep(2.0)  # the orphaned workers finish what they hold, then exit (their parent is gone)
    study = optuna.load_study(study_name="run", storage=RunDirectory(tmp_path / "run").default_storage())
    finished = len(told_evaluations(study))
    assert finished > logged  # results the search never read
    done = _run_cli(path, "--resume")
    assert done.returncode == 0, done.stderr
    _check_run(config_mod.validate(raw), 36)


@pytest.mark.parametrize("generator", [{"name": "nsga2", "params": {"pop_size": 10}}, {"name": "gcn_predictor"}],
                         ids=["nsga2", "gcn_predictor"])
def test_a_batch_generator_with_three_workers_proposes_exactly_what_it_proposes_with_one(tmp_path, generator):
    """Results are released in number order, so a generator that waits for its batch is told the same
    batches and reads the same archive as with one worker."""
    runs = {}
    for workers in (1, 3):
        cfg = _config(tmp_path / f"w{workers}", budget=50, workers=workers, delay_s=0.02, generators=[generator],
                      seed=5)
        config_mod.build_engine(cfg).optimize()
        runs[workers] = [(e.number, e.arch.key) for e in
                         sorted(RunDirectory(Path(cfg["run_dir"])).read_evaluations(), key=lambda e: e.number)]
    assert len(runs[1]) == 50 and runs[3] == runs[1]


def test_a_worker_killed_right_after_taking_a_trial_leaves_it_to_be_retried(tmp_path, nb201):
    """The pop records a heartbeat first: a trial taken by a worker that died before evaluating is
    failed as stale after the grace period and enqueued again (not stuck RUNNING forever)."""
    from monas.evaluation_queue import EvaluationQueue
    from monas.optuna_record import open_study
    from monas.study_storage import open_storage
    from monas.worker import _pop_waiting

    url = f"sqlite:///{tmp_path / 'study.db'}"
    from monas.context import ObjectiveSpec

    study = open_study(open_storage(url, 1.0), "s", [ObjectiveSpec("accuracy", "maximize")], resume=False)
    queue = EvaluationQueue(study, nb201, heartbeat_s=1.0)
    arch = nb201.sample(__import__("numpy").random.default_rng(0))
    queue.submit(0, arch, "random")
    taken = _pop_waiting(study)  # ... and the worker is killed here
    assert taken is not None and study._storage.get_trial(taken).state == TrialState.RUNNING
    time.sleep(3.5)  # past the grace period (2 s)
    queue.collect()  # the coordinator's poll fails stale trials
    states = sorted(t.state.name for t in study.get_trials(deepcopy=False))
    assert states == ["FAIL", "WAITING"]
    assert queue.pending()[arch.key][0] == 0  # the retry keeps evaluation number 0


def test_the_in_process_study_names_its_metrics_and_keeps_real_times(tmp_path):
    cfg = _config(tmp_path / "solo", budget=6, workers=1, delay_s=0.02)
    config_mod.build_engine(cfg).optimize()
    study = optuna.load_study(study_name="solo", storage=RunDirectory(tmp_path / "solo").default_storage())
    assert study.metric_names == ["accuracy", "latency"]
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 6
    for t in trials:
        assert (t.datetime_complete - t.datetime_start).total_seconds() >= 0.02
        assert set(t.constraints) == {"latency <= 16"}
