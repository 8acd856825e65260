"""LocalWorkers: the worker processes ``monas search --workers N`` starts on its own machine.

Each is ``python -m monas worker`` on the run's study, with its device dealt from ``devices`` in
turn; on CPU the machine's cores are split between the workers (each pins its torch threads and
its OpenMP/MKL pools), so N workers do not oversubscribe the cores. A worker that dies (kill -9)
is replaced; its running trial is failed by the heartbeat check and evaluated again. Each worker
writes to ``<run_dir>/workers/worker-<i>.log``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence


def threads_per_worker(n_workers: int, device: str) -> int:
    """CPU workers share the cores evenly (at least one each); a GPU worker keeps one CPU thread."""
    if device.startswith("cuda"):
        return 1
    return max(1, (os.cpu_count() or 1) // max(1, n_workers))


class WorkerCrashLoop(RuntimeError):
    """Workers keep dying right after they start; the message names the log to read."""


class LocalWorkers:
    def __init__(self, n: int, storage_url: str, study_name: str, devices: Sequence[str], log_dir: Path,
                 max_restarts: Optional[int] = None) -> None:
        self.n = int(n)
        self.url, self.study_name = storage_url, study_name
        self.devices = list(devices) or ["cpu"]
        self.log_dir = Path(log_dir)
        self.procs: List[Optional[subprocess.Popen]] = [None] * self.n
        self.started_at: List[float] = [0.0] * self.n
        self.restarts = 0
        self.quick_deaths = 0
        self.max_restarts = max_restarts

    def device_of(self, i: int) -> str:
        return self.devices[i % len(self.devices)]

    def _start(self, i: int) -> None:
        device = self.device_of(i)
        threads = threads_per_worker(sum(1 for j in range(self.n) if not self.device_of(j).startswith("cuda")) or 1,
                                     device)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"worker-{i}.log", "ab")
        cmd = [sys.executable, "-m", "monas", "worker", "--storage", self.url, "--study", self.study_name,
               "--device", device, "--threads", str(threads), "--parent-pid", str(os.getpid())]
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.started_at[i] = time.monotonic()

    def start(self) -> None:
        for i in range(self.n):
            self._start(i)

    def pids(self) -> List[int]:
        return [p.pid for p in self.procs if p is not None and p.poll() is None]

    def keep_alive(self) -> int:
        """Restart every worker that exited; returns how many were restarted."""
        restarted = 0
        for i, p in enumerate(self.procs):
            if p is None or p.poll() is None:
                continue
            if time.monotonic() - self.started_at[i] < 5.0 and p.returncode not in (-signal.SIGKILL, -signal.SIGTERM):
                self.quick_deaths += 1
                if self.quick_deaths >= 3 * self.n:
                    raise WorkerCrashLoop(f"local workers exit right after they start (last exit status "
                                          f"{p.returncode}); see {self.log_dir / f'worker-{i}.log'}")
            self._start(i)
            self.restarts += 1
            restarted += 1
        return restarted

    def registered_pids(self, study) -> List[int]:
        """Pids of the live workers that have registered in ``study`` (they are past their
        start-up and in their evaluation loop)."""
        import socket

        from monas.evaluation_queue import worker_attr

        attrs = study.user_attrs
        host = socket.gethostname()
        return [pid for pid in self.pids() if worker_attr(host, pid) in attrs]

    def stop(self, timeout_s: float = 10.0) -> None:
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + timeout_s
        for p in self.procs:
            if p is None:
                continue
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
