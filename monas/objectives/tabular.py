"""Benchmark-table objectives: any numeric column of a CSV laid out like NAS-Bench-201.

A table has either an ``arch_str`` column holding each architecture's canonical key, or one
column per search-space variable (named as in ``space.variables()``, e.g. ``op_1_0`` ...
``op_3_2`` for NB201) holding the chosen option. The packaged default is the NB201 CIFAR-10
table (``monas/data/nb201_cifar10.csv.gz``); any other table with the same layout (another
dataset, another device) is given by path.
"""
from __future__ import annotations

import csv
import gzip
import io
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from monas.objective import MAXIMIZE, MINIMIZE, Measurement, Objective, check_direction

DEFAULT_TABLE = Path(__file__).resolve().parent.parent / "data" / "nb201_cifar10.csv.gz"


class BenchmarkTable:
    """A CSV benchmark table: string columns kept as text, numeric columns as float arrays."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"benchmark table {str(self.path)!r} does not exist")
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.path, "rt", newline="") as fh:
            rows = list(csv.reader(fh))
        if len(rows) < 2:
            raise ValueError(f"benchmark table {str(self.path)!r} has no rows")
        self.columns: List[str] = rows[0]
        body = rows[1:]
        self._text: Dict[str, List[str]] = {c: [r[i] for r in body] for i, c in enumerate(self.columns)}
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
    def numeric_columns(self) -> List[str]:
        return [c for c in self.columns if c in self._numeric and c not in ("arch_index",)]

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
        """The canonical key of every row, in row order, as ``space`` spells it."""
        if "arch_str" in self._text:
            return [space.from_key(k).key for k in self._text["arch_str"]]
        names = [v.name for v in space.variables()]
        missing = [n for n in names if n not in self._text]
        if missing:
            raise ValueError(
                f"table {self.path.name} has neither an 'arch_str' column nor the variable columns "
                f"{', '.join(missing)} of space {space.name!r}"
            )
        return [space.from_genotype(tuple(self._text[n][i] for n in names)).key for i in range(len(self))]

    def row_of(self, key: str, space) -> int:
        if self._index is None or self._index_space != space.name:
            self._index = {k: i for i, k in enumerate(self.keys(space))}
            self._index_space = space.name
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"architecture {key!r} is not in table {self.path.name}") from None


@lru_cache(maxsize=8)
def load_table(path: Optional[str] = None) -> BenchmarkTable:
    """The table at ``path`` (the packaged NB201 CIFAR-10 table by default), loaded once."""
    return BenchmarkTable(Path(path) if path else DEFAULT_TABLE)


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
    otherwise. ``table`` is a path to a CSV(.gz) laid out like the NB201 table; default: the
    packaged NB201 CIFAR-10 table.
    """

    cheap = True

    def __init__(self, column: str, direction: Optional[str] = None, table: Optional[str] = None) -> None:
        self.column = column
        self.table = table
        self.direction = check_direction(direction or (MAXIMIZE if "acc" in column else MINIMIZE))
        self.units = column_units(column)
        self.table_ = load_table(table)
        self.values_ = self.table_.column(column)

    def measure(self, arch, ctx) -> Measurement:
        row = self.table_.row_of(arch.key, ctx.space)
        return Measurement(float(self.values_[row]), {"row": row})

    def fingerprint(self, ctx) -> Dict[str, str]:
        return {"table": str(self.table_.path.name), "column": self.column}
