"""The Python API: monas.search, SearchResult.to_dataframe, monas.__all__, python -m monas, and the
README's "From Python" snippets (run as written)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

import monas

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE = """
search_space: {name: nb201}
objectives:
  - {name: tabular, label: accuracy, params: {column: c10_test_acc_200ep, direction: maximize}}
  - {name: tabular, label: latency, params: {column: lat_ms_1080ti_1, direction: minimize}}
generators: [{name: random}]
budget: {evaluations: 8}
progress: false
"""


def test_all_names_resolve():
    for name in ("Engine", "ParetoArchive", "Arch", "GENERATORS", "SEARCH_SPACES", "OBJECTIVES", "DATASETS",
                 "search", "GeneratorSampler"):
        assert name in monas.__all__
    for name in monas.__all__:
        assert getattr(monas, name) is not None


@pytest.mark.parametrize("form", ["yaml", "dict", "path"])
def test_search_from_yaml_dict_or_path(form, tmp_path):
    import yaml

    config = {"yaml": TABLE, "dict": yaml.safe_load(TABLE)}.get(form)
    if form == "path":
        config = tmp_path / "c.yaml"
        config.write_text(TABLE)
    result = monas.search(config, seed=2, run_dir=str(tmp_path / "run"))
    assert result.run_dir == tmp_path / "run" and (result.run_dir / "evaluations.jsonl").is_file()
    assert len(result.archive) == 8 and result.front and result.config["seed"] == 2
    table = result.to_dataframe()
    assert list(table.columns) == ["generator", "key", "state", "accuracy", "latency", "feasible", "on_front", "error"]
    assert table.on_front.sum() == len(result.front)


def test_search_rejects_a_bad_config_before_work():
    from monas.config import ConfigError

    with pytest.raises(ConfigError, match="budget.evals: unknown field"):
        monas.search(TABLE.replace("budget: {evaluations: 8}", "budget: {evals: 8}"))


def test_to_dataframe_without_pandas_says_how(monkeypatch, tmp_path):
    result = monas.search(TABLE, run_dir=str(tmp_path / "r"))
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        result.to_dataframe()


def test_python_dash_m_monas():
    proc = subprocess.run([sys.executable, "-m", "monas", "list"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("generators:")


def test_readme_from_python_snippets_run(tmp_path, monkeypatch):
    text = README.read_text()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    snippets = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(snippets) == 3
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for code in snippets:
        exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["study"].trials and namespace["result"].front
