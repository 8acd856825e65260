"""monas export: member selection, a torch.export program that runs without monas, ONNX, the card."""
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
import torch

from monas.cli import main
from monas.export import export_member, onnx_available
from monas.run_directory import RunDirectory
from monas.selection import SelectionError, load_archive, select

CONFIG = """
run_dir: {run_dir}
seed: 0
search_space: {{name: nb201, params: {{C: 8, N: 1}}}}
objectives:
  - {{name: tabular, label: accuracy, params: {{column: c10_test_acc_200ep, direction: maximize}}}}
  - {{name: params, label: params}}
constraints: ["params <= 0.05"]
generators:
  - {{name: random}}
budget: {{evaluations: 12}}
progress: false
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    cfg = root / "small.yaml"
    cfg.write_text(CONFIG.format(run_dir=root / "run"))
    assert main(["search", str(cfg), "--quiet"]) == 0
    return root / "run"


def test_select_by_number_key_knee_and_best(run_dir):
    archive = load_archive(RunDirectory(run_dir))
    assert select(archive, "3").number == 3
    ev = archive.evaluations[5]
    assert select(archive, ev.arch.key).arch.key == ev.arch.key
    assert select(archive, "knee").number == archive.knee().number
    best = select(archive, "best:accuracy", ["params<=0.03"])
    assert best.values["params"] <= 0.03
    assert all(e.values["accuracy"] <= best.values["accuracy"] for e in archive.front() if e.values["params"] <= 0.03)
    with pytest.raises(SelectionError, match="params<=NUMBER"):
        select(archive, "best:accuracy", ["params>=0.03"])
    with pytest.raises(SelectionError, match="accepted: 0..11"):
        select(archive, "99")
    with pytest.raises(SelectionError, match="no feasible front member meets"):
        select(archive, "best:accuracy", ["params<=0.000001"])
    with pytest.raises(SelectionError, match="--where goes with best"):
        select(archive, "knee", ["params<=1"])


def _python_without_monas(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` with -I -S: the standard library plus torch's site-packages folder only (no
    .pth files, so the editable monas install is not on the path)."""
    torch_site = str(Path(torch.__file__).resolve().parent.parent)
    prelude = f"import sys; sys.path.append({torch_site!r})\n"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_exported_program_runs_without_monas(run_dir, tmp_path):
    result = export_member(run_dir, "knee", out=tmp_path / "knee", onnx=False)
    folder = result["dir"]
    for name in ("genotype.json", "program.pt2", "check.pt", "model_card.md", "model_card.json"):
        assert (folder / name).is_file(), name
    assert not (folder / "weights.pt").exists()  # never trained
    assert result["max_abs_diff"] <= 1e-5
    genotype = json.loads((folder / "genotype.json").read_text())
    assert genotype["space"] == "nb201" and genotype["key"] == result["evaluation"].arch.key
    code = textwrap.dedent(f"""
        import importlib.util, torch
        assert importlib.util.find_spec("monas") is None, "monas is importable"
        program = torch.export.load({str(folder / 'program.pt2')!r}).module()
        check = torch.load({str(folder / 'check.pt')!r})
        with torch.no_grad():
            diff = (program(check["input"]) - check["output"]).abs().max().item()
            one = program(check["input"][:1])
        print("DIFF", diff, tuple(one.shape))
    """)
    proc = _python_without_monas(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("DIFF")][0]
    assert float(line.split()[1]) <= 1e-5
    assert line.endswith("(1, 10)")


def test_model_card_fields(run_dir, tmp_path):
    card = export_member(run_dir, "best:accuracy", ["params<=0.05"], out=tmp_path / "c", onnx=False)["card"]
    labels = {o["label"]: o for o in card["objectives"]}
    assert labels["accuracy"]["units"] == "%" and labels["params"]["units"] == "M params"
    assert labels["params"]["fidelity"].startswith("counted")
    assert isinstance(labels["params"]["fingerprint"], dict)
    c = card["constraints"][0]
    assert c["constraint"] == "params <= 0.05" and c["met"] and c["margin"] == pytest.approx(0.05 - c["value"])
    assert card["seed"] == 0 and card["monas_version"] and len(card["config_hash"]) == 64
    md = (tmp_path / "c" / "model_card.md").read_text()
    assert "| params | " in md and "| `params <= 0.05` |" in md and "config sha256" in md


@pytest.mark.skipif(not onnx_available(), reason="the onnx extra is not installed")
def test_onnx_file_passes_the_checker(run_dir, tmp_path):
    import onnx

    export_member(run_dir, "0", out=tmp_path / "o", onnx=True)
    model = onnx.load(str(tmp_path / "o" / "model.onnx"))
    onnx.checker.check_model(model)
    assert not list((tmp_path / "o").glob("*.data"))  # weights inside the one file


def test_cli_export_errors_are_one_line(run_dir, capsys):
    assert main(["export", str(run_dir), "best:nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("monas: error: best:nope: unknown objective") and "\n" not in err


def test_retrain_step_keeps_weights_for_export(run_dir, tmp_path):
    import shutil

    from monas.datasets import load_digits
    from monas.registry import SEARCH_SPACES
    from monas.retrain import retrain_front

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    archive = load_archive(RunDirectory(run))
    rows = retrain_front(archive, space=SEARCH_SPACES.create("nb201", C=8, N=1), data=load_digits(), epochs=1,
                         top=1, run_dir=run, out=None)
    result = export_member(run, rows[0]["key"], out=tmp_path / "e", onnx=False)
    assert (tmp_path / "e" / "weights.pt").is_file() and (tmp_path / "e" / "training_log.jsonl").is_file()
    assert result["card"]["trained"]["accuracy"] == pytest.approx(rows[0]["retrained_acc"])
    assert result["max_abs_diff"] <= 1e-5
    assert json.loads((tmp_path / "e" / "genotype.json").read_text())["input_shape"] == [1, 16, 16]
