"""Group commit over the one SQLite connection that writes.

Each transaction the core hands over (a *unit*: read, decide, write) runs at once, on the
event loop's thread, inside the open transaction; its caller waits for the COMMIT. The
COMMIT, the only slow part (with `synchronous=FULL` an fsync, about 0.3 ms here), runs on a
helper thread (a small one on the loop's thread while the disk is quick: _commit_here);
units submitted meanwhile run in the next transaction, which is committed as soon as this
one is on disk. So many transactions share one fsync, and each caller is
released only after the COMMIT that carried it returned. A caller cancelled while waiting
leaves nothing open: callers never hold a transaction, this object does.

A unit that raises is undone alone: the open transaction is rolled back and the units that
ran in it before are run again, in order, in a fresh one. A unit reads nothing but the
database and the clock (the core's steps are pure: bridge.core.storage), so it writes the
same again. Units raise only on bugs and damaged rows; a SAVEPOINT around every unit
instead cost about 15 µs of the loop per relayed message (two units), an eighth of the
store's share (a store-only loop of event, claim and settlement: 111-121 µs a message
without, 128-135 µs with).

Why not a writer thread that runs the units, and why not aiosqlite: both put every
statement's Python on a second thread, and the GIL hand-over at each statement starved it
under load (measured with a writer thread: 30-40 commits/s carrying about 1,400 units/s,
the thread 90% busy waiting for the GIL at 1,400 webhooks/s offered). Run on the loop's
thread, the same units cost about 0.1 ms of CPU each and no hand-over; aiosqlite's public
API also cannot run a transaction in one trip (only its private `_execute` can).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from bridge.core.storage import StorageUnavailable

log = structlog.get_logger("bridge.store.sqlite")

T = TypeVar("T")
Unit = Callable[[sqlite3.Connection], Any]

# SQLite errors that mean the database, not the unit, is the problem (disk full, I/O error,
# locked by another process past busy_timeout, damaged file).
_UNAVAILABLE = (sqlite3.OperationalError, sqlite3.InternalError)
LOCK_WAIT_MS = 5000  # how long BEGIN waits for another process's write lock (a backup)
SMALL_COMMIT = 4  # units: committed on the loop's thread (see _commit_here)...
QUICK_COMMIT = 0.001  # ...while the last COMMIT took less than this many seconds
SAFETY_CHECKPOINT_PAGES = 20_000  # 80 MB of WAL: checkpoint in COMMIT only past that
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # the WAL file is cut back to this after a reset


@dataclass
class _Job:
    unit: Unit
    future: asyncio.Future[Any]
    ok: bool = False  # it ran to the end (in the transaction that is open, if not committed)
    value: Any = None
    orphaned: Callable[[Any], None] | None = None  # gets the value of a cancelled caller's
    # unit that was committed all the same


class Writer:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None
        self._disk = ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")
        self._open: list[_Job] = []  # ran in the open transaction, waiting for its COMMIT
        self._waiting: deque[_Job] = deque()  # arrived while the connection was busy
        self._busy = False  # a COMMIT (or a BEGIN that had to wait) is on the helper thread
        self._flush_planned = False
        self._pending: asyncio.Future[Any] | None = None  # the helper thread's current job
        self._closed = False
        self._last_commit = 0.0  # seconds the last COMMIT took (QUICK_COMMIT)
        self.commits = 0  # COMMITs that returned (read by tests and, later, metrics)
        self.units = 0  # units they carried

    async def start(self) -> None:
        """Open (and migrate) on the helper thread; raises what opening raised."""
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._disk, self._connect)
        except BaseException:
            self._disk.shutdown(wait=False)
            raise
        # BEGIN on the loop's thread must never wait: a lock held by another process is
        # waited for on the helper thread instead (_begin_patiently).
        self._conn.execute("PRAGMA busy_timeout = 0")
        # Checkpoints run beside the writer (SqliteStore.maintain), not inside a COMMIT
        # that every waiting caller would wait for; this is only the safety net.
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_CHECKPOINT_PAGES}")
        self._conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")

    def submit(
        self,
        unit: Callable[[sqlite3.Connection], T],
        orphaned: Callable[[T], None] | None = None,
    ) -> asyncio.Future[T]:
        """Run one unit now (or as soon as the connection is free); the future resolves
        after the COMMIT that carried it. If the caller gave up after the unit ran, the
        unit is committed all the same and `orphaned` gets its value."""
        if self._closed or self._conn is None:
            raise StorageUnavailable("the database is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        job = _Job(unit, future, orphaned=orphaned)
        if self._busy or self._waiting:
            self._waiting.append(job)
        else:
            self._run(job)
        return future

    async def run(self, unit: Callable[[sqlite3.Connection], T]) -> T:
        return await self.submit(unit)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        while True:  # let what was accepted reach the disk
            if not self._busy:
                self._drain()  # what waits (units to run again after an undo), then COMMIT
            if self._pending is None:
                break
            await asyncio.wait([self._pending])
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._disk, self._conn.close)
        self._disk.shutdown(wait=True)

    # --- on the loop's thread -----------------------------------------------------------

    def _run(self, job: _Job) -> None:
        conn = self._conn
        assert conn is not None and not self._busy
        if not conn.in_transaction:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                self._waiting.appendleft(job)
                self._begin_patiently()
                return
        try:
            job.value, job.ok = job.unit(conn), True
        except Exception as exc:
            self._undo(job, exc)
            return
        self._open.append(job)
        self._plan_flush()

    def _undo(self, failed: _Job, error: Exception) -> None:
        """Roll the open transaction back and queue the units that ran in it to run again
        first (also those whose callers gave up meanwhile: what ran is committed, as if
        nothing had failed). Queued, not run here: a run of failures must not recurse.

        When SQLite ended the transaction itself, or a unit fails that ran fine before
        from the same state, the database is what fails (a full disk, an I/O error): the
        open units fail with it instead of being run again, and again."""
        conn = self._conn
        assert conn is not None
        database_failed = failed.ok or not conn.in_transaction
        _rollback(conn)
        again, self._open = self._open, []
        if database_failed:
            self._fail([*again, failed], error)
            return
        failed.value = _translate(error)
        _resolve(failed)
        self._waiting.extendleft(reversed(again))
        asyncio.get_running_loop().call_soon(self._drain)

    def _plan_flush(self) -> None:
        # call_soon: whatever else is ready in this turn of the loop joins the transaction.
        # Once a COMMIT is on its way, later units wait and share the next one.
        if not self._flush_planned:
            self._flush_planned = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_planned = False
        if self._busy:
            return
        if not self._open:
            if self._conn is not None and self._conn.in_transaction:
                _rollback(self._conn)  # begun for units whose callers all gave up
            return
        jobs, self._open = self._open, []
        conn = self._conn
        assert conn is not None
        if len(jobs) <= SMALL_COMMIT and self._last_commit < QUICK_COMMIT:
            self._commit_here(jobs, conn)
            return
        self._busy = True
        done = asyncio.get_running_loop().run_in_executor(self._disk, _commit, conn)
        done.add_done_callback(lambda future: self._committed(jobs, _outcome(future)))
        self._pending = done

    def _commit_here(self, jobs: list[_Job], conn: sqlite3.Connection) -> None:
        # A small transaction when traffic is light and the disk quick: its fsync (about
        # 0.3 ms here) costs less on this thread than the two thread hand-overs it would
        # take (about 0.15 ms of CPU each, and up to the GIL's switch interval of waiting:
        # at 200 relayed messages/s, 14% more CPU a message and p99 6.1 ms against 4.0
        # when every COMMIT left the thread; three alternating pairs). A slow disk (a SAN,
        # a busy host: QUICK_COMMIT) would stall the loop for every webhook instead, so
        # after a slow COMMIT the next one goes to the helper thread: with 2 ms added to
        # each fsync, 200/s had a p99 of 21-38 ms without this rule and 8-12 ms with it.
        outcome: float | BaseException
        try:
            outcome = _commit(conn)
        except sqlite3.Error as exc:
            outcome = exc
        self._committed(jobs, outcome)

    def _committed(self, jobs: list[_Job], outcome: float | BaseException) -> None:
        """`outcome`: the seconds the COMMIT took, or what it raised."""
        self._busy, self._pending = False, None
        if not isinstance(outcome, BaseException):
            self._last_commit = outcome
            self.commits += 1
            self.units += len(jobs)
            for job in jobs:
                _resolve(job)
        else:
            self._fail(jobs, outcome)
        self._drain()

    def _drain(self) -> None:
        while self._waiting and not self._busy:
            job = self._waiting.popleft()
            if job.ok or not job.future.cancelled():  # skipped: its caller gave up before it ran
                self._run(job)
        if not self._busy and self._conn is not None and self._conn.in_transaction:
            self._flush()  # now: they waited one COMMIT already

    def _begin_patiently(self) -> None:
        """Another process holds the write lock: wait for it off the loop's thread."""
        self._busy = True
        conn = self._conn
        assert conn is not None
        began = asyncio.get_running_loop().run_in_executor(self._disk, _begin_waiting, conn)
        began.add_done_callback(self._began)
        self._pending = began

    def _began(self, outcome: asyncio.Future[None]) -> None:
        self._busy, self._pending = False, None
        error = outcome.exception()
        if error is not None:
            waiting, self._waiting = list(self._waiting), deque()
            self._fail(waiting, error)
            return
        self._drain()

    def _fail(self, jobs: list[_Job], error: BaseException) -> None:
        log.error("store.transaction_failed", error=str(error), units=len(jobs))
        unavailable = StorageUnavailable(f"{type(error).__name__}: {error}")
        for job in jobs:
            job.ok, job.value = False, unavailable
            _resolve(job)


# --- on the helper thread ---------------------------------------------------------------


def _commit(conn: sqlite3.Connection) -> float:
    """COMMIT; the seconds it took (on the helper thread: with its wait for the GIL)."""
    started = time.perf_counter()
    try:
        conn.execute("COMMIT")
    except sqlite3.Error:
        _rollback(conn)
        raise
    return time.perf_counter() - started


def _begin_waiting(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


# --- helpers ----------------------------------------------------------------------------


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # pragma: no cover - nothing more we can do
            log.error("store.rollback_failed", error=str(exc))


def _outcome(future: asyncio.Future[float]) -> float | BaseException:
    return future.exception() or future.result()


def _translate(exc: Exception) -> BaseException:
    if isinstance(exc, _UNAVAILABLE):
        return StorageUnavailable(f"{type(exc).__name__}: {exc}")
    return exc


def _resolve(job: _Job) -> None:
    if job.future.done():
        if job.future.cancelled() and job.ok and job.orphaned is not None:
            job.orphaned(job.value)
        return
    if job.ok:
        job.future.set_result(job.value)
    else:
        job.future.set_exception(job.value)
