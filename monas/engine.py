"""Engine: the search loop. ``optimize()`` is built on ``ask()`` / ``evaluate()`` / ``tell()``.

One engine drives a portfolio of generators that share one Pareto archive: each ``ask()`` goes
to the generator furthest below its configured share of unique evaluations. Every evaluation is
written to the run directory and the Optuna study as soon as it completes; generator state is
checkpointed after every ``tell``, so ``resume=True`` continues a killed run without losing or
repeating a completed evaluation (a generator restored from its last checkpoint re-proposes the
candidates evaluated after it, and the cache answers them at no cost).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

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
from monas.optuna_record import OptunaRecord
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


@dataclass(frozen=True)
class Batch:
    """Candidates of one ``ask``: which generator proposed them, in order."""

    generator: str
    archs: Tuple[Arch, ...]


class Engine:
    """Multi-objective NAS over ``space`` with ``objectives`` ({label: Objective}).

    ``generators`` is a sequence of ``(label, generator, share)``. ``run_dir=None`` keeps
    everything in memory (no log, no Optuna record) which benchmarks use; ``storage`` is any
    Optuna storage URL (default: SQLite ``study.db`` in the run directory).
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
        study_name: str = "monas",
        data: Any = None,
        device: str = "cpu",
        resume: bool = False,
        progress: bool = False,
        config: Optional[Dict[str, Any]] = None,
        max_stall: int = 2000,
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
        self.run_dir = RunDirectory(Path(run_dir)) if run_dir is not None else None
        self.storage = storage
        self.study_name = study_name
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
        self.n_duplicates = 0
        self.stop_reason: Optional[str] = None
        self.record: Optional[OptunaRecord] = None
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

    def start(self) -> None:
        """Prepare the run directory, restore a resumed run and set up the generators (lazy)."""
        if self._started:
            return
        self._started = True
        state = None
        if self.run_dir is not None:
            self.run_dir.create(self.config, self.resume)
            self.run_dir.write_objectives(self.specs)
            if self.resume:
                for rec in self.run_dir.read_measurements():
                    self.evaluator.preload(tuple(rec["key"]), Measurement(rec["value"], rec.get("details", {})))
                for ev in self.run_dir.read_evaluations():
                    self._remember(ev)
                try:
                    state = self.run_dir.load_state()
                except RunDirectoryError as exc:
                    logger.warning("%s; generators restart and replay from the cached evaluations", exc)
            self.record = OptunaRecord(self.storage or self.run_dir.default_storage(), self.study_name,
                                       self.space, self.specs)
            if self.resume:
                self.record.sync(self.archive.evaluations)
        for i, slot in enumerate(self.slots):
            seed = int(np.random.SeedSequence([self.seed, i]).generate_state(1)[0])
            ckpt = None
            if self.run_dir is not None:
                ckpt = self.run_dir.checkpoint_dir / slot.label
                ckpt.mkdir(parents=True, exist_ok=True)
            ctx = GeneratorContext(
                name=slot.label, space=self.space, objectives=self.specs, constraints=self.constraints,
                seed=seed, measure=self.evaluator.value, archive=self.archive, evaluation=self.eval_ctx,
                checkpoint_dir=ckpt, progress=self._progress.note,
            )
            slot.generator.setup(ctx)
            if state is not None and slot.label in state.get("generators", {}):
                slot.generator.load_state_dict(state["generators"][slot.label])
        if state is not None:
            self._elapsed_before = float(state.get("elapsed_s", 0.0))
        self._t0 = time.monotonic()
        self._progress.start(len(self.archive), self._front_stats())

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

    def ask(self) -> Optional[Batch]:
        """Candidates from the generator furthest below its share; None when all are exhausted."""
        self.start()
        while True:
            live = [s for s in self.slots if not s.exhausted]
            if not live:
                return None
            slot = min(live, key=lambda s: (s.used / s.share, self.slots.index(s)))
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

    def evaluate(self, arch: Arch, generator: str = "user") -> Evaluation:
        """Evaluate ``arch`` on every objective; an already evaluated key is answered from the
        cache and costs no budget. The evaluation is logged and recorded before this returns."""
        self.start()
        if arch.key in self.by_key:
            self.n_duplicates += 1
            return self.by_key[arch.key]
        ev = self.evaluator.evaluate(self.space.check(arch), self._next_number, generator)
        if self.run_dir is not None:
            self.run_dir.append_evaluation(ev)
        if self.record is not None:
            self.record.record(ev)
        self._remember(ev)
        if ev.error:
            logger.warning("evaluation %d of %s failed: %s", ev.number, arch.key, ev.error.splitlines()[0])
        self._progress.update(len(self.archive), self._front_stats())
        return ev

    def tell(self, batch: Batch, evaluations: Sequence[Evaluation]) -> None:
        """Hand ``evaluations`` (one per candidate of ``batch``) to its generator; checkpoint."""
        if len(evaluations) != len(batch.archs):
            raise ValueError(f"tell got {len(evaluations)} evaluations for {len(batch.archs)} candidates")
        slot = next(s for s in self.slots if s.label == batch.generator)
        slot.generator.tell(list(evaluations))
        self.checkpoint()

    def checkpoint(self) -> None:
        if self.run_dir is None:
            return
        self.run_dir.save_state({
            "generators": {s.label: s.generator.state_dict() for s in self.slots},
            "elapsed_s": self.elapsed_s,
            "n_unique": self.n_unique,
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

    def optimize(self) -> ParetoArchive:
        """Ask, evaluate and tell until the budget is spent or every generator is exhausted."""
        self.start()
        stall = 0
        reason = self._check_stop()
        try:
            while reason is None:
                batch = self.ask()
                if batch is None:
                    reason = "every generator is exhausted"
                    break
                evaluations: List[Evaluation] = []
                for arch in batch.archs:
                    reason = self._check_stop()
                    if reason is not None:
                        break
                    before = self.n_unique
                    evaluations.append(self.evaluate(arch, batch.generator))
                    stall = 0 if self.n_unique > before else stall + 1
                if len(evaluations) == len(batch.archs):
                    self.tell(batch, evaluations)
                    reason = self._check_stop()
                if reason is None and stall > self.max_stall:
                    reason = f"{stall} proposals in a row were already evaluated (generators stalled)"
        finally:
            self.stop_reason = reason
            self.checkpoint()
            self._progress.close(reason)
        return self.archive
