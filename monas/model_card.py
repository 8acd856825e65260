"""Model card of an exported member: what was measured, how, on what hardware, under which run.

:func:`model_card` gathers it as plain JSON data; :func:`card_markdown` renders the same data for
people. Fields: the member (evaluation number, space, key, generator, front / knee status);
every objective with its value, unit, direction, objective kind, fidelity and the fingerprint
its value was measured under (device, torch version, input shape, ...); every constraint with
the member's value and its margin (bound minus value for ``<=``, positive = slack); the
retrained accuracy when weights were trained; the seed, the monas version and a hash of the run's
resolved config (sha256 of its canonical JSON).
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Dict, List, Optional

from monas.constraint import Constraint

_FIDELITY = {
    "params": "counted (fvcore)",
    "flops": "counted (fvcore)",
    "latency": "measured on the device",
    "latency_lut": "sum of a per-op latency table",
    "peak_memory": "measured on the device",
    "zero_cost": "zero-cost proxy at initialisation",
}


def config_hash(config: Dict[str, Any]) -> str:
    """sha256 (hex) of ``config`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _fidelity(node: Dict[str, Any]) -> str:
    params = node.get("params") or {}
    if params.get("fidelity"):
        return str(params["fidelity"])
    if node.get("name") == "tabular":
        return f"benchmark table, column {params.get('column', node.get('label'))}"
    return _FIDELITY.get(node.get("name", ""), node.get("name", "?"))


def _fingerprint(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def model_card(config: Dict[str, Any], specs: List[Any], evaluation: Any, archive: Any = None,
               trained: Optional[Dict[str, Any]] = None, files: Optional[Dict[str, str]] = None,
               version: str = "") -> Dict[str, Any]:
    """The card of ``evaluation`` (see the module docstring) as a JSON-serialisable dict."""
    nodes = {o["label"]: o for o in config.get("objectives", [])}
    objectives = []
    for spec in specs:
        value = evaluation.values.get(spec.label)
        node = nodes.get(spec.label, {})
        objectives.append({
            "label": spec.label, "value": None if value is None or math.isnan(value) else value,
            "units": getattr(spec, "units", ""), "direction": spec.direction,
            "objective": node.get("name"), "fidelity": _fidelity(node),
            "fingerprint": _fingerprint(evaluation.fingerprint.get(spec.label)),
        })
    constraints = []
    for text in config.get("constraints", []):
        c = Constraint.parse(text)
        value = evaluation.values.get(c.objective)
        violation = evaluation.violations.get(text)
        if violation is None and value is not None:
            violation = c.violation(value)
        constraints.append({"constraint": text, "value": value, "bound": c.bound,
                            "margin": None if violation is None else -violation,
                            "met": violation is not None and violation <= 0})
    front = archive.front() if archive is not None else []
    knee = archive.knee() if archive is not None else None
    return {
        "member": {"number": evaluation.number, "space": evaluation.arch.space, "key": evaluation.arch.key,
                   "genotype": evaluation.arch.genotype, "generator": evaluation.generator,
                   "state": getattr(evaluation.state, "value", str(evaluation.state)),
                   "feasible": evaluation.feasible, "on_front": any(e.number == evaluation.number for e in front),
                   "knee": knee is not None and knee.number == evaluation.number},
        "objectives": objectives,
        "constraints": constraints,
        "trained": None if not trained else {k: trained.get(k) for k in (
            "accuracy", "split", "dataset", "epochs", "seconds", "recipe", "seed", "network") if k in trained},
        "seed": config.get("seed"),
        "monas_version": version,
        "config_hash": config_hash(config),
        "files": dict(files or {}),
    }


def _num(value: Any) -> str:
    return "-" if value is None else (f"{value:.6g}" if isinstance(value, float) else str(value))


def card_markdown(card: Dict[str, Any]) -> str:
    """The card as Markdown: a title, the member, tables of objectives and constraints, the
    training, provenance and the files."""
    m = card["member"]
    status = ", ".join(s for s, on in (("feasible", m["feasible"]), ("on the feasible front", m["on_front"]),
                                       ("the knee", m["knee"])) if on) or "not feasible"
    out = [f"# Model card: evaluation {m['number']} of a monas run", "",
           f"- space `{m['space']}`, key `{m['key']}`", f"- proposed by `{m['generator'] or '?'}`; {status}", "",
           "## Objectives", "", "| objective | value | unit | direction | fidelity | measured under |",
           "|---|---|---|---|---|---|"]
    for o in card["objectives"]:
        fp = o["fingerprint"]
        if isinstance(fp, dict):
            keep = [k for k in ("device", "device_name", "torch", "threads", "batch_size", "input_shape", "clock",
                                "table", "column") if k in fp]
            fp = ", ".join(f"{k} {fp[k]}" for k in keep) or "-"
        out.append(f"| {o['label']} | {_num(o['value'])} | {o['units'] or '-'} | {o['direction']} | "
                   f"{o['fidelity']} | {fp or '-'} |")
    out += ["", "## Constraints", ""]
    if card["constraints"]:
        out += ["| constraint | value | margin | met |", "|---|---|---|---|"]
        out += [f"| `{c['constraint']}` | {_num(c['value'])} | {_num(c['margin'])} | {'yes' if c['met'] else 'no'} |"
                for c in card["constraints"]]
    else:
        out.append("none")
    out += ["", "## Training", ""]
    t = card["trained"]
    if t:
        recipe = t.get("recipe") or {}
        out.append(f"Trained from scratch: recipe `{recipe.get('name', '?')}`, {t.get('epochs')} epochs on "
                   f"{t.get('dataset', '?')}, seed {t.get('seed')}: accuracy {_num(t.get('accuracy'))} % on the "
                   f"{t.get('split')} split ({_num(t.get('seconds'))} s). The weights are `weights.pt`.")
    else:
        out.append("Not trained: the exported program has freshly initialised weights (train it with "
                   "`monas train`, then export again).")
    out += ["", "## Provenance", "", f"- seed {card['seed']}", f"- monas {card['monas_version']}",
            f"- config sha256 `{card['config_hash']}`", "", "## Files", ""]
    out += [f"- `{name}`: {what}" for name, what in card["files"].items()]
    return "\n".join(out) + "\n"
