"""The report's hypervolume on a fixed, stated scale (two runs comparable), the retrained accuracy
beside the estimate, and the interactive Optuna view."""
import csv
import json
import sys

import pytest

from monas.arch import Arch
from monas.archive import ParetoArchive
from monas.context import ObjectiveSpec
from monas.evaluation import Evaluation
from monas.report import (
    RETRAINED,
    fixed_hypervolume,
    front_table,
    hypervolume_scale,
    read_retrained,
    write_report,
)

SPECS = [ObjectiveSpec("accuracy", "maximize", units="%"), ObjectiveSpec("latency", "minimize", units="ms"),
         ObjectiveSpec("params", "minimize", units="M params")]


def _run(rows, specs=SPECS, constraint="latency <= 16"):
    archive = ParetoArchive(specs)
    for n, values in enumerate(rows):
        violations = {constraint: values["latency"] - 16} if constraint else {}
        archive.add(Evaluation(n, Arch("s", f"k{n}", (n,)), values, violations, generator="rs"))
    return archive


A = [{"accuracy": 80.0, "latency": 4.0, "params": 0.4}, {"accuracy": 90.0, "latency": 10.0, "params": 1.2}]
# the same front shape, every point better: a front-normalised hypervolume cannot tell them apart
B = [{"accuracy": 85.0, "latency": 3.0, "params": 0.3}, {"accuracy": 95.0, "latency": 9.0, "params": 1.1}]


def test_two_runs_share_one_scale_and_the_better_front_scores_higher():
    a, b = _run(A), _run(B)
    sa, sb = hypervolume_scale(a), hypervolume_scale(b)
    assert sa == sb  # the scale depends on objectives and config only, not on the front
    assert sa.ideal == {"accuracy": 100.0, "latency": 0.0, "params": 0.0}
    assert sa.nadir == {"accuracy": 0.0, "latency": 16.0, "params": 10.0}  # %, the constraint, the unit default
    assert "constraint" in sa.source["latency"] and "unit default" in sa.source["params"]
    assert a.hypervolume() == pytest.approx(b.hypervolume())  # front-normalised: the same shape, the same value
    hv_a, hv_b = fixed_hypervolume(a, sa), fixed_hypervolume(b, sb)
    assert 0 < hv_a < hv_b <= 1.1 ** 3
    # by hand: the fixed scale is the config's, so a run's value does not move with another run's front
    assert hv_a == pytest.approx(a.hypervolume(ideal=sa.ideal, nadir=sa.nadir))


def test_budget_bounds_override_and_the_scale_is_stated_in_every_output(tmp_path):
    a = _run(A)
    scale = hypervolume_scale(a, hv_ideal={"params": 0.1}, hv_nadir={"params": 2.0, "latency": 12})
    assert scale.ideal["params"] == 0.1 and scale.nadir["params"] == 2.0 and scale.nadir["latency"] == 12
    assert scale.source["params"] == "ideal from budget.hv_ideal, nadir from budget.hv_nadir"
    assert scale.source["latency"] == "ideal from units, nadir from budget.hv_nadir"
    stated = "accuracy 100..0 %"
    text = front_table(a, scale)
    assert f"hypervolume {fixed_hypervolume(a, scale):.4f} on the fixed scale" in text
    assert stated in text and "params 0.1..2 M params" in text and "latency 0..12 ms" in text
    assert "front-normalised" in text and "not comparable between runs" in text
    paths = write_report(a, tmp_path / "rep", hv_ideal={"params": 0.1}, hv_nadir={"params": 2.0, "latency": 12})
    for key in ("txt", "html"):
        assert stated in paths[key].read_text() and "params 0.1..2 M params" in paths[key].read_text()
    saved = json.loads(paths["hv"].read_text())
    assert saved["hypervolume"] == pytest.approx(fixed_hypervolume(a, scale))
    assert saved["scale"]["objectives"]["params"] == {"ideal": 0.1, "nadir": 2.0, "units": "M params",
                                                      "source": scale.source["params"]}
    assert saved["scale"]["ref"] == 1.1 and saved["front_normalised"] == pytest.approx(a.hypervolume())


def test_no_fixed_bound_is_said_not_guessed(tmp_path):
    specs = [ObjectiveSpec("accuracy", "maximize", units="%"), ObjectiveSpec("energy", "minimize", units="J")]
    a = _run([{"accuracy": 80.0, "energy": 2.0, "latency": 1.0}], specs=specs, constraint=None)
    scale = hypervolume_scale(a)
    assert scale.missing == ["energy"] and fixed_hypervolume(a, scale) is None
    assert "hypervolume on a fixed scale: not computed (no fixed bound for energy: set budget.hv_ideal/hv_nadir)" \
        in front_table(a)
    fixed = hypervolume_scale(a, hv_ideal={"energy": 0}, hv_nadir={"energy": 5})
    assert fixed.missing == [] and fixed_hypervolume(a, fixed) > 0
    assert json.loads(write_report(a, tmp_path)["hv"].read_text())["hypervolume"] is None


def test_retrained_accuracy_beside_the_estimate(tmp_path):
    a = _run(A)
    with open(tmp_path / "retrain.csv", "w", newline="") as fh:  # as monas.retrain writes it
        w = csv.DictWriter(fh, fieldnames=["key", "estimate", "retrained_acc", "split"])
        w.writeheader()
        w.writerow({"key": "k1", "estimate": 90.0, "retrained_acc": 87.5, "split": "test"})
    assert read_retrained(tmp_path) == {"k1": 87.5} and read_retrained(tmp_path / "nope") == {}
    paths = write_report(a, tmp_path / "report", run_dir=tmp_path, interactive=False)
    with open(paths["csv"]) as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index(RETRAINED)
    assert rows[0][col - 1].startswith("params") and rows[0][-1] == "feasible"
    by_key = {r[2]: r[col] for r in rows[1:]}
    assert float(by_key["k1"]) == 87.5 and by_key["k0"] == "nan"  # k0 was not retrained
    assert RETRAINED in paths["txt"].read_text() and "87.5" in paths["txt"].read_text()
    assert RETRAINED in paths["html"].read_text()
    assert paths["png"].stat().st_size > 10_000
    # without retrain.csv the columns are as before
    assert RETRAINED not in write_report(a, tmp_path / "plain")["txt"].read_text()


def _searched(tmp_path):
    import monas

    config = """
search_space: {name: nb201}
objectives:
  - {name: tabular, label: accuracy, params: {column: c10_test_acc_200ep, direction: maximize}}
  - {name: tabular, label: latency, params: {column: lat_ms_1080ti_1, direction: minimize}}
constraints: ["latency <= 16"]
generators: [{name: random}]
budget: {evaluations: 12}
progress: false
"""
    return monas.search(config, seed=0, run_dir=str(tmp_path / "run"))


def test_interactive_view_of_the_study(tmp_path):
    pytest.importorskip("plotly")
    result = _searched(tmp_path)
    notes = []
    paths = write_report(result.archive, tmp_path / "rep", run_dir=result.run_dir, notes=notes)
    assert notes == [] and paths["interactive"].name == "pareto_interactive.html"
    page = paths["interactive"].read_text()
    assert "plotly" in page.lower() and "accuracy [%] (max)" in page
    assert 'href="pareto_interactive.html"' in paths["html"].read_text()


def test_interactive_view_skipped_with_a_reason(tmp_path, monkeypatch):
    result = _searched(tmp_path)
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if plotly were not installed
    notes = []
    paths = write_report(result.archive, tmp_path / "rep", run_dir=result.run_dir, notes=notes)
    assert "interactive" not in paths
    assert notes == ["interactive view skipped: plotly is not installed (pip install 'monas[plot]')"]
    assert "plotly is not installed" in paths["html"].read_text()
    monkeypatch.undo()
    notes = []
    write_report(result.archive, tmp_path / "rep2", run_dir=tmp_path / "elsewhere", notes=notes)
    assert notes and "no Optuna study" in notes[0]


def test_retrain_and_export_show_a_bar_with_an_honest_total(tmp_path, capsys):
    """retrain: one bar over members x epochs; export: one bar over its phases."""
    from monas.cli import main
    from monas.datasets import load_digits
    from monas.registry import SEARCH_SPACES
    from monas.retrain import retrain_front
    from monas.selection import load_archive
    from monas.run_directory import RunDirectory

    config = tmp_path / "c.yaml"
    config.write_text(f"""
run_dir: {tmp_path / 'run'}
search_space: {{name: nb201, params: {{C: 8, N: 1}}}}
objectives:
  - {{name: tabular, label: accuracy, params: {{column: c10_test_acc_200ep, direction: maximize}}}}
  - {{name: params, label: params}}
generators: [{{name: random}}]
budget: {{evaluations: 6}}
progress: false
""")
    assert main(["search", str(config), "--quiet"]) == 0
    run = tmp_path / "run"
    archive = load_archive(RunDirectory(run))
    capsys.readouterr()
    rows = retrain_front(archive, space=SEARCH_SPACES.create("nb201", C=8, N=1), data=load_digits(), epochs=2,
                         top=2, run_dir=run, out=None, progress=True)
    err = capsys.readouterr().err
    assert len(rows) == 2 and "retrain 2/2" in err and "4/4" in err  # 2 members x 2 epochs
    assert main(["export", str(run), "knee", "--no-onnx", "--out", str(tmp_path / "e")]) == 0
    err = capsys.readouterr().err
    assert "export: model card" in err and "3/3" in err  # build, torch.export, card (no ONNX)
    assert main(["export", str(run), "knee", "--no-onnx", "--quiet", "--out", str(tmp_path / "q")]) == 0
    assert "3/3" not in capsys.readouterr().err
