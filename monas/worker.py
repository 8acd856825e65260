"""Worker: evaluates the candidates a search enqueued on its Optuna study, on one device.

``monas worker --storage URL --study NAME`` (or a local worker started by ``monas search
--workers N``) loads the study, builds the search space, dataset, objectives and constraints from
the run's config stored in the study, and loops: take a WAITING trial (Optuna's own queue, the
way ``Study.ask`` pops enqueued trials), record Optuna heartbeats while evaluating it, and tell
the study its values, constraints and the whole evaluation. A failed evaluation is told as a
FAIL trial carrying its error, and the worker goes on. A worker that cannot reach the storage
retries with back-off and exits with one line naming the URL (password masked).

It exits when the search is finished and the queue is empty, or (a local worker) when the
process that started it is gone and the queue is empty.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Dict, Optional

import optuna
from optuna.trial import TrialState

from monas.evaluation import EvalState
from monas.evaluation_queue import EVALUATION_ATTR, FINISHED_ATTR, PARALLEL_ATTR, arch_of, worker_attr
from monas.optuna_record import CONFIG_ATTR, distributions_of
from monas.study_storage import StorageUnreachable, grace_period_s, open_storage, with_retries

logger = logging.getLogger("monas")


class WorkerError(RuntimeError):
    """A worker cannot start (no such study, a study without a monas config, ...)."""


class _Heartbeat:
    """Records Optuna heartbeats of one running trial every ``interval`` seconds in a thread."""

    def __init__(self, storage, trial_id: int, interval: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(storage, trial_id, interval), daemon=True)
        storage.record_heartbeat(trial_id)
        self._thread.start()

    def _run(self, storage, trial_id, interval) -> None:
        while not self._stop.wait(interval):
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # the main loop reports storage trouble
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _SqlitePopLock:
    """SQLite ignores ``SELECT ... FOR UPDATE``, so two workers can both move one WAITING trial to
    RUNNING; on an SQLite study (one machine) the pop holds this file lock. PostgreSQL's row lock
    makes the pop atomic by itself."""

    def __init__(self, url: str) -> None:
        self.path = None
        if url.startswith("sqlite"):
            from sqlalchemy.engine import make_url

            database = make_url(url).database
            if database and database != ":memory:":
                self.path = database + ".pop.lock"

    def __enter__(self):
        self._fh = None
        if self.path is not None:
            import fcntl

            self._fh = open(self.path, "a")
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the lock


def _pop_waiting(study: optuna.Study) -> Optional[int]:
    """Take one WAITING trial (RUNNING now); None when the queue is empty."""
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            # the heartbeat first: a worker killed right after the pop leaves a RUNNING trial whose
            # heartbeat goes stale (Optuna ignores a running trial that never had one)
            storage.record_heartbeat(t._trial_id)
            if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                return t._trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def _alive(pid: Optional[int]) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Worker:
    """One evaluation worker on ``study_name`` in ``storage_url``."""

    def __init__(self, storage_url: str, study_name: str, device: Optional[str] = None,
                 threads: Optional[int] = None, parent_pid: Optional[int] = None, tries: int = 6,
                 log=print) -> None:
        self.url, self.study_name = storage_url, study_name
        self.parent_pid, self.tries, self.log = parent_pid, tries, log
        self.threads = threads
        probe = with_retries(lambda: open_storage(storage_url), storage_url, tries)
        names = with_retries(lambda: optuna.get_all_study_names(probe), storage_url, tries)
        if study_name not in names:
            raise WorkerError(f"no study {study_name!r} in the storage; studies there: {', '.join(names) or 'none'}")
        study = optuna.load_study(study_name=study_name, storage=probe)
        attrs = study.user_attrs
        if CONFIG_ATTR not in attrs or PARALLEL_ATTR not in attrs:
            raise WorkerError(f"study {study_name!r} was not started by `monas search` with workers "
                              f"(it has no {CONFIG_ATTR!r} / {PARALLEL_ATTR!r} attribute)")
        self.heartbeat_s = float(attrs[PARALLEL_ATTR]["heartbeat_s"])
        self.storage = open_storage(storage_url, self.heartbeat_s)
        self.study = optuna.load_study(study_name=study_name, storage=self.storage)
        self.config: Dict[str, Any] = attrs[CONFIG_ATTR]
        self.device = device or self.config.get("device", "cpu")
        self._build()
        self.evaluated = 0
        self._pop_lock = _SqlitePopLock(storage_url)

    def _build(self) -> None:
        if self.threads:
            import torch

            torch.set_num_threads(int(self.threads))
        from monas.config import build_evaluator

        self.space, self.evaluator = build_evaluator(self.config, device=self.device)
        self.distributions = distributions_of(self.space)

    def _register(self) -> None:
        self.study.set_user_attr(worker_attr(), {"device": self.device, "seen": time.time(), "evaluated": self.evaluated})

    def _finished(self) -> bool:
        if self.study.user_attrs.get(FINISHED_ATTR):
            return True
        return self.parent_pid is not None and not _alive(self.parent_pid)

    def evaluate_trial(self, trial_id: int) -> None:
        """Evaluate one popped trial and tell the study (the telling is retried on storage errors;
        the evaluation itself runs once)."""
        trial = optuna.Trial(self.study, trial_id)
        attrs = with_retries(lambda: trial.user_attrs, self.url, self.tries)
        beat = _Heartbeat(self.study._storage, trial_id, self.heartbeat_s)
        try:
            arch = arch_of(attrs)
            ev = self.evaluator.evaluate(self.space.check(arch), int(attrs["monas_number"]), attrs.get("generator", ""))
            with_retries(lambda: self._tell(trial, ev), self.url, self.tries)
        except optuna.exceptions.UpdateFinishedTrialError:
            self.log(f"trial {trial.number} was failed as stale while it ran (no heartbeat for "
                     f"{grace_period_s(self.heartbeat_s)} s); another worker evaluates it again")
        finally:
            beat.stop()
        self.evaluated += 1

    def _tell(self, trial: optuna.Trial, ev) -> None:
        for v in self.space.variables():
            trial.suggest_categorical(v.name, self.distributions[v.name].choices)
        trial.set_user_attr("monas_state", ev.state.value)
        trial.set_user_attr("monas_worker", worker_attr()[len("monas_worker:"):])
        trial.set_user_attr(EVALUATION_ATTR, json.dumps(ev.to_dict(), default=str))
        if ev.state == EvalState.COMPLETE:
            have = trial.constraints
            for name, v in ev.violations.items():
                if name not in have:
                    trial.set_constraint(name, float(v))
            self.study.tell(trial, [ev.values[label] for label in self.study.metric_names])
        else:
            trial.set_user_attr("error", (ev.error or "")[:2000])
            self.study.tell(trial, state=TrialState.FAIL)
            self.log(f"evaluation {ev.number} failed: {(ev.error or '').splitlines()[0]}")

    def run(self, max_evaluations: Optional[int] = None) -> int:
        idle = 0.02
        last_register = 0.0
        while max_evaluations is None or self.evaluated < max_evaluations:
            if time.monotonic() - last_register >= self.heartbeat_s:
                with_retries(self._register, self.url, self.tries)
                last_register = time.monotonic()
            with self._pop_lock:
                trial_id = with_retries(lambda: _pop_waiting(self.study), self.url, self.tries)
            if trial_id is None:
                if with_retries(self._finished, self.url, self.tries):
                    return 0
                time.sleep(idle)
                idle = min(0.2, idle * 2)
                continue
            idle = 0.02
            self.evaluate_trial(trial_id)
        return 0


def main(storage_url: str, study_name: str, device: Optional[str] = None, threads: Optional[int] = None,
         parent_pid: Optional[int] = None, max_evaluations: Optional[int] = None, tries: int = 6) -> int:
    """Run a worker until the search ends; one line and exit status 1 when the storage is unreachable."""
    import sys

    optuna.logging.set_verbosity(logging.WARNING)
    try:
        worker = Worker(storage_url, study_name, device, threads, parent_pid, tries)
        print(f"monas worker {worker_attr()[len('monas_worker:'):]}: study {study_name!r}, device {worker.device}",
              flush=True)
        return worker.run(max_evaluations)
    except (StorageUnreachable, WorkerError) as exc:
        print(f"monas worker: {exc}", file=sys.stderr)
        return 1
