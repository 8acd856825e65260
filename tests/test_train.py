"""monas train: the quick recipe equals train_network, the darts recipe's parts, resume after kill -9."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from monas.datasets import load_digits
from monas.objectives._build import build_network
from monas.recipes import cutout, get_recipe
from monas.registry import SEARCH_SPACES
from monas.trainer import TrainingFolderError, train_arch
from monas.training import train_network

KEY = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a) and set(a) == set(b)


def test_quick_recipe_is_train_network(digits, tmp_path):
    space = SEARCH_SPACES.create("nb201", C=8, N=1)
    arch = space.from_key(KEY)
    meta = train_arch(space, arch, digits, tmp_path / "t", "quick", epochs=1, progress=False)
    torch.manual_seed(0)
    net = build_network(space, arch, None, digits.input_shape, {"num_classes": digits.num_classes})
    history = train_network(net, digits, epochs=1, seed=0, eval_split="test")
    assert _same(torch.load(tmp_path / "t" / "weights.pt"), net.state_dict())
    assert meta["accuracy"] == pytest.approx(history["valid_acc"])
    log = [json.loads(l) for l in (tmp_path / "t" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 1 and log[0]["epoch"] == 1
    assert not (tmp_path / "t" / "checkpoint.pt").exists()
    again = train_arch(space, arch, digits, tmp_path / "t", "quick", epochs=1, progress=False)  # done: not retrained
    assert again["seconds"] == meta["seconds"]
    with pytest.raises(TrainingFolderError, match="--fresh"):
        train_arch(space, arch, digits, tmp_path / "t", "darts", epochs=1, progress=False)


def test_darts_recipe_uses_aux_head_drop_path_and_cutout(digits, tmp_path):
    space = SEARCH_SPACES.create("darts", C=4, layers=3)
    arch = space.sample(__import__("numpy").random.default_rng(0))
    rec = get_recipe("darts", epochs=2)
    assert (rec.lr, rec.batch_size, rec.weight_decay, rec.auxiliary_weight, rec.drop_path, rec.cutout) == \
        (0.025, 96, 3e-4, 0.4, 0.2, 16)
    meta = train_arch(space, arch, digits, tmp_path / "d", "darts", epochs=2, progress=False)
    assert meta["network"] == {"auxiliary_head": True, "drop_path": True, "cutout_pixels": 8}
    assert meta["build"]["auxiliary"] is True
    log = [json.loads(l) for l in (tmp_path / "d" / "log.jsonl").read_text().splitlines()]
    assert [l["drop_path"] for l in log] == [0.0, 0.1]
    assert log[0]["lr"] == pytest.approx(0.025) and log[1]["lr"] == pytest.approx(0.0125)


def test_cutout_zeroes_one_square_per_image():
    x = torch.ones(64, 1, 16, 16)
    y = cutout(x, 8, torch.Generator().manual_seed(0))
    zeros = (y == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() > 0  # 8x8 inside, clipped at the border


def test_train_resumes_after_kill_9(digits, tmp_path):
    """A `monas train` killed with SIGKILL after its first epoch continues from the checkpoint
    and ends with the weights of an uninterrupted run."""
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "monas", "train", "--space", "nb201", "--arch", KEY, "--epochs", "4",
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not (out / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed, "the training finished before its first checkpoint could be killed"
    if killed:
        assert not (out / "weights.pt").exists()
        first = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
        assert 1 <= len(first) < 4
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    space = SEARCH_SPACES.create("nb201")
    meta = train_arch(space, space.from_key(KEY), digits, tmp_path / "straight", "quick", epochs=4, progress=False)
    assert _same(torch.load(out / "weights.pt"), torch.load(tmp_path / "straight" / "weights.pt"))
    assert json.loads((out / "meta.json").read_text())["accuracy"] == pytest.approx(meta["accuracy"])
    assert len((out / "log.jsonl").read_text().splitlines()) == 4
