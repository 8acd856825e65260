"""Opening the Optuna storage a search and its workers share, with Optuna's own heartbeat.

Every process of a parallel search (the coordinator that runs the generators and each worker)
opens the same RDB storage (SQLite in the run directory on one machine, PostgreSQL across
machines) with a heartbeat: a worker records one every ``heartbeat_s`` while it evaluates, and a
running trial whose heartbeat is older than the grace period (``2 * heartbeat_s``) is failed by
:func:`optuna.storages.fail_stale_trials` and re-enqueued by
:class:`optuna.storages.RetryFailedTrialCallback` with its params and user attributes, so another
worker evaluates the candidate again under the same evaluation number.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional, TypeVar

import optuna

T = TypeVar("T")
logger = logging.getLogger("monas")


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an RDB URL: nothing to hide
        return url


def grace_period_s(heartbeat_s: float) -> int:
    """Seconds without a heartbeat after which a running trial is failed and retried."""
    return max(2, int(round(2 * heartbeat_s)))


def open_storage(url: str, heartbeat_s: Optional[float] = None) -> optuna.storages.BaseStorage:
    """An RDB storage for ``url``; with ``heartbeat_s`` stale running trials are failed after
    :func:`grace_period_s` and retried by a WAITING copy (Optuna's RetryFailedTrialCallback)."""
    kwargs = {}
    if url.startswith("sqlite"):
        # several processes write one file: wait for the lock instead of failing at once, and let
        # readers (the workers polling the queue) run beside the writer
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
        _write_ahead_log(url)
    else:
        kwargs["engine_kwargs"] = {"pool_pre_ping": True}
    if heartbeat_s is not None:
        import warnings

        with warnings.catch_warnings():  # Optuna marks the heartbeat API experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=None)
            kwargs.update(heartbeat_interval=max(1, int(round(heartbeat_s))), grace_period=grace_period_s(heartbeat_s),
                          heartbeat_stale_trial_callback=retry)
            return optuna.storages.RDBStorage(url, **kwargs)
    return optuna.storages.RDBStorage(url, **kwargs)


def _write_ahead_log(url: str) -> None:
    """Switch an SQLite study file to WAL journaling (persistent in the file), so the many reads of
    polling workers do not block the writes of the others."""
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database, timeout=60) as con:
        con.execute("PRAGMA journal_mode=WAL")


class StorageUnreachable(RuntimeError):
    """The storage did not answer after every retry; the message names the (masked) URL."""


def with_retries(what: Callable[[], T], url: str, tries: int = 6, first_wait_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``what``; on a database connection error wait 0.5, 1, 2, ... s and try again, then raise
    :class:`StorageUnreachable` naming the URL with its password masked."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    wait = first_wait_s
    for attempt in range(1, tries + 1):
        try:
            return what()
        except (OperationalError, DBAPIError) as exc:
            if attempt == tries:
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise StorageUnreachable(f"cannot reach the storage {masked_url(url)} after {tries} tries "
                                         f"({reason})") from None
            logger.warning("storage %s did not answer (%s); retrying in %.1f s", masked_url(url),
                           type(exc).__name__, wait)
            sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")
