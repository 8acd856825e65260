"""ParetoArchive against brute force and hand-computed values; indicators."""
import math

import numpy as np
import pytest

from monas.arch import Arch
from monas.archive import ParetoArchive, front_share, hypervolume_ratio
from monas.context import ObjectiveSpec
from monas.evaluation import EvalState, Evaluation


def _ev(n, values, violation=0.0, state=EvalState.COMPLETE, generator="g"):
    return Evaluation(
        number=n, arch=Arch("toy", f"a{n}", (n,)), values=dict(values),
        violations={"budget": float(violation)}, state=state, generator=generator,
    )


def _archive(directions):
    return ParetoArchive([ObjectiveSpec(f"o{j}", d) for j, d in enumerate(directions)])


def _brute_front(F):
    """Indices of rows not dominated by any row and not equal to an earlier row."""
    keep = []
    for i, f in enumerate(F):
        dominated = any(np.all(g <= f) and np.any(g < f) for g in F)
        duplicate = any(np.array_equal(F[k], f) for k in range(i))
        if not dominated and not duplicate:
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("directions", [
    ("minimize", "minimize"),
    ("minimize", "maximize"),
    ("maximize", "minimize", "minimize"),
])
def test_front_matches_brute_force(seed, directions):
    rng = np.random.default_rng(seed)
    m = len(directions)
    # coarse integer grid so ties and exact duplicates occur often
    X = rng.integers(0, 12, size=(300, m)).astype(float)
    viol = np.where(rng.random(300) < 0.2, rng.random(300), 0.0)
    a = _archive(directions)
    entered = [a.add(_ev(i, {f"o{j}": x[j] for j in range(m)}, viol[i])) for i, x in enumerate(X)]
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    feas = np.flatnonzero(viol == 0)
    expected = {int(feas[k]) for k in _brute_front(X[feas] * signs)}
    assert {e.number for e in a.front()} == expected
    assert len(a) == 300 and len(a.evaluations) == 300
    np.testing.assert_array_equal(a.F(), X * signs)
    # add() said True for every member of the final front
    assert all(entered[i] for i in expected)
    # front() ordered by first objective (minimisation form)
    f0 = a.F(a.front())[:, 0]
    assert np.all(np.diff(f0) >= 0)
    np.testing.assert_array_equal(a.front_F(), a.F(a.front()))
    # ranked(): first feasible group equals the front plus its duplicates (pymoo rank 0)
    first = {e.number for e in a.ranked()[0]}
    assert expected <= first
    assert all(any(np.array_equal(X[i], X[k]) for k in expected) for i in first)


def test_constrained_ordering():
    a = _archive(("minimize", "minimize"))
    a.add(_ev(0, {"o0": 0.0, "o1": 0.0}, violation=3.0))  # best values, most violation
    a.add(_ev(1, {"o0": 5.0, "o1": 5.0}))
    a.add(_ev(2, {"o0": 1.0, "o1": 1.0}, violation=0.5))
    a.add(_ev(3, {"o0": 6.0, "o1": 1.0}))
    a.add(_ev(4, {"o0": 9.0, "o1": 9.0}, violation=0.5))
    a.add(_ev(5, {"o0": 2.0, "o1": 2.0}, violation=1.0))
    groups = [[e.number for e in g] for g in a.ranked()]
    assert groups == [[1, 3], [2, 4], [5], [0]]
    assert [e.number for e in a.front()] == [1, 3]
    assert [e.number for e in a.truncate(3)] == [1, 3, 2]


def test_no_feasible_point_gives_empty_front():
    a = _archive(("minimize", "minimize"))
    assert a.add(_ev(0, {"o0": 1.0, "o1": 1.0}, violation=2.0)) is False
    a.add(_ev(1, {"o0": 2.0, "o1": 2.0}, violation=1.0))
    assert a.front() == [] and a.hypervolume() == 0.0 and a.knee() is None
    assert a.best("o0", {}) is None
    assert [[e.number for e in g] for g in a.ranked()] == [[1], [0]]


def test_failed_and_nan_never_enter_front():
    a = _archive(("minimize", "minimize"))
    assert not a.add(_ev(0, {"o0": -100.0, "o1": -100.0}, state=EvalState.FAILED))
    assert not a.add(_ev(1, {"o0": -100.0, "o1": -100.0}, state=EvalState.PRUNED))
    assert not a.add(_ev(2, {"o0": math.nan, "o1": -100.0}))
    assert not a.add(_ev(3, {"o0": -100.0}))  # missing objective
    assert not a.add(_ev(4, {"o0": -100.0, "o1": -100.0}, violation=math.nan))
    assert a.add(_ev(5, {"o0": 1.0, "o1": 1.0}))
    assert [e.number for e in a.front()] == [5]
    assert len(a) == 6
    ranked = [e.number for g in a.ranked() for e in g]
    assert ranked == [5, 4]  # NaN violation: infeasible with infinite total violation
    assert np.isnan(a.F()[2, 0]) and np.isnan(a.F()[3, 1])


def test_dominating_point_replaces_front_and_duplicate_keeps_first():
    a = _archive(("minimize", "maximize"))
    assert a.add(_ev(0, {"o0": 2.0, "o1": 0.5}))
    assert a.add(_ev(1, {"o0": 1.0, "o1": 0.2}))
    assert not a.add(_ev(2, {"o0": 2.0, "o1": 0.5}))  # duplicate of 0
    assert not a.add(_ev(3, {"o0": 3.0, "o1": 0.4}))  # dominated by 0
    assert a.add(_ev(4, {"o0": 1.0, "o1": 0.6}))  # dominates both
    assert [e.number for e in a.front()] == [4]


def test_truncate_keeps_extremes_by_crowding():
    a = _archive(("minimize", "minimize"))
    xs = [0.0, 0.1, 0.2, 0.5, 0.55, 1.0]
    for i, x in enumerate(xs):
        a.add(_ev(i, {"o0": x, "o1": 1.0 - x}))
    a.add(_ev(6, {"o0": 2.0, "o1": 2.0}))  # second rank
    kept = [e.number for e in a.truncate(3)]
    assert sorted(kept[:2]) == [0, 5]  # extremes: infinite crowding distance
    # interior crowding (x+1 - x-1 normalised): 0.2, 0.4, 0.45, 0.5 -> index 4 wins
    assert kept[2] == 4
    assert len(a.truncate(7)) == 7 and a.truncate(100)[-1].number == 6
    assert a.truncate(0) == []
    with pytest.raises(ValueError, match="k="):
        a.truncate(-1)


def test_hypervolume_hand_computed_2d():
    a = _archive(("minimize", "maximize"))
    # minimisation form: (0, 0) (1, -2) (2, -4); front ideal (0, -4), nadir (2, 0)
    a.add(_ev(0, {"o0": 0.0, "o1": 0.0}))
    a.add(_ev(1, {"o0": 1.0, "o1": 2.0}))
    a.add(_ev(2, {"o0": 2.0, "o1": 4.0}))
    # normalised points (0,1) (0.5,0.5) (1,0), ref 1.1; strips in x:
    # [0,.5) covered from y=1, [.5,1) from y=.5, [1,1.1) from y=0, each up to 1.1
    strips = 0.5 * (1.1 - 1.0) + 0.5 * (1.1 - 0.5) + 0.1 * (1.1 - 0.0)
    assert strips == pytest.approx(0.46)
    assert a.hypervolume() == pytest.approx(0.46)
    # fixed bounds, natural units: ideal (0, 4) nadir (4, 0) -> points (0,1) (.25,.5) (.5,0)
    hv = a.hypervolume(ideal={"o0": 0.0, "o1": 4.0}, nadir={"o0": 4.0, "o1": 0.0}, ref=1.0)
    assert hv == pytest.approx(0.25 * 0.5 + 0.5 * 1.0)
    # fixed bounds, minimisation form: ideal (-1,-4) nadir (3,0) -> (.25,1) (.5,.5) (.75,0)
    hv2 = a.hypervolume(ideal=[-1.0, -4.0], nadir=[3.0, 0.0], ref=1.0)
    assert hv2 == pytest.approx(0.25 * 0.5 + 0.25 * 1.0)
    # a label left out keeps the front's own bound
    assert a.hypervolume(ideal={"o0": 0.0}) == pytest.approx(0.46)
    with pytest.raises(ValueError, match="accepted labels"):
        a.hypervolume(ideal={"nope": 1.0})
    with pytest.raises(ValueError, match="finite"):
        a.hypervolume(nadir={"o0": math.nan})
    with pytest.raises(ValueError, match="nadir"):
        a.hypervolume(ideal=[5.0, 0.0], nadir=[0.0, 0.0])
    with pytest.raises(ValueError, match="ref="):
        a.hypervolume(ref=0.0)


def test_hypervolume_ratio_and_front_share():
    t = np.linspace(0, 1, 11)
    true_F = np.stack([t, 1 - t**2], axis=1)
    assert hypervolume_ratio(true_F, true_F) == pytest.approx(1.0)
    sub = hypervolume_ratio(true_F[::2], true_F)
    assert 0.8 < sub < 1.0
    assert hypervolume_ratio(true_F + 0.05, true_F) < sub
    assert hypervolume_ratio(np.empty((0, 2)), true_F) == 0.0
    with pytest.raises(ValueError, match="objectives"):
        hypervolume_ratio(np.zeros((1, 3)), true_F)
    keys = [f"k{i}" for i in range(11)]
    assert front_share(keys, keys) == 1.0
    assert front_share(keys[:4] + ["other"], keys) == pytest.approx(4 / 11)
    with pytest.raises(ValueError, match="true_keys"):
        front_share(keys, [])


def test_contributions_sum_to_front():
    rng = np.random.default_rng(3)
    a = _archive(("minimize", "minimize", "minimize"))
    for i, x in enumerate(rng.random((400, 3))):
        a.add(_ev(i, {"o0": x[0], "o1": x[1], "o2": x[2]}, generator=["rs", "nsga2", "evo"][i % 3]))
    a.add(_ev(400, {"o0": 9.0, "o1": 9.0, "o2": 9.0}, generator="late"))
    c = a.contributions()
    assert sum(c.values()) == len(a.front())
    assert set(c) == {"rs", "nsga2", "evo", "late"} and c["late"] == 0
    for g, count in c.items():
        assert count == sum(e.generator == g for e in a.front())


def test_knee_and_best_on_known_set():
    a = _archive(("minimize", "maximize"))
    # error falls steeply until 0.1 then flattens: (err, acc) with a clear knee at err 0.1
    pts = [(0.0, 0.0), (0.02, 0.2), (0.04, 0.4), (0.06, 0.6), (0.08, 0.8), (0.1, 0.9),
           (0.3, 0.92), (0.5, 0.94), (0.7, 0.96), (0.9, 0.98), (1.0, 1.0)]
    for i, (e, acc) in enumerate(pts):
        a.add(_ev(i, {"o0": e, "o1": acc}))
    a.add(_ev(11, {"o0": 0.2, "o1": 0.5}))  # dominated
    assert a.knee().number == 5
    with pytest.raises(ValueError, match="max_points"):
        a.knee(max_points=2)
    # best accuracy with o0 <= 0.5; best o0 with accuracy >= 0.95
    assert a.best("o1", {"o0": 0.5}).number == 7
    assert a.best("o0", {"o1": 0.95}).number == 8
    assert a.best("o0", {"o1": 2.0}) is None
    assert a.best("o1", {}).number == 10
    with pytest.raises(ValueError, match="accepted"):
        a.best("o9", {})
    with pytest.raises(ValueError, match="accepted labels"):
        a.best("o0", {"o9": 1.0})


def test_knee_dense_front_and_thinning():
    a = _archive(("minimize", "maximize"))
    t1, t2 = np.linspace(0, 0.1, 101), np.linspace(0.1, 1, 101)[1:]
    pts = list(zip(t1, 9 * t1)) + list(zip(t2, 0.9 + 0.1 * (t2 - 0.1) / 0.9))
    for i, (x, y) in enumerate(pts):
        a.add(_ev(i, {"o0": x, "o1": y}))
    assert len(a.front()) == 201
    assert a.knee().number == 100  # exactly (0.1, 0.9)
    thinned = a.knee(max_points=50)  # evenly spaced subset: a point near the knee
    assert abs(thinned.values["o0"] - 0.1) < 0.03


def test_knee_small_front_is_closest_to_ideal():
    a = _archive(("minimize", "minimize"))
    a.add(_ev(0, {"o0": 0.0, "o1": 1.0}))
    assert a.knee().number == 0
    a.add(_ev(1, {"o0": 1.0, "o1": 0.0}))
    assert a.knee().number == 0  # equidistant: the first in front order
    a2 = _archive(("minimize", "minimize"))
    for i, (x, y) in enumerate([(0.0, 1.0), (0.3, 0.3), (1.0, 0.0)]):
        a2.add(_ev(i, {"o0": x, "o1": y}))
    assert a2.knee().number == 1


def test_bad_input_messages():
    with pytest.raises(ValueError, match="objectives is empty"):
        ParetoArchive([])
    with pytest.raises(ValueError, match="direction"):
        ParetoArchive([ObjectiveSpec("a", "up")])
    with pytest.raises(ValueError, match="distinct"):
        ParetoArchive([ObjectiveSpec("a", "minimize"), ObjectiveSpec("a", "maximize")])
    with pytest.raises(TypeError, match="Evaluation"):
        _archive(("minimize",)).add({"o0": 1.0})


def test_many_adds_grow_and_ranked_cache_refreshes():
    rng = np.random.default_rng(5)
    a = _archive(("minimize", "minimize"))
    X = rng.random((3000, 2))
    for i, x in enumerate(X):
        a.add(_ev(i, {"o0": x[0], "o1": x[1]}))
    assert sum(len(g) for g in a.ranked()) == 3000
    a.add(_ev(3000, {"o0": -1.0, "o1": -1.0}))
    assert [e.number for e in a.ranked()[0]] == [3000]
    assert [e.number for e in a.front()] == [3000]
