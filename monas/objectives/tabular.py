"""Benchmark-table objectives: any numeric column of a table laid out like NAS-Bench-201.

Formats (by the file name): CSV (``.csv``, ``.csv.gz``), JSON (``.json``, ``.json.gz``: a
mapping key -> record, or a list of records; nested records are flattened with ``.``, e.g.
``{"cifar10": {"test_acc": 94.1}}`` gives the column ``cifar10.test_acc``) and Parquet
(``.parquet``, with the ``parquet`` extra: pyarrow). Rows name their architecture either by a
key column (``key``; default ``arch_str``; a JSON mapping's keys fill it) holding each
architecture's key, or, without one, by one column per search-space variable (named as in
``space.variables()``, e.g. ``op_1_0`` ... ``op_3_2`` for NB201) holding the chosen option.
``key_map`` (a mapping, or the path of a JSON file holding one) turns the table's keys into the
space's keys first (keys it does not list pass through). The packaged default is the NB201
CIFAR-10 table (``monas/data/nb201_cifar10.csv.gz``).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from monas.objective import MAXIMIZE, MINIMIZE, Measurement, Objective, check_direction

DEFAULT_TABLE = Path(__file__).resolve().parent.parent / "data" / "nb201_cifar10.csv.gz"
DEFAULT_KEY = "arch_str"
FORMATS = {".csv": "csv", ".csv.gz": "csv", ".json": "json", ".json.gz": "json", ".parquet": "parquet"}
ACCEPTED = "a CSV (.csv, .csv.gz), JSON (.json, .json.gz: key -> record, or a list of records) or Parquet table"


def table_format(path: Union[str, Path]) -> Optional[str]:
    """'csv', 'json' or 'parquet' by the file name's suffix; None for any other file."""
    name = Path(path).name.lower()
    return next((fmt for suffix, fmt in FORMATS.items() if name.endswith(suffix)), None)


def _flatten(record: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, name + "."))
        else:
            out[name] = v
    return out


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _read_rows(path: Path, key: Optional[str]) -> Tuple[List[str], List[Dict[str, Any]]]:
    """(columns, rows as dicts) of the table at ``path``."""
    fmt = table_format(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    if fmt == "json":
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        if isinstance(data, Mapping):
            field = key or DEFAULT_KEY
            rows = []
            for k, rec in data.items():
                if not isinstance(rec, Mapping):
                    raise ValueError(f"benchmark table {str(path)!r}: the record of key {k!r} is not a mapping")
                row = _flatten(rec)
                row.setdefault(field, k)
                rows.append(row)
        elif isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
            rows = [_flatten(r) for r in data]
        else:
            raise ValueError(f"benchmark table {str(path)!r} is neither a mapping key -> record nor a list of records")
        columns: List[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        return columns, rows
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(f"benchmark table {str(path)!r} is Parquet, which needs pyarrow: "
                             "pip install 'monas[parquet]'") from None
        tbl = pq.read_table(path)
        data = tbl.to_pydict()
        columns = list(tbl.column_names)
        return columns, [{c: data[c][i] for c in columns} for i in range(tbl.num_rows)]
    with opener(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        body = list(reader)
    if not body:
        return [], []
    columns = body[0]
    return columns, [dict(zip(columns, r)) for r in body[1:]]


class BenchmarkTable:
    """A benchmark table (see module docstring): string columns kept as text, numeric columns
    as float arrays. ``key`` names the key column, ``key_map`` maps the table's keys to the
    space's keys."""

    def __init__(self, path: Path, key: Optional[str] = None, key_map: Optional[Mapping[str, str]] = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"benchmark table {str(self.path)!r} does not exist")
        if table_format(self.path) is None:
            raise ValueError(f"benchmark table {str(self.path)!r}: unknown format; accepted: {ACCEPTED}")
        self.key = key
        self.key_map = dict(key_map or {})
        self.columns, rows = _read_rows(self.path, key)
        if not rows:
            raise ValueError(f"benchmark table {str(self.path)!r} has no rows")
        if key is not None and key not in self.columns:
            raise ValueError(f"benchmark table {str(self.path)!r} has no key column {key!r}; "
                             f"columns: {', '.join(self.columns[:8])}{', ...' if len(self.columns) > 8 else ''}")
        self._text: Dict[str, List[str]] = {c: [_text(r.get(c)) for r in rows] for c in self.columns}
        self._numeric: Dict[str, np.ndarray] = {}
        for c in self.columns:
            try:
                self._numeric[c] = np.array([float(v) if v != "" else np.nan for v in self._text[c]])
            except ValueError:
                pass
        self._index: Optional[Dict[str, int]] = None
        self._index_space: Optional[str] = None

    def __len__(self) -> int:
        return len(next(iter(self._text.values())))

    @property
    def key_column(self) -> Optional[str]:
        """The column holding each row's key (``key``, else ``arch_str`` when present), or None."""
        if self.key is not None:
            return self.key
        return DEFAULT_KEY if DEFAULT_KEY in self._text else None

    @property
    def numeric_columns(self) -> List[str]:
        return [c for c in self.columns if c in self._numeric and c not in ("arch_index", self.key_column)]

    def column(self, name: str) -> np.ndarray:
        if name not in self._numeric:
            raise KeyError(
                f"column {name!r} is not a numeric column of {self.path.name}; "
                f"accepted: {', '.join(self.numeric_columns)}"
            )
        return self._numeric[name]

    def text(self, name: str) -> List[str]:
        return self._text[name]

    def keys(self, space) -> List[str]:
        """The canonical key of every row, in row order, as ``space`` spells it.

        Raises ValueError in one line when a row does not name an architecture of ``space``,
        showing that row's table key beside a key of the space."""
        from monas.search_space import ArchError

        column = self.key_column
        if column is not None:
            out = []
            for raw in self._text[column]:
                mapped = self.key_map.get(raw, raw)
                try:
                    out.append(space.from_key(mapped).key)
                except (ArchError, NotImplementedError, ValueError, TypeError) as exc:
                    via = f" (mapped to {mapped!r})" if mapped != raw else ""
                    raise ValueError(f"table key {raw!r}{via} is not a key of space {space.name!r}, whose keys read "
                                     f"{_example_key(space)!r} ({_reason(exc)}); give key_map from table keys to "
                                     "space keys, or the key column with key") from None
            return out
        names = [v.name for v in space.variables()]
        missing = [n for n in names if n not in self._text]
        if missing:
            raise ValueError(
                f"table {self.path.name} has neither an '{DEFAULT_KEY}' (or key) column nor the variable columns "
                f"{', '.join(missing[:6])}{', ...' if len(missing) > 6 else ''} of space {space.name!r}"
            )
        out = []
        for i in range(len(self)):
            row = tuple(self._text[n][i] for n in names)
            try:
                out.append(space.from_genotype(row).key)
            except (ArchError, ValueError, TypeError) as exc:
                raise ValueError(f"table row {i} {row!r} is not an architecture of space {space.name!r}, whose "
                                 f"genotypes read {_example_genotype(space)!r} ({_reason(exc)})") from None
        return out

    def row_of(self, key: str, space) -> int:
        if self._index is None or self._index_space != space.name:
            self._index = {k: i for i, k in enumerate(self.keys(space))}
            self._index_space = space.name
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"architecture {key!r} is not in table {self.path.name}") from None


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _example_key(space) -> str:
    return space.sample(np.random.default_rng(0)).key


def _example_genotype(space) -> Any:
    return space.sample(np.random.default_rng(0)).genotype


def read_key_map(key_map: Union[None, str, Mapping[str, Any]]) -> Dict[str, str]:
    """``key_map`` as a dict of strings: a mapping as given, or the JSON file at a path."""
    if key_map is None:
        return {}
    if isinstance(key_map, (str, Path)):
        path = Path(key_map).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"key_map {str(key_map)!r} does not exist; accepted: a mapping or a JSON file of one")
        with open(path, encoding="utf-8") as fh:
            key_map = json.load(fh)
    if not isinstance(key_map, Mapping):
        raise ValueError(f"key_map must map table keys to space keys, got {type(key_map).__name__}")
    return {str(k): str(v) for k, v in key_map.items()}


@lru_cache(maxsize=8)
def _load(path: Optional[str], key: Optional[str], key_map: Tuple[Tuple[str, str], ...]) -> BenchmarkTable:
    return BenchmarkTable(Path(path) if path else DEFAULT_TABLE, key=key, key_map=dict(key_map))


def load_table(path: Optional[str] = None, key: Optional[str] = None,
               key_map: Union[None, str, Mapping[str, Any]] = None) -> BenchmarkTable:
    """The table at ``path`` (the packaged NB201 CIFAR-10 table by default), loaded once per
    (path, key, key_map)."""
    return _load(str(path) if path else None, key, tuple(sorted(read_key_map(key_map).items())))


def column_units(column: str) -> str:
    """Units read off a benchmark column's name (NB201 conventions: ``*acc*`` in %, ``lat_ms_*``
    in ms, ``*_params_M`` in millions of parameters, ``*_flops_M`` in MFLOPs); '' when unknown."""
    c = column.lower()
    if "acc" in c or "err" in c:
        return "%"
    if "lat_ms" in c or c.endswith("_ms"):
        return "ms"
    if "params" in c:
        return "M params" if c.endswith("_m") else "params"
    if "flops" in c:
        return "MFLOPs" if c.endswith("_m") else "FLOPs"
    return ""


class TabularObjective(Objective):
    """The value of ``column`` for the architecture's row.

    ``direction`` defaults to maximize for columns whose name contains ``acc`` and to minimize
    otherwise. ``table`` is the path of a CSV, JSON or Parquet table (module docstring); default:
    the packaged NB201 CIFAR-10 table. ``key`` names the column (JSON: field) holding each row's
    architecture key (default ``arch_str``, else one column per space variable); ``key_map``
    maps the table's keys to the space's keys (a mapping, or the path of a JSON file).
    ``delay_s`` makes each lookup take that many seconds of wall clock, the way a real training
    run would (benchmarks of parallel workers); a delayed column is not ``cheap``.
    """

    cheap = True

    def __init__(self, column: str, direction: Optional[str] = None, table: Optional[str] = None,
                 key: Optional[str] = None, key_map: Union[None, str, Dict[str, str]] = None,
                 delay_s: float = 0.0) -> None:
        if not delay_s >= 0:
            raise ValueError(f"delay_s={delay_s!r}; accepted: a number of seconds >= 0")
        self.delay_s = float(delay_s)
        if self.delay_s > 0:
            self.cheap = False
        self.column = column
        self.table = table
        self.key = key
        self.key_map = key_map
        self.direction = check_direction(direction or (MAXIMIZE if "acc" in column else MINIMIZE))
        self.units = column_units(column)
        self.table_ = load_table(table, key=key, key_map=key_map)
        self.values_ = self.table_.column(column)

    def measure(self, arch, ctx) -> Measurement:
        if self.delay_s:
            time.sleep(self.delay_s)
        row = self.table_.row_of(arch.key, ctx.space)
        return Measurement(float(self.values_[row]), {"row": row})

    def fingerprint(self, ctx) -> Dict[str, str]:
        fp = {"table": str(self.table_.path.name), "column": self.column}
        if self.key is not None or self.key_map:
            fp["key"] = self.table_.key_column
            fp["key_map"] = len(self.table_.key_map)
        return fp
