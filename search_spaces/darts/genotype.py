"""DARTS genotypes as plain data: validation, canonical form, key string, derivation rule.

A genotype is a dict (JSON-serialisable; tuples in memory, lists after a JSON round trip)::

    {"normal": (("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ...8 pairs),
     "normal_concat": (2, 3, 4, 5),
     "reduce": (...8 pairs), "reduce_concat": (2, 3, 4, 5)}

the same fields as the DARTS ``Genotype`` namedtuple. Pairs 2j and 2j+1 are the two inputs of
intermediate node j (j = 0..3); an input index is 0 = c_{k-2}, 1 = c_{k-1}, 2 + i = node i, so
node j reads from 0..j+1. The two inputs of a node are distinct and ``none`` never appears.

Canonical form: within each node the two pairs are sorted by input index (the node sums them,
so the order carries no meaning). Node relabellings that give isomorphic cells are NOT merged.

Key: ``normal=<n0>+<n1>+<n2>+<n3>;reduce=<n0>+<n1>+<n2>+<n3>`` with ``<nj> = op~i|op~k`` and
i < k, e.g. DARTS_V2's normal cell starts ``normal=sep_conv_3x3~0|sep_conv_3x3~1+...``.

Op set: a genotype may name the implementation of its ops, ``"op_set": "sharp"`` (sharpDARTS'
SharpSepConv for sep and dil convs; see ``operations.OP_SETS``), so a cell searched with those
ops is built, priced and retrained with them. The plain DARTS ops ("darts") are the default and
are never written: a plain genotype and its key are exactly as above; another op set is kept
in the canonical genotype and appended to the key as ``;op_set=sharp``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from monas.search_space import ArchError

PRIMITIVES: Tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
GENOTYPE_OPS: Tuple[str, ...] = PRIMITIVES[1:]
CELL_TYPES: Tuple[str, ...] = ("normal", "reduce")
NUM_NODES = 4
CONCAT: Tuple[int, ...] = (2, 3, 4, 5)
# Supernet edge order: node 0 <- inputs 0,1; node 1 <- 0,1,2; node 2 <- 0..3; node 3 <- 0..4.
EDGES: Tuple[Tuple[int, int], ...] = tuple((n, i) for n in range(NUM_NODES) for i in range(n + 2))
NODE_SLICES: Tuple[slice, ...] = tuple(
    slice(n * (n + 3) // 2, (n + 1) * (n + 4) // 2) for n in range(NUM_NODES))

Genotype = Dict[str, Tuple]
DEFAULT_OP_SET = "darts"


def _op_sets() -> Tuple[str, ...]:
    from monas.search_spaces.darts.operations import OP_SETS  # operations imports this module

    return tuple(OP_SETS)


def genotype_op_set(genotype: Any) -> str:
    """The op set a genotype names ("darts" when it names none)."""
    value = genotype.get("op_set") if isinstance(genotype, dict) else getattr(genotype, "op_set", None)
    return DEFAULT_OP_SET if value is None else str(value)


def edge_index(node: int, inp: int) -> int:
    """Row of edge ``inp -> node`` in the (14, ops) weight matrices."""
    return node * (node + 3) // 2 + inp


def _cell_pairs(cell: str, pairs: Any) -> Tuple[Tuple[str, int], ...]:
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__len__"):
        raise ArchError(f"DARTS genotype {cell!r}: expected a list of 8 (op, input) pairs, got {pairs!r}")
    if len(pairs) != 2 * NUM_NODES:
        raise ArchError(f"DARTS genotype {cell!r}: expected 8 (op, input) pairs (2 per node, "
                        f"4 nodes), got {len(pairs)}")
    out: List[Tuple[str, int]] = []
    for e, pair in enumerate(pairs):
        node = e // 2
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ArchError(f"DARTS genotype {cell!r} node {node}: entry {pair!r} is not an (op, input) pair")
        op, inp = pair
        if op == "none":
            raise ArchError(f"DARTS genotype {cell!r} node {node}: op 'none' is not allowed in a "
                            f"genotype; accepted: {', '.join(GENOTYPE_OPS)}")
        if op not in GENOTYPE_OPS:
            raise ArchError(f"DARTS genotype {cell!r} node {node}: unknown op {op!r}; accepted: "
                            f"{', '.join(GENOTYPE_OPS)}")
        if isinstance(inp, (bool, np.bool_)) or not isinstance(inp, (int, np.integer)):
            raise ArchError(f"DARTS genotype {cell!r} node {node}: input {inp!r} is not an integer")
        inp = int(inp)
        if not 0 <= inp <= node + 1:
            raise ArchError(f"DARTS genotype {cell!r} node {node}: input {inp} out of range; node "
                            f"{node} accepts 0..{node + 1} (0=c_k-2, 1=c_k-1, 2+i=node i)")
        out.append((str(op), inp))
    for node in range(NUM_NODES):
        a, b = out[2 * node], out[2 * node + 1]
        if a[1] == b[1]:
            raise ArchError(f"DARTS genotype {cell!r} node {node}: both inputs are {a[1]}; the two "
                            f"inputs of a node must be distinct states")
        if a[1] > b[1]:
            out[2 * node], out[2 * node + 1] = b, a
    return tuple(out)


def _get(genotype: Any, field: str) -> Any:
    if isinstance(genotype, dict):
        return genotype.get(field)
    return getattr(genotype, field, None)


def canonical_genotype(genotype: Any) -> Genotype:
    """Validated canonical genotype (dict of tuples) from a dict or a DARTS ``Genotype``.

    Raises ArchError naming the cell, the node and what is accepted.
    """
    if not isinstance(genotype, dict) and not hasattr(genotype, "normal"):
        raise ArchError(f"DARTS genotype must be a dict with 'normal' and 'reduce' (8 (op, input) "
                        f"pairs each) or a DARTS Genotype, got {type(genotype).__name__}")
    out: Dict[str, Tuple] = {}
    for cell in CELL_TYPES:
        pairs = _get(genotype, cell)
        if pairs is None:
            raise ArchError(f"DARTS genotype has no {cell!r} cell; expected keys normal, reduce "
                            f"(and optionally normal_concat, reduce_concat = [2, 3, 4, 5])")
        out[cell] = _cell_pairs(cell, pairs)
        concat = _get(genotype, f"{cell}_concat")
        if concat is not None and tuple(int(c) for c in concat) != CONCAT:
            raise ArchError(f"DARTS genotype {cell}_concat={list(concat)}: this space concatenates "
                            f"all 4 nodes, accepted: [2, 3, 4, 5]")
        out[f"{cell}_concat"] = CONCAT
    if isinstance(genotype, dict):
        extra = set(genotype) - set(out) - {"op_set"}
        if extra:
            raise ArchError(f"DARTS genotype has unknown fields {sorted(extra)}; accepted: "
                            f"normal, normal_concat, reduce, reduce_concat, op_set")
    op_set = genotype_op_set(genotype)
    if op_set not in _op_sets():
        raise ArchError(f"DARTS genotype op_set={op_set!r}; accepted: {', '.join(_op_sets())}")
    canonical = {"normal": out["normal"], "normal_concat": CONCAT,
                 "reduce": out["reduce"], "reduce_concat": CONCAT}
    if op_set != DEFAULT_OP_SET:
        canonical["op_set"] = op_set
    return canonical


def genotype_to_key(genotype: Genotype) -> str:
    """The canonical key of a canonical genotype (see module docstring)."""
    parts = []
    for cell in CELL_TYPES:
        pairs = genotype[cell]
        nodes = [f"{pairs[2 * n][0]}~{pairs[2 * n][1]}|{pairs[2 * n + 1][0]}~{pairs[2 * n + 1][1]}"
                 for n in range(NUM_NODES)]
        parts.append(f"{cell}=" + "+".join(nodes))
    op_set = genotype_op_set(genotype)
    if op_set != DEFAULT_OP_SET:
        parts.append(f"op_set={op_set}")
    return ";".join(parts)


def key_to_genotype(key: str) -> Genotype:
    """Parse a key (see module docstring) into a canonical genotype; ArchError when malformed."""
    text = str(key).strip()
    cells = text.split(";")
    fmt = "'normal=op~i|op~j+...(4 nodes);reduce=...' (optionally ';op_set=sharp')"
    op_set = None
    if len(cells) == 3 and cells[2].startswith("op_set="):
        op_set = cells.pop()[len("op_set="):]
    if len(cells) != 2:
        raise ArchError(f"DARTS key {text!r}: expected {fmt}")
    raw: Dict[str, List] = {}
    for part, cell in zip(cells, CELL_TYPES):
        name, sep, body = part.partition("=")
        if name != cell or not sep:
            raise ArchError(f"DARTS key {text!r}: expected cell {cell!r} in {fmt}")
        nodes = body.split("+")
        if len(nodes) != NUM_NODES:
            raise ArchError(f"DARTS key {text!r}: {cell} cell has {len(nodes)} nodes, expected 4")
        pairs = []
        for n, node in enumerate(nodes):
            items = node.split("|")
            if len(items) != 2:
                raise ArchError(f"DARTS key {text!r}: {cell} node {n} needs 2 'op~input' items, got {node!r}")
            for item in items:
                op, tilde, inp = item.partition("~")
                if not tilde or not inp.isdigit():
                    raise ArchError(f"DARTS key {text!r}: {cell} node {n} item {item!r} is not 'op~input'")
                pairs.append((op, int(inp)))
        raw[cell] = pairs
    if op_set is not None:
        raw["op_set"] = op_set
    genotype = canonical_genotype(raw)
    if genotype_to_key(genotype) != text:
        raise ArchError(f"DARTS key {text!r} is not canonical; canonical: {genotype_to_key(genotype)!r}")
    return genotype


def derive_cell(weights: np.ndarray, ops: Sequence[str],
                edge_scores: Optional[np.ndarray] = None) -> Tuple[Tuple[str, int], ...]:
    """The DARTS rule on one cell's (14, len(ops)) op weights (e.g. softmax(alpha)).

    Per node, each incoming edge scores max over non-``none`` ops of its weights (times
    ``edge_scores[e]`` when given, e.g. PC-DARTS' per-node softmax(beta)); the 2 best edges
    are kept (ties: the earlier edge, as DARTS' stable sort), and each takes its argmax
    non-``none`` op (ties: the earlier op).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(EDGES), len(ops)):
        raise ValueError(f"derive: weights of shape {w.shape}, expected ({len(EDGES)}, {len(ops)})")
    cols = [k for k, op in enumerate(ops) if op != "none"]
    if not cols:
        raise ValueError("derive: the op list has no op other than 'none'")
    bad = [ops[k] for k in cols if ops[k] not in GENOTYPE_OPS]
    if bad:
        raise ArchError(f"derive: ops {bad} cannot appear in a DARTS genotype; accepted: {', '.join(GENOTYPE_OPS)}")
    best = w[:, cols].max(axis=1)
    score = best if edge_scores is None else best * np.asarray(edge_scores, dtype=np.float64).reshape(-1)
    pairs: List[Tuple[str, int]] = []
    for node in range(NUM_NODES):
        rows = list(range(NODE_SLICES[node].start, NODE_SLICES[node].stop))
        keep = sorted(rows, key=lambda e: -score[e])[:2]
        for e in sorted(keep):
            op = ops[cols[int(np.argmax(w[e, cols]))]]
            pairs.append((op, EDGES[e][1]))
    return tuple(pairs)


def _published(normal: Sequence[Tuple[str, int]], reduce: Sequence[Tuple[str, int]]) -> Genotype:
    return {"normal": tuple(normal), "normal_concat": CONCAT,
            "reduce": tuple(reduce), "reduce_concat": CONCAT}


# Published cells in the order their papers list them (quark0/darts and PC-DARTS genotypes.py).
DARTS_V1 = _published(
    [("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
     ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)])
DARTS_V2 = _published(
    [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
     ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)])
PC_DARTS = _published(
    [("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 0), ("dil_conv_3x3", 1),
     ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 1)],
    [("sep_conv_5x5", 1), ("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 2),
     ("sep_conv_3x3", 0), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2)])
PUBLISHED: Dict[str, Genotype] = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "PC_DARTS": PC_DARTS}
