"""Report: text table of the front, CSV/HTML files and the Pareto PNG."""
import csv

import numpy as np
import pytest

from monas.arch import Arch
from monas.archive import ParetoArchive
from monas.context import ObjectiveSpec
from monas.evaluation import EvalState, Evaluation
from monas.report import front_rows, front_table, write_report


def _archive(labels_dirs, rows):
    a = ParetoArchive([ObjectiveSpec(l, d) for l, d in labels_dirs])
    for n, (values, violation, generator) in enumerate(rows):
        a.add(Evaluation(number=n, arch=Arch("toy", f"arch-{n}", (n,)), values=values,
                         violations={"params_max": violation}, generator=generator))
    return a


@pytest.fixture
def archive():
    rows = [
        ({"error": 10.0, "params": 1.0}, 0.0, "random"),
        ({"error": 5.0, "params": 3.0}, 0.0, "nsga2"),
        ({"error": 8.0, "params": 4.0}, 0.0, "random"),   # dominated
        ({"error": 2.0, "params": 9.0}, 0.0, "nsga2"),
        ({"error": 1.0, "params": 12.0}, 2.0, "random"),  # infeasible
    ]
    return _archive([("error", "minimize"), ("params", "minimize")], rows)


def test_table_lists_front_sorted(archive):
    text = front_table(archive)
    lines = text.splitlines()
    assert lines[0].split() == ["number", "generator", "key", "error", "(min)", "params", "(min)", "feasible"]
    body = lines[2:-1]
    assert [ln.split()[0] for ln in body] == ["3", "1", "0"]  # by error, best first
    assert [ln.split()[2] for ln in body] == ["arch-3", "arch-1", "arch-0"]
    assert all(ln.split()[-1] == "yes" for ln in body)
    assert "arch-2" not in text and "arch-4" not in text
    assert "5 evaluations, 3 on the feasible front" in lines[-1]
    assert "nsga2: 2" in lines[-1] and "random: 1" in lines[-1]
    # values right-aligned under their header: columns end where the header's name ends
    end = lines[0].index("params (min)") + len("params (min)")
    assert all(ln[:end].endswith(v) for ln, v in zip(body, ["9", "3", "1"]))


def test_write_report_files(archive, tmp_path):
    paths = write_report(archive, tmp_path / "rep")
    assert set(paths) == {"csv", "html", "png", "txt", "hv"}  # no run directory: no study, no interactive view
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    with open(paths["csv"]) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["number", "generator", "key", "error (min)", "params (min)", "feasible"]
    assert [r[0] for r in rows[1:]] == ["3", "1", "0"]
    assert float(rows[1][3]) == 2.0 and float(rows[1][4]) == 9.0
    html = paths["html"].read_text()
    assert html.count("<tr") == 4 and "arch-1" in html and "pareto.png" in html
    assert 'class="knee"' in html
    assert paths["txt"].read_text().startswith("number")


def test_report_three_objectives_and_maximised(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        x = rng.random(3)
        rows.append(({"acc": 90 + 5 * x[0], "params": x[1], "lat": x[2]}, float(x[2] > 0.8), "rs"))
    a = _archive([("acc", "maximize"), ("params", "minimize"), ("lat", "minimize")], rows)
    a.add(Evaluation(number=60, arch=Arch("toy", "failed", (60,)), values={}, violations={},
                     state=EvalState.FAILED, generator="rs"))
    paths = write_report(a, tmp_path)
    assert paths["png"].stat().st_size > 5000
    accs = [r[3] for r in front_rows(a)]
    assert accs == sorted(accs, reverse=True)  # maximised first objective: best (largest) first
    assert "acc (max)" in front_table(a)


def test_empty_front_report(tmp_path):
    a = _archive([("error", "minimize"), ("params", "minimize")],
                 [({"error": 1.0, "params": 1.0}, 1.0, "rs")])
    assert "none feasible" in front_table(a)
    paths = write_report(a, tmp_path)
    assert paths["png"].exists() and "none feasible" in paths["html"].read_text()
