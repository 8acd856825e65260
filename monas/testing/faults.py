"""Fault injection for parallel searches: kill -9 of local workers while a search runs."""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import List, Tuple


def optimize_killing_workers(engine, max_kills: int, interval_s: Tuple[float, float], seed: int = 0,
                             min_unique: int = 0) -> List[int]:
    """Run ``engine.optimize()`` while a thread kills a random local worker with SIGKILL every
    ``uniform(*interval_s)`` seconds, up to ``max_kills`` times, once ``min_unique`` evaluations
    are in. Only workers registered in the study are killed (past their start-up: importing torch,
    building the objectives), so the kills land in the evaluation loop. Returns the killed pids."""
    kills: List[int] = []
    stop = threading.Event()

    def killer() -> None:
        rng = random.Random(seed)
        while not stop.is_set() and len(kills) < max_kills:
            time.sleep(rng.uniform(*interval_s))
            workers = engine.local_workers
            pids = workers.registered_pids(engine.queue.study) if workers is not None else []
            if pids and engine.n_unique >= min_unique:
                pid = rng.choice(pids)
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        engine.optimize()
    finally:
        stop.set()
        thread.join()
    return kills
