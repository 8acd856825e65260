"""Front-quality indicators on minimisation-form matrices: normalised hypervolume and front share.

Every function here takes objective matrices ``F`` of shape ``(n, m)`` in minimisation form
(maximised objectives already negated, as ``ParetoArchive.F`` returns them).
"""
from __future__ import annotations

from typing import Iterable, Optional, Tuple

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

#: Reference point, in every normalised coordinate, used unless a caller passes another.
DEFAULT_REF = 1.1


def as_matrix(F, name: str = "F", m: Optional[int] = None) -> np.ndarray:
    """``F`` as a float ``(n, m)`` array; raises naming ``name`` when it is not 2-D or finite."""
    A = np.asarray(F, dtype=float)
    if A.ndim == 1 and A.size == 0:
        A = A.reshape(0, m or 0)
    if A.ndim != 2:
        raise ValueError(f"{name} has shape {A.shape}; accepted: a 2-D array (points x objectives)")
    if m is not None and A.shape[1] != m:
        raise ValueError(f"{name} has {A.shape[1]} objectives; accepted: {m}, as the other matrix")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} holds NaN or infinite values; accepted: finite numbers only")
    return A


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``F`` (pymoo ``NonDominatedSorting``)."""
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    return np.asarray(NonDominatedSorting().do(F, only_non_dominated_front=True), dtype=int)


def normalise(F: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> np.ndarray:
    """Map ``ideal`` to 0 and ``nadir`` to 1 in each objective.

    Where ``nadir == ideal`` (a front with one value in that objective) the range is taken as 1,
    so that objective is only shifted, never divided by zero.
    """
    span = np.asarray(nadir, dtype=float) - np.asarray(ideal, dtype=float)
    span = np.where(span > 0, span, 1.0)
    return (np.asarray(F, dtype=float) - ideal) / span


def normalised_hypervolume(
    F: np.ndarray, ideal: np.ndarray, nadir: np.ndarray, ref: float = DEFAULT_REF
) -> float:
    """pymoo ``HV`` of ``F`` after ``normalise(F, ideal, nadir)``, reference ``ref`` in each axis.

    Points not strictly better than the reference point in every objective add nothing.
    Returns 0.0 for an empty ``F``.
    """
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        return 0.0
    if not np.isfinite(ref) or ref <= 0:
        raise ValueError(f"ref={ref!r}; accepted: a positive finite number (normalised units)")
    Z = normalise(F, ideal, nadir)
    return float(HV(ref_point=np.full(F.shape[1], float(ref))).do(Z))


def front_bounds(F: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Ideal (column minima) and nadir (column maxima) of the non-dominated rows of ``F``."""
    P = F[non_dominated(F)]
    return P.min(axis=0), P.max(axis=0)


def hypervolume_ratio(found_F, true_F, ref: float = DEFAULT_REF) -> float:
    """HV(found front) / HV(true front), both normalised by the TRUE front's ideal and nadir.

    Both inputs are minimisation-form matrices. The true front's ideal and nadir (taken over
    its non-dominated rows) map to 0 and 1, the reference point is ``ref`` (1.1) in every
    normalised coordinate, and pymoo's ``HV`` measures both sets. Found points outside the
    reference box add nothing. The ratio is 1.0 when the found set attains the true front and
    below 1 when it misses part of it; it exceeds 1 only if ``true_F`` was not really optimal.
    An empty found set scores 0.0.
    """
    T = as_matrix(true_F, "true_F")
    if len(T) == 0:
        raise ValueError("true_F is empty; accepted: the true front with at least one point")
    found = np.asarray(found_F, dtype=float)
    if found.size == 0:
        return 0.0
    G = as_matrix(found, "found_F", m=T.shape[1])
    ideal, nadir = front_bounds(T)
    true_hv = normalised_hypervolume(T, ideal, nadir, ref)
    return normalised_hypervolume(G, ideal, nadir, ref) / true_hv


def front_share(found_keys: Iterable[str], true_keys: Iterable[str]) -> float:
    """Fraction of the true front's architectures (by key) that appear among ``found_keys``."""
    true = set(true_keys)
    if not true:
        raise ValueError("true_keys is empty; accepted: the keys of at least one true-front point")
    return len(true & set(found_keys)) / len(true)
