"""The report plot: each pair of objectives gets its own non-dominated set; constraints are read back."""
import numpy as np

from monas.archive import ParetoArchive
from monas.arch import Arch
from monas.context import ObjectiveSpec
from monas.evaluation import Evaluation
from monas.report import _constraints, _pair_front, plot_front


def _archive():
    specs = [ObjectiveSpec("acc", "maximize", units="%"), ObjectiveSpec("lat", "minimize", units="ms"),
             ObjectiveSpec("params", "minimize", units="M params")]
    archive = ParetoArchive(specs)
    rows = [(90, 5, 3), (80, 2, 1), (85, 4, 0.5), (70, 9, 0.1), (95, 12, 2)]
    for n, (a, l, p) in enumerate(rows):
        archive.add(Evaluation(n, Arch("s", str(n), n), {"acc": a, "lat": l, "params": p},
                               {"lat <= 10": l - 10}))
    return archive


def test_pair_front_is_the_pairs_own_non_dominated_set():
    F = np.array([[1, 5], [2, 2], [3, 1], [4, 4]], dtype=float)
    assert sorted(_pair_front(F).tolist()) == [0, 1, 2]


def test_constraints_read_from_violations_and_plot_written(tmp_path):
    archive = _archive()
    assert [str(c) for c in _constraints(archive)] == ["lat <= 10"]
    plot_front(archive, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000
