"""Choose one member of a run: by evaluation number, arch key, ``knee`` or ``best:OBJECTIVE``.

``monas export`` and ``monas train`` take the same selector::

    17                         evaluation number 17 (any evaluation, front or not)
    |nor_conv_3x3~0|+|...|     the (first complete) evaluation of that arch key
    knee                       the feasible front's knee (ParetoArchive.knee)
    best:accuracy              the feasible front's best accuracy, under --where bounds
                               such as "latency<=2" or "accuracy>=90" (natural units)

A selector that matches nothing raises :class:`SelectionError`, one line saying what exists.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

from monas.evaluation import EvalState, Evaluation
from monas.objective import MAXIMIZE

if TYPE_CHECKING:
    from monas.archive import ParetoArchive

_BOUND = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


class SelectionError(ValueError):
    """A member selector or bound that matches nothing or cannot be read."""


def parse_where(texts: Sequence[str], archive: "ParetoArchive") -> Dict[str, float]:
    """``["latency<=2", "accuracy>=90"]`` as ``ParetoArchive.best`` bounds ({label: bound}).

    The operator must agree with the objective's direction (``<=`` for a minimised one, ``>=``
    for a maximised one); a bound on the better side would select nothing useful.
    """
    bounds: Dict[str, float] = {}
    for text in texts:
        for part in str(text).split(","):
            if not part.strip():
                continue
            m = _BOUND.match(part)
            if not m:
                raise SelectionError(f"--where {part.strip()!r}; accepted: LABEL<=NUMBER or LABEL>=NUMBER, "
                                     f"e.g. latency<=2")
            label, op, number = m.group(1), m.group(2), m.group(3)
            if label not in archive.labels:
                raise SelectionError(f"--where {part.strip()!r}: unknown objective {label!r}; accepted: "
                                     f"{', '.join(archive.labels)}")
            spec = archive.objectives[archive.labels.index(label)]
            want = ">=" if spec.direction == MAXIMIZE else "<="
            if op != want:
                raise SelectionError(f"--where {part.strip()!r}: {label} is {spec.direction}d, so its bound reads "
                                     f"{label}{want}NUMBER")
            try:
                bounds[label] = float(number)
            except ValueError:
                raise SelectionError(f"--where {part.strip()!r}: {number!r} is not a number") from None
    return bounds


def select(archive: "ParetoArchive", selector: str, where: Sequence[str] = ()) -> Evaluation:
    """The evaluation ``selector`` names (see the module docstring); ``where`` only goes with
    ``best:OBJECTIVE``. Raises SelectionError when nothing matches."""
    selector = str(selector).strip()
    if where and not selector.startswith("best:"):
        raise SelectionError(f"--where goes with best:OBJECTIVE, not with {selector!r}")
    if not archive.evaluations:
        raise SelectionError("the run has no evaluations")
    if selector == "knee":
        ev = archive.knee()
        if ev is None:
            raise SelectionError("knee: no evaluation is feasible, so the front is empty")
        return ev
    if selector.startswith("best:"):
        label = selector[5:]
        if label not in archive.labels:
            raise SelectionError(f"{selector}: unknown objective {label!r}; accepted: {', '.join(archive.labels)}")
        bounds = parse_where(where, archive)
        ev = archive.best(label, bounds)
        if ev is None:
            what = " and ".join(f"{k} {'>=' if archive.objectives[archive.labels.index(k)].direction == MAXIMIZE else '<='} {v:g}"
                                for k, v in bounds.items())
            raise SelectionError(f"{selector}: no feasible front member" + (f" meets {what}" if what else ""))
        return ev
    if selector.isdigit():
        number = int(selector)
        for ev in archive.evaluations:
            if ev.number == number:
                return ev
        numbers = [e.number for e in archive.evaluations]
        raise SelectionError(f"evaluation {number}: not in the run; accepted: {min(numbers)}..{max(numbers)}")
    matches: List[Evaluation] = [e for e in archive.evaluations if e.arch.key == selector]
    if matches:
        complete = [e for e in matches if e.state == EvalState.COMPLETE]
        return (complete or matches)[0]
    raise SelectionError(f"{selector!r} is no evaluation number, arch key of the run, 'knee' or 'best:OBJECTIVE' "
                         f"(objectives: {', '.join(archive.labels)})")


def load_archive(run) -> "ParetoArchive":
    """Every evaluation of the run directory ``run`` (a RunDirectory) in a ParetoArchive, read only."""
    from monas.archive import ParetoArchive

    archive = ParetoArchive(run.read_objectives())
    for ev in run.read_evaluations(truncate=False):
        archive.add(ev)
    return archive


def describe(ev: Evaluation, archive: Optional["ParetoArchive"] = None) -> str:
    """One line naming the member: number, key and its values."""
    labels = archive.labels if archive is not None else list(ev.values)
    values = ", ".join(f"{k} {ev.values.get(k, float('nan')):.4g}" for k in labels)
    return f"evaluation {ev.number} ({ev.arch.key}): {values}"
