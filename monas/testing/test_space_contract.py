"""The search-space contract, run over every registered space (``monas_space``: built with its
``contract_params``): keys, sampling, mutation, encode/decode, ``contains``, and the networks
it offers (``build``, ``to_graph``, the supernet protocols it declares).
See search_spaces/README.md for the protocol these tests check."""
import json

import numpy as np
import pytest
import torch

from monas.arch import Arch
from monas.capabilities import offered
from monas.search_space import ArchError
from monas.testing.contract import CONTRACT_INPUT

BATCH = 2
CLASSES = 3


def test_variables_are_named_categoricals(monas_space):
    variables = monas_space.variables()
    names = [v.name for v in variables]
    assert names and len(names) == len(set(names)), f"variable names must be unique and non-empty: {names}"
    assert all(len(v.options) >= 1 for v in variables)
    assert list(monas_space.cardinalities()) == [len(v.options) for v in variables]


def test_sample_encode_decode_round_trip(monas_space):
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = monas_space.sample(rng)
        assert a.space == monas_space.name and monas_space.contains(a)
        x = monas_space.encode(a)
        assert x.shape == (len(monas_space.variables()),)
        assert np.all((x >= 0) & (x < monas_space.cardinalities()))
        assert monas_space.decode(x) == a


def test_keys_are_canonical(monas_space):
    """Any encoding decodes to an architecture whose own encoding decodes to the same key, and
    whose key is reached from its genotype and from the key itself."""
    rng = np.random.default_rng(1)
    cards = monas_space.cardinalities()
    for _ in range(30):
        x = np.array([int(rng.integers(c)) for c in cards])
        try:
            a = monas_space.decode(x)
        except ArchError:
            continue  # a space may refuse some index combinations, by ArchError only
        again = monas_space.decode(monas_space.encode(a))
        assert again.key == a.key, f"decode(encode(a)) changed the key: {a.key} -> {again.key}"
        assert np.array_equal(monas_space.encode(again), monas_space.encode(a))
        assert monas_space.from_genotype(a.genotype).key == a.key


def test_genotype_and_key_round_trip_through_json(monas_space):
    a = monas_space.sample(np.random.default_rng(2))
    again = Arch.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again == a and monas_space.contains(again)
    assert monas_space.from_genotype(again.genotype) == a
    assert monas_space.from_key(a.key) == a, "from_key is needed by tables and resume"


def test_mutate_changes_the_architecture(monas_space):
    rng = np.random.default_rng(3)
    a = monas_space.sample(rng)
    for _ in range(20):
        b = monas_space.mutate(a, rng)
        assert b != a and monas_space.contains(b)


def test_outside_arch_is_rejected_with_a_clear_message(monas_space):
    with pytest.raises(ArchError):
        monas_space.from_key("not-an-architecture")
    alien = Arch("other_space", "k", ())
    assert not monas_space.contains(alien)
    with pytest.raises(ArchError, match="belongs to space"):
        monas_space.check(alien)


def _needs(space, capability):
    if capability not in offered(space):
        pytest.skip(f"space {space.name!r} does not offer {capability!r}")


def _input():
    return torch.randn(BATCH, *CONTRACT_INPUT, generator=torch.Generator().manual_seed(0))


def test_build_gives_a_network_for_the_data(monas_space):
    _needs(monas_space, "network")
    a = monas_space.sample(np.random.default_rng(4))
    net = monas_space.build(a, num_classes=CLASSES, in_channels=CONTRACT_INPUT[0])
    net.eval()
    with torch.no_grad():
        out = net(_input())
    assert out.shape == (BATCH, CLASSES), "build(arch, num_classes=, in_channels=) sets the head and the stem"
    assert torch.isfinite(out).all()


def test_to_graph_has_one_shape_per_space(monas_space):
    _needs(monas_space, "graph")
    rng = np.random.default_rng(5)
    shapes = set()
    for _ in range(5):
        adj, feats = monas_space.to_graph(monas_space.sample(rng))
        adj, feats = np.asarray(adj), np.asarray(feats)
        n = adj.shape[0]
        assert adj.shape == (n, n) and feats.ndim == 2 and feats.shape[0] == n
        assert np.isfinite(adj).all() and np.isfinite(feats).all()
        shapes.add((adj.shape, feats.shape))
    assert len(shapes) == 1, f"every graph of a space has the same node count and features: {shapes}"


def test_enumerable_space_lists_its_architectures(monas_space):
    _needs(monas_space, "enumerable")
    if monas_space.size() > 20000:
        pytest.skip("all() of a large space is not listed in the contract run")
    archs = monas_space.all()
    assert len(archs) == monas_space.size() == len({a.key for a in archs})


def test_supernet_single_path_runs_the_path_of_an_architecture(monas_space):
    _needs(monas_space, "supernet.single_path")
    torch.manual_seed(0)
    net = monas_space.supernet(num_classes=CLASSES, in_channels=CONTRACT_INPUT[0])
    for method in ("arch_to_weights", "forward"):
        assert callable(getattr(net, method, None)), f"a single-path supernet has {method}()"
    a = monas_space.sample(np.random.default_rng(6))
    weights, edge_weights = net.arch_to_weights(a)
    out = net(_input(), weights, edge_weights)
    assert out.shape == (BATCH, CLASSES) and torch.isfinite(out).all()
    out.sum().backward()
    used = [p for p in net.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert used, "the path of an architecture trains some shared weights"


def test_supernet_mixture_mixes_and_derives(monas_space):
    _needs(monas_space, "supernet.mixture")
    torch.manual_seed(0)
    net = monas_space.supernet(mode="mixture", num_classes=CLASSES, in_channels=CONTRACT_INPUT[0])
    shapes = net.arch_shapes()
    alphas = net.new_arch_parameters()
    assert {k: tuple(v.shape) for k, v in alphas.items()} == {k: tuple(s) for k, s in shapes.items()}
    weights = {k: torch.softmax(v, dim=-1) for k, v in alphas.items()}
    out = net(_input(), weights)
    assert out.shape == (BATCH, CLASSES) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(v.grad is not None for v in alphas.values()), "the mixture is differentiable in its weights"
    derived = net.derive_genotype({k: v.detach() for k, v in weights.items()})
    arch = derived if isinstance(derived, Arch) else monas_space.from_genotype(derived)
    assert monas_space.contains(arch)
