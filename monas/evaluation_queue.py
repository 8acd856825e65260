"""EvaluationQueue: the coordinator's side of a parallel search, on an Optuna study.

The study is the only thing the coordinator and its workers share. The coordinator enqueues each
new candidate with :meth:`optuna.Study.enqueue_trial` (its params plus ``monas_number``,
``arch_key``, ``genotype`` and ``generator`` as user attributes); a worker takes a WAITING trial,
evaluates it and tells the study (see :mod:`monas.worker`). The coordinator reads the finished
trials back as :class:`Evaluation` objects, fails stale running trials (Optuna's heartbeat) so
their retry copy is evaluated by another worker, and counts the workers that are alive.
"""
from __future__ import annotations

import json
import socket
import time
import warnings
from typing import Dict, List, Optional, Set, Tuple

import optuna
from optuna.trial import TrialState

from monas.arch import Arch
from monas.evaluation import Evaluation
from monas.optuna_record import params_of, trial_attrs

FINISHED_ATTR = "monas_finished"
PARALLEL_ATTR = "monas_parallel"
WORKER_ATTR_PREFIX = "monas_worker:"
EVALUATION_ATTR = "monas_evaluation"


def worker_attr(host: Optional[str] = None, pid: Optional[int] = None) -> str:
    import os

    return f"{WORKER_ATTR_PREFIX}{host or socket.gethostname()}:{pid or os.getpid()}"


def evaluation_of(trial: optuna.trial.FrozenTrial) -> Optional[Evaluation]:
    """The evaluation a worker told, or None for a trial no worker finished (failed as stale)."""
    if EVALUATION_ATTR not in trial.user_attrs:
        return None
    ev = Evaluation.from_dict(json.loads(trial.user_attrs[EVALUATION_ATTR]))
    told = trial.state == TrialState.COMPLETE or (trial.state == TrialState.FAIL and ev.state.value != "complete")
    return ev if told else None


def told_evaluations(study: optuna.Study) -> Dict[int, Tuple[optuna.trial.FrozenTrial, Evaluation]]:
    """Per evaluation number, the first trial a worker told with it and its evaluation (what the
    search reads back); trials failed as stale hold none."""
    out: Dict[int, Tuple[optuna.trial.FrozenTrial, Evaluation]] = {}
    for t in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)),
                    key=lambda t: t.number):
        ev = evaluation_of(t)
        if ev is not None and ev.number not in out:
            out[ev.number] = (t, ev)
    return out


def stale_trials(study: optuna.Study) -> List[optuna.trial.FrozenTrial]:
    """Trials failed because their worker stopped sending heartbeats (no worker told them)."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)) if evaluation_of(t) is None]


class EvaluationQueue:
    """Enqueue candidates on ``study`` and collect the workers' evaluations."""

    def __init__(self, study: optuna.Study, space, heartbeat_s: float, poll_s: float = 0.05) -> None:
        self.study = study
        self.space = space
        self.heartbeat_s = float(heartbeat_s)
        self.poll_s = float(poll_s)
        self._consumed: Set[int] = set()  # trial ids already read back (or skipped as stale)
        self._done_numbers: Set[int] = set()
        self._last_stale_check = 0.0
        self._live_cache: Tuple[float, int] = (0.0, 0)
        study.set_user_attr(PARALLEL_ATTR, {"heartbeat_s": self.heartbeat_s})
        study.set_user_attr(FINISHED_ATTR, False)

    # ------------------------------------------------------------------ state of the study
    def pending(self) -> Dict[str, Tuple[int, Arch, str]]:
        """Candidates enqueued and not finished: {arch key: (number, arch, generator)}."""
        out: Dict[str, Tuple[int, Arch, str]] = {}
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING)):
            a = t.user_attrs
            if "monas_number" in a and int(a["monas_number"]) not in self._done_numbers:
                arch = arch_of(a)
                out[a["arch_key"]] = (int(a["monas_number"]), arch, a.get("generator", ""))
        return out

    def numbers(self) -> Set[int]:
        return {int(t.user_attrs["monas_number"]) for t in self.study.get_trials(deepcopy=False)
                if "monas_number" in t.user_attrs}

    def mark_done(self, numbers) -> None:
        """Numbers already in the run's log (a resumed coordinator): never read back twice."""
        self._done_numbers.update(int(n) for n in numbers)

    # ------------------------------------------------------------------ enqueue and collect
    def submit(self, number: int, arch: Arch, generator: str) -> None:
        self.study.enqueue_trial(params_of(self.space, arch), user_attrs=trial_attrs(number, arch, generator),
                                 skip_if_exists=False)

    def collect(self) -> List[Evaluation]:
        """Evaluations finished since the last call, each number once (a retried candidate whose
        first trial was also told is read once)."""
        now = time.monotonic()
        if now - self._last_stale_check >= min(1.0, self.heartbeat_s):
            with warnings.catch_warnings():  # Optuna marks the heartbeat API experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(self.study)
            self._last_stale_check = now
        out: List[Evaluation] = []
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)):
            if t._trial_id in self._consumed:
                continue
            self._consumed.add(t._trial_id)
            ev = evaluation_of(t)
            if ev is None or ev.number in self._done_numbers:
                continue
            self._done_numbers.add(ev.number)
            out.append(ev)
        out.sort(key=lambda e: e.number)
        return out

    def live_workers(self) -> int:
        """Workers whose registration is younger than the grace period (read at most once a second)."""
        now = time.monotonic()
        if now - self._live_cache[0] < 1.0:
            return self._live_cache[1]
        from monas.study_storage import grace_period_s

        wall = time.time()
        n = sum(1 for k, v in self.study.user_attrs.items()
                if k.startswith(WORKER_ATTR_PREFIX) and isinstance(v, dict)
                and wall - float(v.get("seen", 0)) <= grace_period_s(self.heartbeat_s) + self.heartbeat_s)
        self._live_cache = (now, n)
        return n

    def finish(self) -> None:
        self.study.set_user_attr(FINISHED_ATTR, True)


def arch_of(user_attrs) -> Arch:
    """The architecture a trial's user attributes name."""
    return Arch.from_dict({"space": user_attrs["space"], "key": user_attrs["arch_key"],
                           "genotype": json.loads(user_attrs["genotype"])})
