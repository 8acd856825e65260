"""Profile a per-op latency table of a search space once on the target device.

The table answers "how many ms does op o on edge e add to the network?" so an architecture's
latency is estimated as ``base_ms + sum_e table_ms[e][op_e]`` without running it (the
``latency_lut`` objective), and its expectation under op probabilities is differentiable.

How it is measured: every choice of the space must offer ``none``. The base network has
``none`` on every edge (its latency is the stem, the reductions, the head and the cells'
zero ops); each probe network differs from the base in one edge carrying one op. Each probe
is timed right after the base, for ``rounds`` rounds in a shuffled order, and its entry is the
median over rounds of (probe - base) latency, so slow drifts of a shared machine cancel. An
entry is the op at that edge position in every cell of the network (NB201: all 3N cells, whose
stages differ in shape, timed together as they run). ``none`` entries are 0 by construction.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from monas.hardware import hardware_fingerprint
from monas.objectives._build import build_network
from monas.objectives.latency import latency_summary, prepare, time_forward

LUT_FORMAT = "monas-latency-lut/1"


def space_params(space) -> Dict[str, Any]:
    """The space's plain settings (e.g. NB201's C, N): a table is only valid for the same ones."""
    return {k: v for k, v in sorted(vars(space).items())
            if not k.startswith("_") and isinstance(v, (bool, int, float, str))}


def probe_archs(space) -> tuple:
    """(base arch with ``none`` everywhere, {(variable index, option index): probe arch})."""
    variables = space.variables()
    missing = [v.name for v in variables if "none" not in v.options]
    if missing:
        raise ValueError(f"a latency table needs the option 'none' in every choice of space {space.name!r}; "
                         f"choices without it: {', '.join(missing)}")
    none_idx = [list(v.options).index("none") for v in variables]
    base = space.decode(none_idx)
    probes = {}
    for i, v in enumerate(variables):
        for k, option in enumerate(v.options):
            if option != "none":
                x = list(none_idx)
                x[i] = k
                probes[(i, k)] = space.decode(x)
    return base, probes


def profile_ops(space, device: str = "cpu", batch_size: int = 1, input_shape: Sequence[int] = (3, 32, 32),
                num_classes: int = 10, build_kwargs: Optional[Dict[str, Any]] = None, warmup: int = 5,
                repeats: int = 20, rounds: int = 3, threads: Optional[int] = 1, dtype: str = "float32",
                seed: int = 0, clock: str = "wall") -> Dict[str, Any]:
    """Measure the latency table of ``space`` (see module docstring); returns a JSON-ready dict.

    ``clock`` is the CPU clock of :func:`monas.objectives.latency.time_forward` ('wall', or
    'thread' for single-thread CPU tables on a shared machine).

    Keys: ``format``, ``space``, ``space_params``, ``fingerprint``
    (:func:`monas.hardware.hardware_fingerprint` of the measurement plus the clock), ``build`` (build kwargs, classes, input shape), ``variables`` and
    ``options`` (row and column names), ``base_ms``, ``table_ms`` (variables x options),
    ``spread_ms`` (IQR over rounds of each entry) and the timing settings.
    """
    build = dict(build_kwargs or {})
    build["num_classes"] = int(num_classes)
    shape = tuple(int(v) for v in input_shape)
    base_arch, probes = probe_archs(space)
    rng = np.random.default_rng(seed)

    def ready(arch):
        net = build_network(space, arch, None, shape, build)
        return prepare(net, device, dtype, batch_size, shape, seed=seed)

    base_model, x = ready(base_arch)
    models = {pos: ready(arch)[0] for pos, arch in probes.items()}
    diffs: Dict[tuple, List[float]] = {pos: [] for pos in probes}
    base_runs: List[float] = []
    order = list(probes)
    for _ in range(int(rounds)):
        for j in rng.permutation(len(order)):
            pos = order[j]
            b = float(np.median(time_forward(base_model, x, device, warmup, repeats, threads, clock)))
            p = float(np.median(time_forward(models[pos], x, device, warmup, repeats, threads, clock)))
            base_runs.append(b)
            diffs[pos].append(p - b)

    variables = space.variables()
    table = np.zeros((len(variables), max(len(v.options) for v in variables)))
    spread = np.zeros_like(table)
    for (i, k), d in diffs.items():
        table[i, k] = float(np.median(d))
        q1, q3 = np.percentile(d, [25, 75])
        spread[i, k] = float(q3 - q1)
    return {
        "format": LUT_FORMAT,
        "space": space.name,
        "space_params": space_params(space),
        "fingerprint": {**hardware_fingerprint(device, threads, dtype, batch_size, shape), "clock": clock},
        "build": {k: build[k] for k in sorted(build)},
        "variables": [v.name for v in variables],
        "options": [list(v.options) for v in variables],
        "base_ms": float(np.median(base_runs)),
        "base": latency_summary(base_runs),
        "table_ms": table.tolist(),
        "spread_ms": spread.tolist(),
        "settings": {"warmup": int(warmup), "repeats": int(repeats), "rounds": int(rounds), "seed": int(seed)},
    }


def save_table(table: Dict[str, Any], path) -> Path:
    """Write a profiled table as JSON (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1))
    return path


def load_table(path) -> Dict[str, Any]:
    """Read a table written by :func:`save_table`; clear errors for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"latency table {str(path)!r} does not exist; profile one with "
                                f"`python -m monas.profiling --space NAME --out {path}`")
    table = json.loads(path.read_text())
    if not isinstance(table, dict) or table.get("format") != LUT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a monas latency table (format {LUT_FORMAT!r})")
    return table


def main(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> int:
    """Profile every op of a space on the target device and save the per-op latency table (JSON)
    that the latency_lut objective reads."""
    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("--space", default="nb201", help="search space name (default nb201)")
    parser.add_argument("--out", required=True, help="path of the JSON table to write")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--batch", type=int, default=1, help="batch size of the timed passes (default 1)")
    parser.add_argument("--input-shape", type=int, nargs=3, default=(3, 32, 32), metavar=("C", "H", "W"),
                        help="input image shape (default 3 32 32)")
    parser.add_argument("--classes", type=int, default=10, help="classes of the head (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while timing (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds per op (default 3)")
    parser.add_argument("--repeats", type=int, default=20, help="timed passes per round (default 20)")
    parser.add_argument("--clock", default="wall", choices=("wall", "thread"),
                        help="wall clock, or the thread CPU clock (steady under load); default wall")
    args = parser.parse_args(argv)
    from monas.registry import SEARCH_SPACES

    space = SEARCH_SPACES.create(args.space)
    table = profile_ops(space, device=args.device, batch_size=args.batch, input_shape=args.input_shape,
                        num_classes=args.classes, threads=args.threads, rounds=args.rounds, repeats=args.repeats, clock=args.clock)
    print(f"saved {save_table(table, args.out)}: base {table['base_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
