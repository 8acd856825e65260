"""Report of a ParetoArchive: the feasible front as a text/CSV/HTML table and a Pareto plot (PNG).

Plot (matplotlib's Agg canvas, no pyplot state): with two objectives, one panel (first objective
on x); with more, one panel per pair of objectives (every pair, in label order). Each panel draws
that pair's own non-dominated set over the feasible points (not a projection of the whole
front, whose points would look dominated in 2-D), joined by a line and labelled with evaluation
numbers; feasible points are grey dots, infeasible ones red x; every constraint on an axis is a
dashed line with its infeasible side shaded; the knee of the whole front is a gold star; front
members retrained from scratch (``retrain.csv`` in the run directory) get a green ring at their
retrained accuracy. Axes carry each objective's label, unit and direction.

Hypervolume: printed and written (``hypervolume.json``) on a fixed, stated scale taken from the
config (``budget.hv_ideal``/``hv_nadir``), the constraints and the objectives' units, never from
the front itself, so two runs of the same objectives can be compared (:func:`hypervolume_scale`);
the front-normalised value (the front's shape only) is given beside it.

Interactive view: ``pareto_interactive.html``, Optuna's ``plot_pareto_front`` of the run's study,
when plotly is installed (the ``plot`` extra); otherwise the report says why it was skipped.
"""
from __future__ import annotations

import csv
import json
import html
import itertools
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from monas.archive import ParetoArchive
from monas.constraint import Constraint
from monas.indicators import DEFAULT_REF
from monas.objective import MAXIMIZE

_FIXED = ("number", "generator", "key")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


RETRAINED = "retrained acc [%]"


def read_retrained(run_dir) -> Dict[str, float]:
    """arch key -> retrained accuracy (%) from ``RUN_DIR/retrain.csv`` (written by the ``retrain:``
    step, :mod:`monas.retrain`); empty when the file is missing or unreadable."""
    path = Path(run_dir) / "retrain.csv" if run_dir is not None else None
    if path is None or not path.is_file():
        return {}
    out = {}
    try:
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    out[row["key"]] = float(row["retrained_acc"])
                except (KeyError, TypeError, ValueError):
                    continue
    except OSError:
        return {}
    return out


def front_rows(archive: ParetoArchive, retrained: Optional[Mapping[str, float]] = None) -> List[List]:
    """One row per feasible front point, sorted by the first objective (best first):
    number, generator, arch key, each objective's value (natural units), then the retrained
    accuracy (NaN where that member was not retrained) when ``retrained`` (key -> %) is given,
    feasible."""
    rows = []
    for e in archive.front():
        values = [float(e.values.get(k, math.nan)) for k in archive.labels]
        extra = [float(retrained.get(e.arch.key, math.nan))] if retrained else []
        rows.append([e.number, e.generator, e.arch.key, *values, *extra, e.feasible])
    return rows


def header(archive: ParetoArchive, retrained: Optional[Mapping[str, float]] = None) -> List[str]:
    """Column names of ``front_rows``: objective columns read ``label (min)`` / ``label (max)``;
    with ``retrained``, a ``retrained acc [%]`` column after them."""
    return [*_FIXED, *(_axis_name(o) for o in archive.objectives), *([RETRAINED] if retrained else []), "feasible"]


def _axis_name(spec) -> str:
    units = getattr(spec, "units", "")
    return f"{spec.label}{f' [{units}]' if units else ''} ({'max' if spec.direction == MAXIMIZE else 'min'})"


def front_table(archive: ParetoArchive, scale: Optional["HypervolumeScale"] = None,
                retrained: Optional[Mapping[str, float]] = None) -> str:
    """The feasible front as an aligned text table (numbers right-aligned), with a summary line
    (the hypervolume on ``scale``, default :func:`hypervolume_scale` of the archive alone).
    ``retrained`` (arch key -> %) adds the retrained accuracy beside the estimate.

    When no evaluation is feasible the table has no rows and the summary says so.
    """
    cols = header(archive, retrained)
    body = [[_fmt(v) for v in row] for row in front_rows(archive, retrained)]
    widths = [max([len(c)] + [len(r[j]) for r in body]) for j, c in enumerate(cols)]
    n_num = len(archive.labels) + (1 if retrained else 0)
    numeric = [j == 0 or 3 <= j < 3 + n_num for j in range(len(cols))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line(cols), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    out.append(_summary(archive, scale))
    return "\n".join(out)


# Fixed hypervolume scale: bounds per unit where the config gives none (natural units, ideal/nadir).
# A search's front is measured against these, never against its own extremes, so two runs with
# the same objectives get comparable numbers. Change them with budget.hv_ideal / budget.hv_nadir.
_UNIT_NADIR = {"params": 10e6, "flops": 1e9, "ms": 100.0}  # 10 M params, 1 GFLOPs, 100 ms
_PREFIX = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9}


def _unit_bounds(spec) -> Tuple[Optional[float], Optional[float]]:
    """(ideal, nadir) in natural units from an objective's units; None where the units fix none."""
    units = (getattr(spec, "units", "") or "").strip()
    maximise = spec.direction == MAXIMIZE
    if units == "%":
        return (100.0, 0.0) if maximise else (0.0, 100.0)
    if maximise:
        return None, None
    if units == "ms":
        return 0.0, _UNIT_NADIR["ms"]
    for kind in ("params", "flops"):
        for prefix, factor in _PREFIX.items():
            if units.lower().replace(" ", "") == (prefix + kind).lower():
                return 0.0, _UNIT_NADIR[kind] / factor
    return None, None


@dataclass
class HypervolumeScale:
    """The fixed scale of a hypervolume: per objective label, ``ideal`` -> 0 and ``nadir`` -> 1
    (natural units), where each bound came from (``source``), and the labels with no fixed bound
    (``missing``; then no fixed-scale hypervolume is computed)."""

    ideal: Dict[str, float]
    nadir: Dict[str, float]
    units: Dict[str, str]
    source: Dict[str, str]
    missing: List[str]
    ref: float = DEFAULT_REF

    def text(self) -> str:
        parts = []
        for label in self.source:
            units = f" {self.units[label]}" if self.units.get(label) else ""
            parts.append(f"{label} {self.ideal[label]:g}..{self.nadir[label]:g}{units} ({self.source[label]})")
        return f"{', '.join(parts)}; ref {self.ref:g}"

    def to_dict(self) -> Dict[str, object]:
        return {"ref": self.ref, "missing": list(self.missing),
                "objectives": {k: {"ideal": self.ideal[k], "nadir": self.nadir[k], "units": self.units.get(k, ""),
                                   "source": self.source[k]} for k in self.source}}


def hypervolume_scale(archive: ParetoArchive, hv_ideal: Optional[Mapping[str, float]] = None,
                      hv_nadir: Optional[Mapping[str, float]] = None) -> HypervolumeScale:
    """The fixed scale of the report's hypervolume, per objective, first match wins:

    - ideal: ``hv_ideal[label]`` (the config's ``budget.hv_ideal``), else the units' best value
      (100 % for a maximised percentage, 0 for %, ms, params, FLOPs minimised);
    - nadir: ``hv_nadir[label]`` (``budget.hv_nadir``), else the bound of the run's constraint on
      that objective (the tightest ``<=`` of a minimised, ``>=`` of a maximised one), else the
      units' default (0 % / 100 %, 10 M params, 1 GFLOPs, 100 ms).

    The scale depends on the config and the objectives only, never on the front, so two runs of
    the same objectives and config get hypervolumes on the same scale.
    """
    hv_ideal, hv_nadir = dict(hv_ideal or {}), dict(hv_nadir or {})
    constraints = _constraints(archive)
    ideal, nadir, units, source, missing = {}, {}, {}, {}, []
    for spec in archive.objectives:
        label, maximise = spec.label, spec.direction == MAXIMIZE
        unit_ideal, unit_nadir = _unit_bounds(spec)
        if label in hv_ideal:
            lo, lo_src = float(hv_ideal[label]), "budget.hv_ideal"
        else:
            lo, lo_src = unit_ideal, "units"
        bounds = [c.bound for c in constraints if c.objective == label and c.op == (">=" if maximise else "<=")]
        if label in hv_nadir:
            hi, hi_src = float(hv_nadir[label]), "budget.hv_nadir"
        elif bounds:
            hi, hi_src = (max(bounds) if maximise else min(bounds)), "constraint"
        else:
            hi, hi_src = unit_nadir, "units" if getattr(spec, "units", "") == "%" else "unit default"
        if lo is None or hi is None:
            missing.append(label)
            continue
        ideal[label], nadir[label], units[label] = lo, hi, getattr(spec, "units", "")
        source[label] = f"ideal from {lo_src}, nadir from {hi_src}" if lo_src != hi_src else f"from {lo_src}"
    return HypervolumeScale(ideal, nadir, units, source, missing)


def fixed_hypervolume(archive: ParetoArchive, scale: HypervolumeScale) -> Optional[float]:
    """The feasible front's hypervolume on ``scale`` (None when an objective has no fixed bound
    or a bound is unusable, e.g. a nadir better than the ideal)."""
    if scale.missing:
        return None
    try:
        return archive.hypervolume(ideal=scale.ideal, nadir=scale.nadir, ref=scale.ref)
    except ValueError:
        return None


def hypervolume_line(archive: ParetoArchive, scale: Optional[HypervolumeScale] = None) -> str:
    """One line: the fixed-scale hypervolume with its scale stated, and the front-normalised one."""
    scale = scale or hypervolume_scale(archive)
    hv = fixed_hypervolume(archive, scale)
    own = f"front-normalised {archive.hypervolume():.4f} (the front's shape only, not comparable between runs)"
    if hv is None:
        why = (f"no fixed bound for {', '.join(scale.missing)}: set budget.hv_ideal/hv_nadir"
               if scale.missing else f"the bounds {scale.text()} are unusable (nadir better than ideal)")
        return f"hypervolume on a fixed scale: not computed ({why}); {own}"
    return f"hypervolume {hv:.4f} on the fixed scale {scale.text()}; {own}"


def _summary(archive: ParetoArchive, scale: Optional[HypervolumeScale] = None) -> str:
    n = len(archive)
    front = archive.front()
    if not front:
        return f"{n} evaluations, none feasible: the front is empty"
    share = ", ".join(f"{g or '?'}: {c}" for g, c in archive.contributions().items())
    return (
        f"{n} evaluations, {len(front)} on the feasible front; front by generator: {share}; "
        + hypervolume_line(archive, scale)
    )


def _write_csv(archive: ParetoArchive, path: Path, retrained: Optional[Mapping[str, float]] = None) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header(archive, retrained))
        for row in front_rows(archive, retrained):
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])


def _write_html(archive: ParetoArchive, path: Path, plot_name: str, scale: Optional["HypervolumeScale"] = None,
                retrained: Optional[Mapping[str, float]] = None, interactive: Optional[str] = None,
                note: str = "") -> None:
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in header(archive, retrained))
    rows = []
    knee = archive.knee()
    for row in front_rows(archive, retrained):
        mark = ' class="knee"' if knee is not None and row[0] == knee.number else ""
        rows.append(f"<tr{mark}>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
    extra = (f" The column {RETRAINED} is the accuracy of the member retrained from scratch (retrain.csv), "
             f"beside the search's estimate." if retrained else "")
    link = (f'<p><a href="{html.escape(interactive)}">Interactive Pareto front</a> (Optuna, plotly).</p>'
            if interactive else f"<p>{html.escape(note)}</p>" if note else "")
    doc = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>monas Pareto front</title>
<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:2px 8px;text-align:right}} tr.knee{{background:#ffe9a8}}</style>
</head><body>
<h1>Pareto front</h1>
<p>{html.escape(_summary(archive, scale))}. The knee point (pymoo high trade-off) is highlighted.{html.escape(extra)}</p>
<table><thead><tr>{cells}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<p><img src="{html.escape(plot_name)}" alt="Pareto plot"></p>
{link}
</body></html>
"""
    path.write_text(doc)


def write_interactive(archive: ParetoArchive, run_dir, path: Path, study_name: Optional[str] = None,
                      storage: Optional[str] = None) -> Tuple[Optional[Path], str]:
    """Write ``optuna.visualization.plot_pareto_front`` of the run's Optuna study as a
    self-contained HTML file (plotly.js included, so it opens offline). Returns (path, "") or
    (None, why it was skipped): plotly not installed (the ``plot`` extra), no study, or not 2 or
    3 objectives. Never writes into the run directory."""
    m = len(archive.labels)
    if m not in (2, 3):
        return None, f"interactive view skipped: plot_pareto_front draws 2 or 3 objectives, this run has {m}"
    if storage is None:
        db = Path(run_dir) / "study.db" if run_dir is not None else None
        if db is None or not db.is_file():
            return None, "interactive view skipped: the run directory has no Optuna study (study.db)"
        storage = f"sqlite:///{db}"
    try:
        import plotly  # noqa: F401
    except ImportError:
        return None, "interactive view skipped: plotly is not installed (pip install 'monas[plot]')"
    import warnings

    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            from monas.optuna_record import existing_study_name

            from monas.run_directory import default_study_name

            name = existing_study_name(storage, study_name or default_study_name(run_dir))
            study = optuna.load_study(study_name=name, storage=storage)
            fig = optuna.visualization.plot_pareto_front(
                study, target_names=[_axis_name(o) for o in archive.objectives], include_dominated_trials=True)
    except Exception as exc:  # a foreign or damaged study: the rest of the report stands
        return None, f"interactive view skipped: study {study_name!r} could not be drawn ({exc})"
    fig.update_layout(title=f"monas: Pareto front of study {study_name!r} ({len(study.trials)} trials; "
                            f"hover for the trial's architecture)")
    fig.write_html(str(path), include_plotlyjs=True)
    return path, ""


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


def plot_front(archive: ParetoArchive, path: Path, max_labels: int = 30,
               retrained: Optional[Mapping[str, float]] = None) -> None:
    """Write the Pareto plot PNG (matplotlib Agg backend; see the module docstring).

    ``retrained`` (arch key -> %): on the accuracy axis each retrained front member also gets a
    hollow green marker at its retrained accuracy, joined to its estimate by a dotted line."""
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
    acc = next((k for k, o in enumerate(archive.objectives) if "acc" in o.label.lower() and o.direction == MAXIMIZE),
               None)
    on_front = {id(e) for e in archive.front()}
    re_rows = [r for r, e in enumerate(archive.evaluations)
               if retrained and e.arch.key in retrained and id(e) in on_front]
    re_acc = np.array([retrained[archive.evaluations[r].arch.key] for r in re_rows]) if re_rows else np.empty(0)
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
        if re_rows and acc is not None and acc in (i, j) and m > 1:
            rx = re_acc if acc == i else x[re_rows]
            ry = re_acc if acc == j else y[re_rows]
            for r, px, py in zip(re_rows, rx, ry):
                ax.plot([x[r], px], [y[r], py], ":", c="tab:green", lw=0.9)
            ax.scatter(rx, ry, s=34, facecolors="none", edgecolors="tab:green", linewidths=1.2, zorder=4,
                       label=f"retrained accuracy ({len(re_rows)})")
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
    title = (f"{len(archive)} evaluations, {len(archive.front())} on the feasible front; each panel shows "
             f"that pair's own non-dominated set (numbers: evaluation numbers; shaded: infeasible"
             + ("; green rings: accuracy retrained from scratch, dotted to the search's estimate" if re_rows else "")
             + ")")
    fig.suptitle(textwrap.fill(title, width=int(13 * 5.6 * ncols)), fontsize=10)  # wrapped to the figure's width
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_report(archive: ParetoArchive, out_dir, run_dir=None, hv_ideal: Optional[Mapping[str, float]] = None,
                 hv_nadir: Optional[Mapping[str, float]] = None, study_name: Optional[str] = None,
                 storage: Optional[str] = None, interactive: bool = True,
                 notes: Optional[List[str]] = None) -> Dict[str, Path]:
    """Write ``front.csv``, ``front.html`` (table, summary, embedded plot), ``pareto.png``,
    ``front.txt`` (``front_table``) and ``hypervolume.json`` (the fixed-scale hypervolume, its
    scale and the front-normalised value) into ``out_dir`` (created if missing); returns
    {"csv", "html", "png", "txt", "hv"} -> path, plus "interactive" -> ``pareto_interactive.html``
    when that was written (``write_interactive``; needs ``run_dir`` with its study and plotly).

    ``run_dir``: the run directory; its ``retrain.csv`` puts the retrained accuracy beside the
    estimate. ``hv_ideal``/``hv_nadir``: the config's ``budget.hv_ideal``/``hv_nadir`` (see
    :func:`hypervolume_scale`). Why an interactive view was skipped is appended to ``notes``
    (a list, when given) and shown in ``front.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "front.csv",
        "html": out / "front.html",
        "png": out / "pareto.png",
        "txt": out / "front.txt",
        "hv": out / "hypervolume.json",
    }
    scale = hypervolume_scale(archive, hv_ideal, hv_nadir)
    retrained = read_retrained(run_dir)
    _write_csv(archive, paths["csv"], retrained)
    plot_front(archive, paths["png"], retrained=retrained)
    note = ""
    if interactive:
        done, note = write_interactive(archive, run_dir, out / "pareto_interactive.html", study_name, storage)
        if done is not None:
            paths["interactive"] = done
    if note and notes is not None:
        notes.append(note)
    _write_html(archive, paths["html"], paths["png"].name, scale, retrained,
                paths["interactive"].name if "interactive" in paths else None, note)
    paths["txt"].write_text(front_table(archive, scale, retrained) + "\n")
    hv = fixed_hypervolume(archive, scale) if archive.front() else 0.0
    paths["hv"].write_text(json.dumps({
        "hypervolume": hv, "scale": scale.to_dict(), "line": hypervolume_line(archive, scale),
        "front_normalised": archive.hypervolume(), "front_size": len(archive.front()),
        "evaluations": len(archive)}, indent=2) + "\n")
    return paths

