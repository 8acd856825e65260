"""Engine: the search loop. ``optimize()`` is built on ``ask()`` / ``evaluate()`` / ``tell()``.

One engine drives a portfolio of generators that share one Pareto archive: each ``ask()`` goes
to the generator furthest below its configured share of unique evaluations (in flight included).
Every evaluation is written to the run directory and the Optuna study as soon as it completes.

Evaluations run in this process (``workers=1``) or in worker processes on the run's Optuna study
(``workers=N``; see :mod:`monas.evaluation_queue` and :mod:`monas.worker`). Generators keep
proposing while evaluations are in flight: ``ctx.pending()`` names the candidates proposed and not
yet evaluated, a candidate proposed again waits for the one evaluation, and a generator is asked
again before its last batch is told only when it allows it (``max_pending_batches``).

Every generator's state is checkpointed right after its ``tell``, with the evaluation number the
run had reached, so ``resume=True`` continues a killed run without losing or repeating a completed
evaluation: a generator restored from its checkpoint re-proposes the candidates evaluated after it
and their logged evaluations are replayed in order. With one worker a resumed run therefore ends
with exactly the evaluations of the uninterrupted run, a kill inside a batch included.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Deque, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from monas.arch import Arch
from monas.archive import ParetoArchive
from monas.budget import Budget
from monas.capabilities import check as check_capabilities
from monas.constraint import Constraint
from monas.context import EvaluationContext, GeneratorContext, ObjectiveSpec
from monas.evaluation import Evaluation
from monas.evaluator import Evaluator
from monas.generator import CandidateGenerator
from monas.objective import Measurement, Objective
from monas.optuna_record import OptunaRecord, default_study_name
from monas.progress import Progress
from monas.run_directory import RunDirectory, RunDirectoryError

logger = logging.getLogger("monas")


@dataclass
class GeneratorSlot:
    """A generator in the portfolio with its budget share and its count of unique evaluations."""

    label: str
    generator: CandidateGenerator
    share: float = 1.0
    used: int = 0
    exhausted: bool = False
    open_batches: int = 0  # asks not yet told
    told_state: Optional[Dict[str, Any]] = None  # state_dict() right after the last tell


@dataclass(frozen=True)
class Batch:
    """Candidates of one ``ask``: which generator proposed them, in order."""

    generator: str
    archs: Tuple[Arch, ...]


@dataclass
class OpenBatch:
    """A batch whose evaluations are still coming in."""

    batch: Batch
    results: List[Optional[Evaluation]]
    told: bool = False

    @property
    def complete(self) -> bool:
        return all(r is not None for r in self.results)


class Engine:
    """Multi-objective NAS over ``space`` with ``objectives`` ({label: Objective}).

    ``generators`` is a sequence of ``(label, generator, share)``. ``run_dir=None`` keeps
    everything in memory (no log, no Optuna record) which benchmarks use; ``storage`` is any
    Optuna storage URL (default: SQLite ``study.db`` in the run directory); ``study_name``
    defaults to the run directory's name. ``workers`` > 1 evaluates in that many local worker
    processes (``devices`` dealt in turn), 0 in ``monas worker`` processes started elsewhere;
    both need a run directory.
    """

    def __init__(
        self,
        space,
        objectives: Mapping[str, Objective],
        generators: Sequence[Tuple[str, CandidateGenerator, float]],
        constraints: Sequence[Constraint] = (),
        budget: Optional[Budget] = None,
        seed: int = 0,
        run_dir: Optional[Path] = None,
        storage: Optional[str] = None,
        study_name: Optional[str] = None,
        data: Any = None,
        device: str = "cpu",
        resume: bool = False,
        progress: bool = False,
        config: Optional[Dict[str, Any]] = None,
        max_stall: int = 2000,
        workers: int = 1,
        devices: Optional[Sequence[str]] = None,
        heartbeat_s: float = 5.0,
    ) -> None:
        if not generators:
            raise ValueError("engine needs at least one generator")
        labels = [g[0] for g in generators]
        if len(set(labels)) != len(labels):
            raise ValueError(f"generator labels must be unique, got {labels}")
        self.space = space
        self.objectives = dict(objectives)
        self.specs = [ObjectiveSpec(label, obj.direction, bool(getattr(obj, "cheap", False)), str(getattr(obj, "units", "")))
                      for label, obj in self.objectives.items()]
        self.constraints = list(constraints)
        self.budget = budget or Budget(evaluations=100)
        self.seed = int(seed)
        self.slots = [GeneratorSlot(label, gen, float(share)) for label, gen, share in generators]
        for s in self.slots:
            if not s.share > 0:
                raise ValueError(f"generator {s.label!r}: share must be > 0, got {s.share}")
            check_capabilities(s.generator, space, s.label)  # before any work
        self.workers = int(workers)
        if self.workers < 0:
            raise ValueError(f"workers: {workers!r}; accepted: an integer >= 0")
        if self.workers != 1 and (run_dir is None or config is None):
            raise ValueError(f"workers={workers} needs a run directory and the run's config (the workers share its "
                             f"Optuna study and build their objectives from the config): use monas.config.build_engine")
        self.devices = list(devices) if devices else [device]
        self.heartbeat_s = float(heartbeat_s)
        self.run_dir = RunDirectory(Path(run_dir)) if run_dir is not None else None
        self.storage = storage
        self.study_name = study_name or default_study_name(run_dir)
        self.resume = resume
        self.config = config
        self.max_stall = max_stall
        self.eval_ctx = EvaluationContext(
            space=space, device=device, data=data, seed=self.seed,
            run_dir=self.run_dir.path if self.run_dir else None,
        )
        self.evaluator = Evaluator(self.objectives, self.constraints, self.eval_ctx,
                                   on_measure=self._persist_measurement)
        self.archive = ParetoArchive(self.specs)
        self.by_key: Dict[str, Evaluation] = {}
        self._next_number = 0  # max logged number + 1: a repaired log may have gaps
        self._told_number = 0  # the evaluation number the run had reached at the last tell
        self.n_duplicates = 0
        self.stop_reason: Optional[str] = None
        self.record: Optional[OptunaRecord] = None
        self.queue = None  # EvaluationQueue when workers evaluate
        self.local_workers = None
        self.lock = None
        self._replay: Dict[str, Evaluation] = {}  # logged after the last checkpoint: replayed in order
        self._waiting: Dict[str, List[Tuple[OpenBatch, int]]] = {}  # key -> open batches waiting for it
        self._in_flight: Dict[str, Tuple[int, Arch, str]] = {}  # key -> (number, arch, generator)
        self._to_submit: Deque[Tuple[Arch, str]] = deque()  # queued by a batch, not yet numbered
        self._held: Dict[int, Evaluation] = {}  # back from a worker, waiting for earlier numbers
        self._stall = 0
        self._progress = Progress(total=self.budget.evaluations, enabled=progress)
        self._started = False
        self._elapsed_before = 0.0
        self._t0 = 0.0

    # ----------------------------------------------------------------- set-up and resume
    def _persist_measurement(self, key, measurement: Measurement) -> None:
        # Cheap objectives (tables, formulas) are simply measured again after a resume; one
        # fsynced line each would dominate a run whose generator reads a whole candidate pool.
        if self.run_dir is not None and not getattr(self.objectives.get(key[1]), "cheap", False):
            self.run_dir.append_measurement(key, measurement)

    @property
    def parallel(self) -> bool:
        """Whether worker processes evaluate (through the study) instead of this process."""
        return self.workers != 1

    def pending_keys(self) -> FrozenSet[str]:
        """Keys of candidates proposed and not yet evaluated (queued or in flight)."""
        return frozenset(self._waiting)

    def start(self) -> None:
        """Prepare the run directory, restore a resumed run and set up the generators (lazy)."""
        if self._started:
            return
        self._started = True
        state = None
        logged: List[Evaluation] = []
        if self.run_dir is not None:
            from monas.run_lock import RunLock

            self.run_dir.path.mkdir(parents=True, exist_ok=True)
            self.lock = RunLock(self.run_dir.path)
            self.lock.acquire(self.study_name, self.storage)
            self.run_dir.create(self.config, self.resume)
            self.run_dir.write_objectives(self.specs)
            if self.resume:
                for rec in self.run_dir.read_measurements():
                    self.evaluator.preload(tuple(rec["key"]), Measurement(rec["value"], rec.get("details", {})))
                logged = self.run_dir.read_evaluations()
                try:
                    state = self.run_dir.load_state()
                except RunDirectoryError as exc:
                    logger.warning("%s; generators restart and replay from the cached evaluations", exc)
            self._open_study()
        # Evaluations logged after the last checkpoint are replayed when their generator, restored
        # from that checkpoint, proposes them again (one worker: the same order as the first run).
        boundary = None  # parallel runs adopt every logged evaluation at once
        if not self.parallel:
            boundary = 0 if state is None else state.get("told_number")  # None: a state from before replay
        for ev in sorted(logged, key=lambda e: e.number):
            if boundary is not None and ev.number >= boundary and ev.arch.key not in self._replay:
                self._replay[ev.arch.key] = ev
                self._next_number = max(self._next_number, ev.number + 1)
            else:
                self._remember(ev)
        if self.record is not None and self.resume:
            self.record.sync(logged)
        if self.queue is not None and self.resume:
            self._adopt_study_results()
        self._told_number = self._next_number if boundary is None else int(boundary)
        for i, slot in enumerate(self.slots):
            seed = int(np.random.SeedSequence([self.seed, i]).generate_state(1)[0])
            ckpt = None
            if self.run_dir is not None:
                ckpt = self.run_dir.checkpoint_dir / slot.label
                ckpt.mkdir(parents=True, exist_ok=True)
            ctx = GeneratorContext(
                name=slot.label, space=self.space, objectives=self.specs, constraints=self.constraints,
                seed=seed, measure=self.evaluator.value, archive=self.archive, evaluation=self.eval_ctx,
                checkpoint_dir=ckpt, progress=self._progress.note, pending=self.pending_keys,
            )
            slot.generator.setup(ctx)
            if state is not None and slot.label in state.get("generators", {}):
                slot.generator.load_state_dict(state["generators"][slot.label])
                slot.told_state = state["generators"][slot.label]
        if state is not None:
            self._elapsed_before = float(state.get("elapsed_s", 0.0))
        if self.parallel:
            self._start_workers()
        self._t0 = time.monotonic()
        self._progress.start(len(self.archive), self._front_stats())

    def _open_study(self) -> None:
        url = self.storage or self.run_dir.default_storage()
        if self.parallel:
            from monas.evaluation_queue import EvaluationQueue
            from monas.optuna_record import open_study
            from monas.study_storage import open_storage

            storage = open_storage(url, self.heartbeat_s)
            study = open_study(storage, self.study_name, self.specs, self.resume, self.config)
            self.queue = EvaluationQueue(study, self.space, self.heartbeat_s)
        else:
            self.record = OptunaRecord(url, self.study_name, self.space, self.specs, self.resume, self.config)

    def _adopt_study_results(self) -> None:
        """A resumed parallel run: log what the workers finished meanwhile, and wait for what they
        still hold (a generator proposing it again shares that evaluation)."""
        self.queue.mark_done(self.by_key[k].number for k in self.by_key)
        for ev in self.queue.collect():
            if ev.arch.key in self.by_key:
                continue
            self.run_dir.append_evaluation(ev)
            self._remember(ev)
        for key, (number, arch, generator) in self.queue.pending().items():
            if key not in self.by_key:
                self._in_flight[key] = (number, arch, generator)
                self._waiting.setdefault(key, [])
                self._next_number = max(self._next_number, number + 1)
        self._next_number = max([self._next_number] + [n + 1 for n in self.queue.numbers()])

    def _start_workers(self) -> None:
        if self.workers >= 2:
            from monas.local_workers import LocalWorkers

            self.local_workers = LocalWorkers(self.workers, self.storage or self.run_dir.default_storage(),
                                              self.study_name, self.devices, self.run_dir.path / "workers")
            self.local_workers.start()

    def close(self) -> None:
        """Stop local workers (after telling every worker the search is over) and free the run directory."""
        if self.queue is not None and not self._in_flight:
            try:
                self.queue.finish()
            except Exception as exc:  # the storage is gone: workers exit with their parent
                logger.warning("could not mark the study finished: %s", exc)
        if self.local_workers is not None:
            deadline = time.monotonic() + 3 * self.heartbeat_s
            while self.local_workers.pids() and time.monotonic() < deadline and not self._in_flight:
                time.sleep(0.05)
            self.local_workers.stop()
            self.local_workers = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _remember(self, ev: Evaluation) -> None:
        self.archive.add(ev)
        self.by_key[ev.arch.key] = ev
        self._next_number = max(self._next_number, ev.number + 1)
        for slot in self.slots:
            if slot.label == ev.generator:
                slot.used += 1

    # ----------------------------------------------------------------- ask / evaluate / tell
    @property
    def n_unique(self) -> int:
        return len(self.archive)

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_before + (time.monotonic() - self._t0 if self._started else 0.0)

    def _slot(self, label: str) -> GeneratorSlot:
        return next(s for s in self.slots if s.label == label)

    def _in_flight_of(self, slot: GeneratorSlot) -> int:
        """Candidates this generator queued that are not evaluated yet (the first batch waiting
        for a key is the one that queued it)."""
        return sum(1 for waiters in self._waiting.values() if waiters and waiters[0][0].batch.generator == slot.label)

    def _askable(self, slot: GeneratorSlot) -> bool:
        if slot.exhausted:
            return False
        limit = getattr(slot.generator, "max_pending_batches", 1)
        return limit is None or slot.open_batches < int(limit)

    def ask(self) -> Optional[Batch]:
        """Candidates from the generator furthest below its share; None when all are exhausted
        (or, with evaluations in flight, when no generator may be asked before a tell)."""
        self.start()
        while True:
            live = [s for s in self.slots if self._askable(s)]
            if not live:
                return None
            slot = min(live, key=lambda s: ((s.used + self._in_flight_of(s)) / s.share, self.slots.index(s)))
            n = slot.generator.batch_size
            archs = list(slot.generator.ask(n))
            if not archs:
                slot.exhausted = True
                continue
            for a in archs:
                if not isinstance(a, Arch):
                    raise TypeError(f"generator {slot.label!r} returned {type(a).__name__}, not an Arch")
                try:
                    self.space.check(a)
                except Exception as exc:
                    raise ValueError(f"generator {slot.label!r} proposed an architecture outside "
                                     f"space {self.space.name!r}: {exc}") from None
            return Batch(slot.label, tuple(archs))

    def _log(self, ev: Evaluation, record: bool) -> None:
        if self.run_dir is not None:
            self.run_dir.append_evaluation(ev)
        if record and self.record is not None:
            self.record.record(ev)

    def evaluate(self, arch: Arch, generator: str = "user") -> Evaluation:
        """Evaluate ``arch`` on every objective in this process; an already evaluated key is
        answered from the cache and costs no budget. The evaluation is logged and recorded before
        this returns."""
        self.start()
        if arch.key in self.by_key:
            self.n_duplicates += 1
            return self.by_key[arch.key]
        if arch.key in self._replay:
            ev = self._replay.pop(arch.key)
        else:
            ev = self.evaluator.evaluate(self.space.check(arch), self._next_number, generator)
            self._log(ev, record=True)
        self._remember(ev)
        self._after(ev)
        return ev

    def _after(self, ev: Evaluation) -> None:
        if ev.error:
            logger.warning("evaluation %d of %s failed: %s", ev.number, ev.arch.key, ev.error.splitlines()[0])
        self._progress.update(len(self.archive), self._front_stats())

    def tell(self, batch: Batch, evaluations: Sequence[Evaluation]) -> None:
        """Hand ``evaluations`` (one per candidate of ``batch``) to its generator; checkpoint."""
        if len(evaluations) != len(batch.archs):
            raise ValueError(f"tell got {len(evaluations)} evaluations for {len(batch.archs)} candidates")
        slot = self._slot(batch.generator)
        slot.generator.tell(list(evaluations))
        slot.told_state = slot.generator.state_dict() if self.run_dir is not None else None
        self._told_number = self._next_number
        self.checkpoint()

    def checkpoint(self) -> None:
        """Save each generator's state as of its last tell (with the evaluation number reached):
        a generator asked since re-proposes the same candidates after a resume."""
        if self.run_dir is None:
            return
        self.run_dir.save_state({
            "generators": {s.label: s.told_state for s in self.slots if s.told_state is not None},
            "elapsed_s": self.elapsed_s,
            "n_unique": self.n_unique,
            "told_number": self._told_number,
        })

    # ----------------------------------------------------------------- the loop
    def _front_stats(self) -> Dict[str, Any]:
        front = self.archive.front()
        hv = self.archive.hypervolume() if len(front) > 0 else 0.0
        return {"front": len(front), "hv": hv}

    def _check_stop(self) -> Optional[str]:
        hv = None
        if self.budget.target_hypervolume is not None:
            hv = self.archive.hypervolume(ideal=self.budget.hv_ideal, nadir=self.budget.hv_nadir)
        return self.budget.exhausted(self.n_unique, self.elapsed_s, hv)

    def _budget_left(self) -> bool:
        """Whether one more candidate may start: completed and in-flight stay within the budget."""
        if self.budget.evaluations is None:
            return True
        return self.n_unique + len(self._in_flight) + len(self._held) < self.budget.evaluations

    def _capacity(self) -> int:
        """Candidates to hold in flight: one per worker (local ones and those registered in the
        study), plus a few waiting so a worker that finishes finds its next one at once."""
        if not self.parallel:
            return 1
        n = max(self.workers, self.queue.live_workers() if self.queue is not None else 0)
        return n + max(1, n // 4) if n else 1

    def _open(self, batch: Batch) -> None:
        """Register ``batch``: answer known keys, share in-flight ones, queue new ones."""
        slot = self._slot(batch.generator)
        ob = OpenBatch(batch, [None] * len(batch.archs))
        slot.open_batches += 1
        for i, arch in enumerate(batch.archs):
            if arch.key in self.by_key:
                ob.results[i] = self.by_key[arch.key]
                self.n_duplicates += 1
                self._stall += 1
            elif arch.key in self._waiting:
                self._waiting[arch.key].append((ob, i))
                self.n_duplicates += 1
                self._stall += 1
            else:
                self._waiting[arch.key] = [(ob, i)]
                self._to_submit.append((arch, batch.generator))
                self._stall = 0
        if ob.complete:
            self._close(ob)

    def _close(self, ob: OpenBatch) -> None:
        ob.told = True
        self._slot(ob.batch.generator).open_batches -= 1
        self.tell(ob.batch, list(ob.results))

    def _submit_next(self) -> None:
        """Start the next queued candidate: a replayed or evaluated-here result completes at once."""
        arch, generator = self._to_submit.popleft()
        if arch.key in self._replay:
            self._complete(self._replay.pop(arch.key), logged=True)
            return
        number = self._next_number
        self._next_number += 1
        self._in_flight[arch.key] = (number, arch, generator)
        if self.queue is None:
            self._complete(self.evaluator.evaluate(self.space.check(arch), number, generator), logged=False)
        else:
            self.queue.submit(number, arch, generator)

    def _complete(self, ev: Evaluation, logged: bool) -> None:
        """An evaluation came in: log and record it, add it to the archive, fill the batches
        waiting for it and tell every batch that is now complete."""
        key = ev.arch.key
        self._in_flight.pop(key, None)
        if key in self.by_key:  # a result that arrived twice (a retried trial told twice)
            return
        if not logged:
            self._log(ev, record=self.queue is None)
        self._remember(ev)
        self._after(ev)
        waiters = self._waiting.pop(key, [])
        for ob, i in waiters:
            ob.results[i] = ev
        for ob, _ in waiters:
            if ob.complete and not ob.told:
                self._close(ob)

    def _receive(self, evaluations: Sequence[Evaluation]) -> int:
        """Results from the workers, released to the log, the archive and the generators in the
        order of their evaluation numbers: a result waits until every candidate numbered before it
        is back, so the generators see the sequence one worker would have produced (batch
        generators then propose exactly as with one worker). Returns how many came in."""
        for ev in evaluations:
            if ev.arch.key in self._in_flight:
                del self._in_flight[ev.arch.key]
                self._held[ev.number] = ev
        outstanding = min((n for n, _, _ in self._in_flight.values()), default=None)
        for number in sorted(self._held):
            if outstanding is not None and number > outstanding:
                break
            self._complete(self._held.pop(number), logged=False)
        return len(evaluations)

    def _poll_workers(self) -> int:
        """Read the workers' results back and restart local workers that died; how many came in."""
        done = self._receive(self.queue.collect())
        if self.local_workers is not None:
            self.local_workers.keep_alive()
        return done

    def _drain(self, reason: Optional[str]) -> None:
        """Generators stalled or exhausted with evaluations still in flight: wait for them (they
        are paid for); a spent wall-clock budget does not wait (a resume adopts them)."""
        while self.queue is not None and (self._in_flight or self._held) and self.budget.exhausted(0, self.elapsed_s, None) is None:
            if not self._poll_workers():
                time.sleep(self.queue.poll_s)

    def optimize(self) -> ParetoArchive:
        """Ask, evaluate and tell until the budget is spent or every generator is exhausted."""
        self.start()
        reason = self._check_stop()
        try:
            while reason is None:
                # start candidates while workers are free and the budget allows
                progressed = False
                while len(self._in_flight) < self._capacity() and self._budget_left() and self._check_stop() is None:
                    if self._to_submit:
                        self._submit_next()
                        progressed = True
                        if not self.parallel:
                            break
                        continue
                    batch = self.ask()
                    if batch is None:
                        break
                    self._open(batch)
                    progressed = True
                    if self._stall > self.max_stall:
                        break
                reason = self._check_stop()
                if reason is not None:
                    break
                if self._stall > self.max_stall:
                    reason = f"{self._stall} proposals in a row were already evaluated (generators stalled)"
                    break
                if self.queue is not None:
                    if not self._poll_workers() and not progressed:
                        if not self._in_flight and not self._to_submit and not any(self._askable(s) for s in self.slots):
                            reason = "every generator is exhausted"
                            break
                        time.sleep(self.queue.poll_s)
                elif not progressed:
                    if not self._in_flight and not self._to_submit:
                        reason = "every generator is exhausted"
                        break
                reason = self._check_stop()
            self._drain(reason)
        finally:
            self.stop_reason = reason
            for ev in sorted(self._replay.values(), key=lambda e: e.number):  # not proposed again
                self._remember(ev)
            self._replay.clear()
            self.checkpoint()
            self._progress.close(reason)
            self.close()
        return self.archive
