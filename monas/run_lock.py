"""RunLock: one live process owns a run directory.

The owner holds an exclusive ``flock`` on ``<run_dir>/run.lock`` for its lifetime and writes its
pid, host and start time into the file. The kernel drops the lock when the process dies (kill -9
included), so a lock left by a killed process is simply taken over by the next one; a second live
process is refused with one line naming the owner and the supported way to add workers.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Optional

from monas.run_directory import RunDirectoryError


class RunLocked(RunDirectoryError):
    """Another live process owns the run directory."""


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / "run.lock"
        self._fh = None

    def owner(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self, study: Optional[str] = None, storage: Optional[str] = None) -> None:
        """Take the lock or raise :class:`RunLocked` naming its owner."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            who = self.owner()
            join = (f"monas worker --storage URL --study {study}" if study else "monas worker --storage URL --study NAME")
            raise RunLocked(f"run directory {str(self.path.parent)!r} is in use by pid {who.get('pid', '?')} on "
                            f"{who.get('host', '?')} (since {who.get('started', '?')}); to add workers to that search "
                            f"run `{join}` (or start it with --workers N), or wait for it to end") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None
