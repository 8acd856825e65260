"""A verdict at the end of a failed run; damaged run directories repaired or refused in one line;
an internal error is one line with the path of its traceback."""
import json
import os
from pathlib import Path

import optuna
import pytest
import yaml

from monas import cli
from monas.objective import Measurement, Objective
from monas.registry import OBJECTIVES
from monas.run_directory import RunDirectory


class AlwaysFails(Objective):
    """An objective whose measurement always raises (a misconfigured measurement)."""

    def measure(self, arch, ctx):
        raise RuntimeError("the device is gone")

    def fingerprint(self, ctx):
        return {"kind": "always_fails"}


class FailsOnMost(Objective):
    """Fails on three architectures in four (by key), else 1.0."""

    def measure(self, arch, ctx):
        if sum(map(ord, arch.key)) % 4:
            raise ValueError("no value for this cell")
        return Measurement(1.0)

    def fingerprint(self, ctx):
        return {"kind": "fails_on_most"}


@pytest.fixture(autouse=True, scope="module")
def failing_objectives():
    for name, cls in (("test_always_fails", AlwaysFails), ("test_fails_on_most", FailsOnMost)):
        if name not in OBJECTIVES:
            OBJECTIVES.register(name, cls)


def config(tmp_path, objectives=None, evaluations=10, **extra):
    cfg = {
        "run_dir": str(tmp_path / "run"),
        "search_space": {"name": "nb201"},
        "objectives": objectives or [
            {"name": "tabular", "label": "accuracy", "params": {"column": "c10_test_acc_200ep"}},
            {"name": "tabular", "label": "latency", "params": {"column": "lat_ms_1080ti_1"}},
        ],
        "generators": [{"name": "random"}],
        "budget": {"evaluations": evaluations},
        "progress": False,
        **extra,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def search(path, *args):
    return cli.main(["search", str(path), "--quiet", *args])


# ----------------------------------------------------------------------------- verdict
def test_every_evaluation_failed_exits_non_zero_naming_the_error(tmp_path, capsys):
    path = config(tmp_path, objectives=[{"name": "test_always_fails", "label": "latency"}], evaluations=6)
    assert search(path) == 3
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-2:]
    assert "every evaluation failed (6 of 6)" in last[0]
    assert "most common error (6 of 6 failures): RuntimeError: the device is gone" in last[1]
    assert "failed: 6 of 6 evaluations (latency 6)" in captured.out


def test_an_objective_failing_on_most_evaluations_exits_non_zero_unless_allowed(tmp_path, capsys):
    objectives = [{"name": "tabular", "label": "accuracy", "params": {"column": "c10_test_acc_200ep"}},
                  {"name": "test_fails_on_most", "label": "flaky"}]
    assert search(config(tmp_path, objectives=objectives, evaluations=40)) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert "objective 'flaky' failed on" in err[-2] and "max_failed_share 0.5" in err[-2]
    assert "ValueError: no value for this cell" in err[-1]
    other = tmp_path / "b"
    other.mkdir()
    assert search(config(other, objectives=objectives, evaluations=40, max_failed_share=0.95)) == 0


# ----------------------------------------------------------------------------- damaged run directories
def finished_run(tmp_path, evaluations=10):
    path = config(tmp_path, evaluations=evaluations)
    assert search(path) == 0
    return path, RunDirectory(tmp_path / "run")


def test_corrupt_line_is_one_line_and_repair_keeps_every_good_record(tmp_path, capsys):
    path, run = finished_run(tmp_path)
    lines = run.evaluations_path.read_bytes().split(b"\n")
    lines[2] = lines[2][:40] + b"\xff\xfe" + lines[2][40:]
    run.evaluations_path.write_bytes(b"\n".join(lines))
    capsys.readouterr()
    for argv in (["report", str(run.path)], ["search", str(path), "--quiet", "--resume"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "evaluations.jsonl line 3" in err[0] and "monas repair" in err[0], err
    assert cli.main(["repair", str(run.path)]) == 0
    assert "kept 9 good records; moved 1 bad line(s) (3)" in capsys.readouterr().out
    aside = list(run.path.glob("evaluations.jsonl.bad-*"))
    assert len(aside) == 1 and b"\xff\xfe" in aside[0].read_bytes()
    assert [e.number for e in run.read_evaluations()] == [0, 1, 3, 4, 5, 6, 7, 8, 9]
    cfg = yaml.safe_load(path.read_text())
    cfg["budget"] = {"evaluations": 12}
    path.write_text(yaml.safe_dump(cfg))
    assert search(path, "--resume") == 0
    numbers = [e.number for e in run.read_evaluations()]
    assert len(numbers) == 12 and len(set(numbers)) == 12  # no number reused after the gap


def test_resume_repair_repairs_then_continues(tmp_path, capsys):
    path, run = finished_run(tmp_path)
    with open(run.evaluations_path, "ab") as fh:
        fh.write(b"\x00\xffnot json\n")
    cfg = yaml.safe_load(path.read_text())
    cfg["budget"] = {"evaluations": 12}
    path.write_text(yaml.safe_dump(cfg))
    assert search(path, "--resume", "--repair") == 0
    assert "moved 1 bad line(s) (11)" in capsys.readouterr().out
    assert [e.number for e in run.read_evaluations()] == list(range(12))


def test_missing_log_with_study_refuses_resume_then_repair_rebuilds_it(tmp_path, capsys):
    path, run = finished_run(tmp_path)
    before = [(e.number, e.arch.key, e.values) for e in run.read_evaluations()]
    run.evaluations_path.unlink()
    capsys.readouterr()
    assert search(path, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evaluations.jsonl is missing but study.db is there" in err[0]
    assert search(path) == 2  # nor a silent fresh start over the old study
    assert "already holds a run" in capsys.readouterr().err
    assert cli.main(["repair", str(run.path)]) == 0
    assert "rebuilt 10 evaluations" in capsys.readouterr().out
    assert [(e.number, e.arch.key, e.values) for e in run.read_evaluations()] == before
    cfg = yaml.safe_load(path.read_text())
    cfg["budget"] = {"evaluations": 15}
    path.write_text(yaml.safe_dump(cfg))
    assert search(path, "--resume") == 0
    study = optuna.load_study(study_name=run.path.name, storage=run.default_storage())
    assert sorted(t.user_attrs["monas_number"] for t in study.get_trials()) == list(range(15))


def test_garbage_study_is_one_line_and_repair_lets_resume_rebuild_it(tmp_path, capsys):
    path, run = finished_run(tmp_path)
    run.study_path.write_bytes(b"this is not a database" * 50)
    capsys.readouterr()
    assert search(path, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "study.db' is not an SQLite database" in err[0]
    assert cli.main(["repair", str(run.path)]) == 0
    assert "moved to" in capsys.readouterr().out
    assert search(path, "--resume") == 0
    study = optuna.load_study(study_name=run.path.name, storage=run.default_storage())
    assert len(study.get_trials()) == 10


def test_read_only_run_directory_reports_where_told_and_refuses_resume(tmp_path, capsys, monkeypatch):
    path, run = finished_run(tmp_path)
    with open(run.evaluations_path, "a") as fh:
        fh.write('{"number": 10, "arch": {"spa')  # torn tail: a report must not cut it
    size = run.evaluations_path.stat().st_size
    real_access = os.access
    run_path = str(run.path.resolve())

    def access(p, mode, *a, **kw):  # read-only for this test even when it runs as root
        if mode & os.W_OK and str(Path(p).resolve()).startswith(run_path):
            return False
        return real_access(p, mode, *a, **kw)

    monkeypatch.setattr(os, "access", access)
    import monas.report

    real_write = monas.report.write_report

    def write_report(archive, out_dir, **kwargs):
        if str(Path(out_dir).resolve()).startswith(run_path):
            raise PermissionError(13, "Permission denied")
        return real_write(archive, out_dir, **kwargs)

    monkeypatch.setattr(monas.report, "write_report", write_report)
    capsys.readouterr()
    assert cli.main(["report", str(run.path)]) == 0
    out = capsys.readouterr()
    assert "failed: 0 of 10 evaluations" in out.out and "pass --out DIR" in out.err
    assert cli.main(["report", str(run.path), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "front.html").exists()
    assert run.evaluations_path.stat().st_size == size
    capsys.readouterr()
    assert search(path, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "read-only" in err[0]


def test_internal_error_is_one_line_with_the_traceback_file(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(cli, "cmd_list", broken)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("monas: internal error: RuntimeError: a bug over two lines")
    log = Path(err[0].rsplit(" ", 1)[-1])
    assert "Traceback" in log.read_text()
    log.unlink()
