"""Measured objectives: params / FLOPs (fvcore), latency, latency table, peak memory."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from monas.context import EvaluationContext
from monas.hardware import hardware_fingerprint, parse_device, pinned_threads
from monas.objectives.latency import LatencyObjective, latency_summary
from monas.objectives.latency_lut import LatencyLUTObjective, lut_estimate
from monas.objectives.params_flops import (FlopsObjective, ParamsObjective, count_params, expected_cost,
                                           op_cost_table)
from monas.objectives.peak_memory import LiveTensorBytes, PeakMemoryObjective, peak_inference_memory
from monas.profiling import load_table, profile_ops, save_table
from monas.registry import OBJECTIVES
from monas.search_spaces.nb201 import NB201Space

KEY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"
SMALL = {"C": 4, "N": 1}


@pytest.fixture(scope="module")
def space():
    return NB201Space(C=4, N=1, input_size=8)


@pytest.fixture(scope="module")
def ctx(space):
    return EvaluationContext(space=space, seed=0)


@pytest.fixture(scope="module")
def arch(space):
    return space.from_key(KEY)


def test_registered():
    for name in ("params", "flops", "latency", "latency_lut", "peak_memory", "accuracy", "error"):
        assert name in OBJECTIVES


def test_params_equal_numel_of_built_net(space, ctx, arch):
    m = ParamsObjective(unit="").measure(arch, ctx)
    net = space.build(arch, in_channels=3)
    assert m.value == sum(p.numel() for p in net.parameters()) == m.details["count"]
    assert ParamsObjective(unit="M").measure(arch, ctx).value == pytest.approx(m.value / 1e6)
    assert ParamsObjective.cheap


def test_flops_details_list_unsupported_ops(ctx, arch):
    m = FlopsObjective(unit="").measure(arch, ctx)
    assert m.value > 0 and m.value == m.details["count"]
    # fvcore has no handle for average pooling or tensor addition: both must be reported
    assert "aten::avg_pool2d" in m.details["unsupported_ops"]
    assert "aten::add" in m.details["unsupported_ops"]
    assert m.details["by_operator"]["conv"] > 0
    bigger = FlopsObjective(unit="", input_shape=(3, 16, 16)).measure(arch, ctx)
    assert bigger.value == pytest.approx(4 * m.value, rel=0.05)  # conv flops scale with pixels


def test_bad_unit_is_named():
    with pytest.raises(ValueError, match="accepted"):
        ParamsObjective(unit="mega")


class TinySupernet(nn.Module):
    """A two-edge supernet following the contract: ops none / conv, weight 0 skips an op."""

    ops = ["none", "conv"]

    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 4, 1)
        self.edges = nn.ModuleList(nn.Conv2d(4, 4, 3 - 2 * e, padding=1 - e) for e in range(2))
        self.head = nn.Linear(4, num_classes)

    def arch_shapes(self):
        return {"cell": (2, 2)}

    def forward(self, x, weights, edge_weights=None):
        x = self.stem(x)
        for e, conv in enumerate(self.edges):
            w = weights["cell"][e]
            out = x * 0.0 * w[0]
            if float(w[1]) != 0.0:
                out = out + w[1] * conv(x)
            x = out
        return self.head(x.mean((2, 3)))


class TinySpace:
    input_size = 8

    def supernet(self, mode="mixture", **kw):
        return TinySupernet(**kw)


def test_op_cost_table_params_and_flops_exact():
    table, base = op_cost_table(TinySpace(), "params", input_shape=(3, 8, 8), return_base=True)
    assert base == (3 * 4 + 4) + (4 * 10 + 10)
    assert table["cell"].tolist() == [[0.0, 4 * 4 * 9 + 4], [0.0, 4 * 4 + 4]]
    flops = op_cost_table(TinySpace(), "flops", input_shape=(3, 8, 8))
    assert flops["cell"].tolist() == [[0.0, 4 * 4 * 9 * 64], [0.0, 4 * 4 * 64]]
    p = torch.tensor([[0.5, 0.5], [0.0, 1.0]], requires_grad=True)
    e = expected_cost(table, {"cell": p}, base)
    e.backward()
    assert e.item() == pytest.approx(base + 0.5 * 148 + 20)
    assert p.grad.tolist() == table["cell"].tolist()


def test_expected_params_on_nb201_supernet_tracks_built_net(space, arch):
    obj = ParamsObjective(unit="", input_shape=(3, 8, 8))
    idx = torch.as_tensor(space.encode(arch))
    probs = torch.nn.functional.one_hot(idx, 5).float().requires_grad_()
    value = obj.expected(space, {"cell": probs})
    value.backward()
    built = count_params(space.build(arch, in_channels=3))
    # the search net's convs carry a bias and its BN no affine weights: close, not equal
    assert value.item() == pytest.approx(built, rel=0.05)
    assert probs.grad[0, 3] > probs.grad[0, 2] > 0 == probs.grad[0, 1]  # 3x3 > 1x1 > skip


def test_device_parsing_errors_name_accepted_forms():
    assert parse_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"'cpu', 'cuda', 'cuda:N'.*CUDA is"):
        parse_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            LatencyObjective(device="cuda:0")
    with pytest.raises(ValueError, match="accepted"):
        LatencyObjective(device="tpu")
    with pytest.raises(ValueError, match="dtype"):
        LatencyObjective(dtype="int3")


def test_latency_median_spread_and_fingerprint(ctx, arch):
    obj = LatencyObjective(warmup=2, repeats=7, threads=1)
    before = torch.get_num_threads()
    m = obj.measure(arch, ctx)
    assert torch.get_num_threads() == before  # pinned count restored
    assert m.value > 0 and m.value == m.details["median_ms"]
    assert m.details["iqr_ms"] >= 0 and m.details["cv_percent"] >= 0
    assert m.details["n"] == 7 * m.details["rounds"] and 1 <= m.details["rounds"] <= 3  # pooled rounds
    assert m.details["min_ms"] <= m.value
    fp = obj.fingerprint(ctx)
    for key in ("device", "device_name", "torch", "threads", "dtype", "batch_size", "input_shape"):
        assert key in fp
    assert fp["threads"] == 1 and fp["input_shape"] == [3, 8, 8] and fp["device_name"]
    fp8 = LatencyObjective(batch_size=8).fingerprint(ctx)
    assert fp8 != fp and fp8["batch_size"] == 8


def test_latency_spread_above_the_bound_is_retimed_up_to_max_rounds(ctx, arch):
    # a bound no timing meets: every round runs, and the measurement says it stayed noisy
    m = LatencyObjective(warmup=1, repeats=5, threads=1, max_iqr_percent=1e-9, max_rounds=3).measure(arch, ctx)
    assert m.details["rounds"] == 3 and m.details["n"] == 15 and m.details["noisy"]
    assert m.details["iqr_percent"] == pytest.approx(100 * m.details["iqr_ms"] / m.details["median_ms"])
    # no bound: one round, never noisy
    m = LatencyObjective(warmup=1, repeats=5, threads=1, max_iqr_percent=None).measure(arch, ctx)
    assert m.details["rounds"] == 1 and m.details["n"] == 5 and not m.details["noisy"]
    with pytest.raises(ValueError, match="max_iqr_percent"):
        LatencyObjective(max_iqr_percent=float("nan"))
    with pytest.raises(ValueError, match="max_rounds"):
        LatencyObjective(max_rounds=0)


def test_thread_clock_and_its_limits(ctx, arch):
    m = LatencyObjective(warmup=1, repeats=5, clock="thread").measure(arch, ctx)
    assert m.value > 0 and m.details["clock"] == "thread"
    assert 0 < m.details["on_cpu_percent"] <= 100
    assert LatencyObjective(clock="thread").fingerprint(ctx)["clock"] == "thread"
    assert LatencyObjective(clock="thread").fingerprint(ctx) != LatencyObjective().fingerprint(ctx)
    with pytest.raises(ValueError, match="threads=1"):
        LatencyObjective(clock="thread", threads=2)
    with pytest.raises(ValueError, match="accepted"):
        LatencyObjective(clock="sundial")


def test_latency_summary_numbers():
    s = latency_summary([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median_ms"] == 3.0 and s["iqr_ms"] == 2.0 and s["min_ms"] == 1.0
    assert s["cv_percent"] == pytest.approx(100 * np.std([1, 2, 3, 4, 100]) / 22.0)


def test_pinned_threads_restores():
    before = torch.get_num_threads()
    with pinned_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError):
        with pinned_threads(0):
            pass


@pytest.fixture(scope="module")
def lut(space):
    return profile_ops(space, input_shape=(3, 8, 8), num_classes=10, warmup=1, repeats=3, rounds=1)


def test_lut_round_trip_and_sum(lut, space, ctx, arch, tmp_path):
    path = save_table(lut, tmp_path / "lut.json")
    assert load_table(path) == json.loads(json.dumps(lut))
    assert np.asarray(lut["table_ms"]).shape == (6, 5)
    assert all(row[0] == 0.0 for row in lut["table_ms"])  # 'none' is the reference
    obj = LatencyLUTObjective(table=str(path))
    m = obj.measure(arch, ctx)
    idx = space.encode(arch)
    assert m.value == pytest.approx(lut["base_ms"] + sum(lut["table_ms"][e][k] for e, k in enumerate(idx)))
    assert m.value == pytest.approx(lut_estimate(lut, idx))
    probs = torch.nn.functional.one_hot(torch.as_tensor(idx), 5).double().requires_grad_()
    e = obj.expected(space, {"cell": probs})
    e.backward()
    assert e.item() == pytest.approx(m.value)
    assert np.allclose(probs.grad.numpy(), np.asarray(lut["table_ms"]))
    assert obj.fingerprint(ctx)["device_name"] == hardware_fingerprint("cpu")["device_name"]


def test_lut_refuses_other_hardware_or_space(lut, tmp_path):
    foreign = json.loads(json.dumps(lut))
    foreign["fingerprint"]["device_name"] = "Some Other CPU 9000"
    path = save_table(foreign, tmp_path / "foreign.json")
    with pytest.raises(ValueError, match="device_name.*Some Other CPU 9000"):
        LatencyLUTObjective(table=str(path))
    path = save_table(lut, tmp_path / "lut.json")
    with pytest.raises(ValueError, match="threads"):
        LatencyLUTObjective(table=str(path), threads=2)
    with pytest.raises(ValueError, match="batch_size"):
        LatencyLUTObjective(table=str(path), batch_size=4)
    with pytest.raises(ValueError, match="clock"):
        LatencyLUTObjective(table=str(path), clock="thread")
    obj = LatencyLUTObjective(table=str(path))
    other = NB201Space(C=8, N=1, input_size=8)
    with pytest.raises(ValueError, match="C=4 vs 8"):
        obj.measure(other.from_key(KEY), EvaluationContext(space=other))
    with pytest.raises(FileNotFoundError, match="monas.profiling"):
        LatencyLUTObjective(table=str(tmp_path / "missing.json"))


def test_live_tensor_bytes_counts_activations():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1))
    x = torch.randn(2, 3, 16, 16)
    parts = peak_inference_memory(net, x)
    act = 2 * 8 * 16 * 16 * 4
    # conv1 output (relu in place on it) is alive while conv2 writes its output
    assert parts["activations_bytes"] == 2 * act
    assert parts["weights_bytes"] == 4 * sum(p.numel() for p in net.parameters())
    assert parts["input_bytes"] == x.numel() * 4
    with LiveTensorBytes() as tracker:
        y = torch.ones(1000)
        del y
        z = torch.ones(10)
    assert tracker.peak == 4000 and tracker.current == 40 and z.numel() == 10


def test_peak_memory_positive_and_grows_with_batch(ctx, arch):
    one = PeakMemoryObjective(batch_size=1).measure(arch, ctx)
    eight = PeakMemoryObjective(batch_size=8).measure(arch, ctx)
    assert 0 < one.value < eight.value
    assert eight.details["activations_MB"] > 4 * one.details["activations_MB"]
    assert one.details["weights_MB"] == eight.details["weights_MB"] > 0
    fp1 = PeakMemoryObjective(batch_size=1).fingerprint(ctx)
    assert fp1 != PeakMemoryObjective(batch_size=8).fingerprint(ctx)
