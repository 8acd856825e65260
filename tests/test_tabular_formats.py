"""Benchmark tables in the formats benchmarks ship: CSV, JSON (key -> record, or a list of
records), Parquet (optional), a configurable key column and a map from the table's keys to the
space's; a table whose keys do not match the space is refused before any work, in one line
showing a table key beside a key of the space."""
import gzip
import json

import numpy as np
import pytest
import yaml

from monas.budget import Budget
from monas.config import ConfigError, load
from monas.engine import Engine
from monas.objectives.tabular import TabularObjective, load_table
from monas.preflight import check
from monas.registry import GENERATORS
from monas.search_spaces.mobilenet import MobileNetSpace

COLUMN = "c10_test_acc_200ep"


@pytest.fixture(scope="module")
def rows():
    """Ten rows of the packaged NB201 table: (NB201 string, accuracy, params)."""
    t = load_table()
    keys, acc, params = t.text("arch_str"), t.column(COLUMN), t.column("c10_params_M")
    return [(keys[i], float(acc[i]), float(params[i])) for i in range(0, 15625, 1563)]


def _check_values(obj, nb201, rows):
    from monas.context import EvaluationContext

    ctx = EvaluationContext(space=nb201, device="cpu", data=None, seed=0, run_dir=None)
    for key, acc, _ in rows:
        assert obj.measure(nb201.from_key(key), ctx).value == pytest.approx(acc)


def test_json_mapping_of_nested_records(tmp_path, nb201, rows):
    path = tmp_path / "bench.json.gz"
    data = {k: {"cifar10": {"test_acc": a}, "params_M": p} for k, a, p in rows}
    with gzip.open(path, "wt") as fh:
        json.dump(data, fh)
    obj = TabularObjective("cifar10.test_acc", direction="maximize", table=str(path))
    assert obj.table_.numeric_columns == ["cifar10.test_acc", "params_M"]
    _check_values(TabularObjective("cifar10.test_acc", direction="maximize", table=str(path)), nb201,
                  [(k, a, p) for k, a, p in rows])


def test_json_list_of_records_with_a_key_field_and_a_key_map(tmp_path, nb201, rows):
    # the benchmark names architectures by its own ids; key_map turns them into space keys
    path = tmp_path / "bench.json"
    path.write_text(json.dumps([{"id": f"arch{i}", COLUMN: a} for i, (_, a, _) in enumerate(rows)]))
    key_map = {f"arch{i}": k for i, (k, _, _) in enumerate(rows)}
    _check_values(TabularObjective(COLUMN, table=str(path), key="id", key_map=key_map), nb201, rows)
    map_file = tmp_path / "map.json"
    map_file.write_text(json.dumps(key_map))
    _check_values(TabularObjective(COLUMN, table=str(path), key="id", key_map=str(map_file)), nb201, rows)


def test_csv_with_another_key_column(tmp_path, nb201, rows):
    path = tmp_path / "bench.csv"
    path.write_text("cell,acc\n" + "".join(f"{k},{a}\n" for k, a, _ in rows))
    _check_values(TabularObjective("acc", direction="maximize", table=str(path), key="cell"), nb201, rows)
    with pytest.raises(ValueError, match="no key column 'arch'"):
        TabularObjective("acc", table=str(path), key="arch")


def test_parquet(tmp_path, nb201, rows):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "bench.parquet"
    pq.write_table(pa.table({"arch_str": [k for k, _, _ in rows], COLUMN: [a for _, a, _ in rows]}), path)
    _check_values(TabularObjective(COLUMN, table=str(path)), nb201, rows)


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    path = tmp_path / "bench.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ValueError, match=r"needs pyarrow: pip install 'monas\[parquet\]'"):
        TabularObjective(COLUMN, table=str(path))


def _config(tmp_path, table, **params):
    cfg = {"seed": 0, "search_space": {"name": "nb201"},
           "objectives": [{"name": "tabular", "label": "accuracy", "params": {"column": COLUMN, "table": str(table),
                                                                            **params}}],
           "generators": [{"name": "random"}], "budget": {"evaluations": 4}, "run_dir": str(tmp_path / "run")}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load(str(path))


def test_keys_that_do_not_match_the_space_are_refused_before_any_work_showing_both(tmp_path, nb201, rows):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({f"arch{i}": {COLUMN: a} for i, (_, a, _) in enumerate(rows)}))
    with pytest.raises(ConfigError) as info:
        check(_config(tmp_path, path))
    message = str(info.value)
    assert "\n" not in message and message.startswith("objectives[0].params.table")
    assert "table key 'arch0'" in message and "|nor_conv" in message and "key_map" in message
    assert not (tmp_path / "run").exists()
    # a map that sends a key nowhere in the space shows the mapped key too
    with pytest.raises(ConfigError, match=r"table key 'arch0' \(mapped to 'nope'\)"):
        check(_config(tmp_path, path, key_map={"arch0": "nope"}))
    mapped = load_table(str(path), key_map={f"arch{i}": k for i, (k, _, _) in enumerate(rows)})
    assert mapped.keys(nb201) == [k for k, _, _ in rows]


def test_a_table_of_the_mobilenet_space_is_searched(tmp_path):
    space = MobileNetSpace(**MobileNetSpace.contract_params)
    rng = np.random.default_rng(0)
    archs = {a.key: a for a in (space.sample(rng) for _ in range(40))}
    path = tmp_path / "mobilenet.json"
    path.write_text(json.dumps({k: {"acc": 90 + i % 7, "latency_ms": 1 + i % 5} for i, k in enumerate(archs)}))
    objectives = {"accuracy": TabularObjective("acc", direction="maximize", table=str(path)),
                  "latency": TabularObjective("latency_ms", table=str(path))}

    class FromTable(GENERATORS.get("random")):
        def ask(self, n):  # the table covers 40 architectures of the space: propose those
            return [archs[k] for k in list(archs)[len(self.ctx_.archive):][:n]]

    archive = Engine(space, objectives, [("t", FromTable(), 1.0)], budget=Budget(evaluations=10), seed=0).optimize()
    assert len(archive) == 10 and archive.front()
