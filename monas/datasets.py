"""Datasets: scikit-learn's bundled digits (the embedded default) and CIFAR from a local folder.

Nothing is downloaded. Every dataset comes as a :class:`DataBundle` with a fixed, seeded
train / validation split (the w-train / alpha-val split of bi-level search) and a test split.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset




@dataclass
class DataBundle:
    """Train, validation and test tensors of one dataset, already normalised (N, C, H, W)."""

    name: str
    train: TensorDataset
    valid: TensorDataset
    test: Optional[TensorDataset]
    num_classes: int
    input_shape: Tuple[int, int, int]

    def loader(self, split: str, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
               drop_last: bool = False) -> DataLoader:
        """A DataLoader over ``split`` ('train', 'valid' or 'test') with a seeded shuffle."""
        data = {"train": self.train, "valid": self.valid, "test": self.test}.get(split)
        if data is None:
            raise ValueError(f"dataset {self.name!r} has no split {split!r}; accepted: train, valid, test")
        gen = torch.Generator().manual_seed(seed)
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=gen,
                          drop_last=drop_last and len(data) > batch_size)


def _split(x: np.ndarray, y: np.ndarray, valid_fraction: float, seed: int):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(x))
    n_valid = int(round(len(x) * valid_fraction))
    return (x[idx[n_valid:]], y[idx[n_valid:]]), (x[idx[:n_valid]], y[idx[:n_valid]])


def _tensors(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long))



def load_digits(valid_fraction: float = 0.5, test_fraction: float = 0.2, size: int = 16,
                seed: int = 0) -> DataBundle:
    """scikit-learn's 1,797 bundled 8x8 digit images, resized to ``size`` x ``size``, 1 channel.

    ``test_fraction`` is held out first; the rest is split into train / valid by
    ``valid_fraction`` (0.5 gives the 50/50 split of bi-level search).
    """
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = d.images.astype(np.float32) / 16.0
    x = (x - x.mean()) / x.std()
    xt = torch.as_tensor(x).unsqueeze(1)
    if size != 8:
        xt = torch.nn.functional.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
    x = xt.numpy()
    y = d.target.astype(np.int64)
    (x_rest, y_rest), (x_test, y_test) = _split(x, y, test_fraction, seed + 1)
    (x_tr, y_tr), (x_va, y_va) = _split(x_rest, y_rest, valid_fraction, seed)
    return DataBundle("digits", _tensors(x_tr, y_tr), _tensors(x_va, y_va), _tensors(x_test, y_test),
                      10, (1, size, size))


load_digits.describe = lambda size=16, **_: ((1, size, size), 10)  # (input shape, classes) without loading


_CIFAR_FILES = {
    "cifar10": (["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"],
                ["test_batch"], b"labels", 10),
    "cifar100": (["train"], ["test"], b"fine_labels", 100),
}
_CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
_CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)


def missing_cifar_files(kind: str, root: str):
    """The python-format files of ``kind`` that the folder ``root`` lacks (all of them when absent)."""
    train_files, test_files, _, _ = _CIFAR_FILES[kind]
    folder = Path(root).expanduser()
    return [f for f in train_files + test_files if not (folder / f).is_file()]


def _cifar_param_check(kind: str):
    def check_params(root: str = None, **_) -> None:
        from monas.param_check import ParamError

        if not isinstance(root, str):
            return  # the signature check has said what root takes
        if not Path(root).expanduser().is_dir():
            raise ParamError("root", f"{root!r} is not a folder; accepted: a folder holding the {kind} "
                                     f"python-format files (from {kind.replace('cifar', 'cifar-')}-python.tar.gz)")
        missing = missing_cifar_files(kind, root)
        if missing:
            raise ParamError("root", f"{root!r} lacks {', '.join(missing)}; accepted: a folder holding "
                                     f"{', '.join(_CIFAR_FILES[kind][0] + _CIFAR_FILES[kind][1])}")
    return check_params


def _load_cifar(kind: str, root: str, valid_fraction: float, seed: int, limit: Optional[int]) -> DataBundle:
    train_files, test_files, label_key, classes = _CIFAR_FILES[kind]
    folder = Path(root).expanduser()
    missing = [f for f in train_files + test_files if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{kind} folder {str(folder)!r} lacks {', '.join(missing)}; expected the python-format "
            f"files {', '.join(train_files + test_files)} (from cifar-*-python.tar.gz)"
        )

    def read(files):
        xs, ys = [], []
        for f in files:
            with open(folder / f, "rb") as fh:
                batch = pickle.load(fh, encoding="bytes")
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[label_key], dtype=np.int64))
        x = (np.concatenate(xs).astype(np.float32) / 255.0 - _CIFAR_MEAN) / _CIFAR_STD
        return x, np.concatenate(ys)

    x, y = read(train_files)
    x_test, y_test = read(test_files)
    if limit:
        x, y, x_test, y_test = x[:limit], y[:limit], x_test[:limit], y_test[:limit]
    (x_tr, y_tr), (x_va, y_va) = _split(x, y, valid_fraction, seed)
    return DataBundle(kind, _tensors(x_tr, y_tr), _tensors(x_va, y_va), _tensors(x_test, y_test),
                      classes, (3, 32, 32))



def load_cifar10(root: str, valid_fraction: float = 0.5, seed: int = 0, limit: Optional[int] = None) -> DataBundle:
    """CIFAR-10 from ``root`` holding data_batch_1..5 and test_batch (python format)."""
    return _load_cifar("cifar10", root, valid_fraction, seed, limit)


load_cifar10.check_params = _cifar_param_check("cifar10")  # read by the config check (monas.param_check)
load_cifar10.describe = lambda **_: ((3, 32, 32), 10)  # (input shape, classes) without loading: the preflight



def load_cifar100(root: str, valid_fraction: float = 0.5, seed: int = 0, limit: Optional[int] = None) -> DataBundle:
    """CIFAR-100 from ``root`` holding train and test (python format)."""
    return _load_cifar("cifar100", root, valid_fraction, seed, limit)


load_cifar100.check_params = _cifar_param_check("cifar100")
load_cifar100.describe = lambda **_: ((3, 32, 32), 100)
