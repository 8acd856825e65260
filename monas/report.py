"""Report of a ParetoArchive: the feasible front as a text/CSV/HTML table and a Pareto plot (PNG).

Plot (matplotlib's Agg canvas, no pyplot state): with two objectives, one panel (first objective
on x); with more, one panel per pair of objectives (every pair, in label order). Each panel draws
that pair's own non-dominated set over the feasible points (not a projection of the whole
front, whose points would look dominated in 2-D), joined by a line and labelled with evaluation
numbers; feasible points are grey dots, infeasible ones red x; every constraint on an axis is a
dashed line with its infeasible side shaded; the knee of the whole front is a gold star. Axes
carry each objective's label, unit and direction.
"""
from __future__ import annotations

import csv
import html
import itertools
import math
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from monas.archive import ParetoArchive
from monas.constraint import Constraint
from monas.objective import MAXIMIZE

_FIXED = ("number", "generator", "key")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def front_rows(archive: ParetoArchive) -> List[List]:
    """One row per feasible front point, sorted by the first objective (best first):
    number, generator, arch key, each objective's value (natural units), feasible."""
    rows = []
    for e in archive.front():
        values = [float(e.values.get(k, math.nan)) for k in archive.labels]
        rows.append([e.number, e.generator, e.arch.key, *values, e.feasible])
    return rows


def header(archive: ParetoArchive) -> List[str]:
    """Column names of ``front_rows``: objective columns read ``label (min)`` / ``label (max)``."""
    return [*_FIXED, *(_axis_name(o) for o in archive.objectives), "feasible"]


def _axis_name(spec) -> str:
    units = getattr(spec, "units", "")
    return f"{spec.label}{f' [{units}]' if units else ''} ({'max' if spec.direction == MAXIMIZE else 'min'})"


def front_table(archive: ParetoArchive) -> str:
    """The feasible front as an aligned text table (numbers right-aligned), with a summary line.

    When no evaluation is feasible the table has no rows and the summary says so.
    """
    cols = header(archive)
    body = [[_fmt(v) for v in row] for row in front_rows(archive)]
    widths = [max([len(c)] + [len(r[j]) for r in body]) for j, c in enumerate(cols)]
    numeric = [j == 0 or 3 <= j < 3 + len(archive.labels) for j in range(len(cols))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line(cols), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    out.append(_summary(archive))
    return "\n".join(out)


def _summary(archive: ParetoArchive) -> str:
    n = len(archive)
    front = archive.front()
    if not front:
        return f"{n} evaluations, none feasible: the front is empty"
    share = ", ".join(f"{g or '?'}: {c}" for g, c in archive.contributions().items())
    return (
        f"{n} evaluations, {len(front)} on the feasible front, "
        f"hypervolume {archive.hypervolume():.4f} (front-normalised, ref 1.1); front by generator: {share}"
    )


def _write_csv(archive: ParetoArchive, path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header(archive))
        for row in front_rows(archive):
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])


def _write_html(archive: ParetoArchive, path: Path, plot_name: str) -> None:
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in header(archive))
    rows = []
    knee = archive.knee()
    for row in front_rows(archive):
        mark = ' class="knee"' if knee is not None and row[0] == knee.number else ""
        rows.append(f"<tr{mark}>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
    doc = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>monas Pareto front</title>
<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:2px 8px;text-align:right}} tr.knee{{background:#ffe9a8}}</style>
</head><body>
<h1>Pareto front</h1>
<p>{html.escape(_summary(archive))}. The knee point (pymoo high trade-off) is highlighted.</p>
<table><thead><tr>{cells}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<p><img src="{html.escape(plot_name)}" alt="Pareto plot"></p>
</body></html>
"""
    path.write_text(doc)


def _constraints(archive: ParetoArchive) -> List[Constraint]:
    """The run's constraints, read back from the evaluations' violation keys ("latency <= 7")."""
    texts: Dict[str, None] = {}
    for e in archive.evaluations:
        texts.update(dict.fromkeys(e.violations))
    out = []
    for text in texts:
        try:
            out.append(Constraint.parse(text))
        except ValueError:
            continue
    return [c for c in out if c.objective in archive.labels]


def _pair_front(F2: np.ndarray) -> np.ndarray:
    """Row indices of the non-dominated rows of a 2-column minimisation array."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    if not len(F2):
        return np.empty(0, dtype=int)
    return np.asarray(NonDominatedSorting().do(F2, only_non_dominated_front=True), dtype=int)


def _with_bound(limits, bound: float):
    """Axis limits widened so a constraint bound and a strip beyond it are in view."""
    lo, hi = limits
    pad = 0.06 * (max(hi, bound) - min(lo, bound) or 1.0)
    return min(lo, bound - pad), max(hi, bound + pad)


def plot_front(archive: ParetoArchive, path: Path, max_labels: int = 30) -> None:
    """Write the Pareto plot PNG (matplotlib Agg backend; see the module docstring)."""
    # Figure + Agg canvas directly: no pyplot, so the caller's global backend is left alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    m = len(archive.labels)
    pairs = list(itertools.combinations(range(m), 2)) if m > 1 else [(0, 0)]
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    fig = Figure(figsize=(5.6 * ncols, 4.6 * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    natural = archive.F() * archive.signs  # back to natural units, NaN where failed
    F = archive.F()
    ok = archive.sortable_mask()
    feasible = archive.feasible_mask()
    infeasible = ok & ~feasible
    numbers = np.array([e.number for e in archive.evaluations])
    knee = archive.knee()
    knee_row = next((r for r, e in enumerate(archive.evaluations) if knee is not None and e is knee), None)
    constraints = _constraints(archive)
    for ax, (i, j) in zip(axes.flat, pairs):
        x = natural[:, i]
        y = natural[:, j] if m > 1 else np.zeros(len(natural))
        ax.scatter(x[feasible], y[feasible], s=6, c="0.65", label="feasible", rasterized=True)
        if infeasible.any():
            ax.scatter(x[infeasible], y[infeasible], s=14, marker="x", c="tab:red", linewidths=0.8,
                       label="infeasible", rasterized=True)
        rows = np.flatnonzero(feasible)
        cols = [i, j] if m > 1 else [i]
        front_rows = rows[_pair_front(F[rows][:, cols])] if len(rows) else rows
        if len(front_rows):
            front_rows = front_rows[np.argsort(x[front_rows], kind="stable")]
            ax.plot(x[front_rows], y[front_rows], "-o", c="tab:blue", ms=5, lw=1.2,
                    label=f"front of this pair ({len(front_rows)})")
            step = max(1, math.ceil(len(front_rows) / max_labels))
            for r in front_rows[::step]:
                ax.annotate(str(numbers[r]), (x[r], y[r]), textcoords="offset points", xytext=(4, 4), fontsize=7,
                            color="tab:blue")
        if knee_row is not None:
            ax.plot([x[knee_row]], [y[knee_row]], marker="*", ms=16, c="gold", mec="black", mew=0.8, ls="none",
                    label=f"knee (evaluation {numbers[knee_row]})", zorder=5)
        ax.set_xlabel(_axis_name(archive.objectives[i]))
        if m > 1:
            ax.set_ylabel(_axis_name(archive.objectives[j]))
        ax.autoscale_view()
        for c in constraints:
            k = archive.labels.index(c.objective)
            if k == i:
                lo, hi = _with_bound(ax.get_xlim(), c.bound)
                ax.axvline(c.bound, c="tab:red", lw=1, ls="--", label=f"{c}")
                ax.axvspan(c.bound, max(hi, c.bound), color="tab:red", alpha=0.08) if c.op == "<=" else \
                    ax.axvspan(min(lo, c.bound), c.bound, color="tab:red", alpha=0.08)
                ax.set_xlim(lo, hi)
            elif m > 1 and k == j:
                lo, hi = _with_bound(ax.get_ylim(), c.bound)
                ax.axhline(c.bound, c="tab:red", lw=1, ls="--", label=f"{c}")
                ax.axhspan(c.bound, max(hi, c.bound), color="tab:red", alpha=0.08) if c.op == "<=" else \
                    ax.axhspan(min(lo, c.bound), c.bound, color="tab:red", alpha=0.08)
                ax.set_ylim(lo, hi)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle(f"{len(archive)} evaluations, {len(archive.front())} on the feasible front; each panel shows "
                 f"that pair's own non-dominated set (numbers: evaluation numbers; shaded: infeasible)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_report(archive: ParetoArchive, out_dir) -> Dict[str, Path]:
    """Write ``front.csv``, ``front.html`` (table, summary, embedded plot) and ``pareto.png``
    into ``out_dir`` (created if missing); returns {"csv", "html", "png", "txt"} -> path, where
    ``front.txt`` holds ``front_table``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "front.csv",
        "html": out / "front.html",
        "png": out / "pareto.png",
        "txt": out / "front.txt",
    }
    _write_csv(archive, paths["csv"])
    plot_front(archive, paths["png"])
    _write_html(archive, paths["html"], paths["png"].name)
    paths["txt"].write_text(front_table(archive) + "\n")
    return paths
