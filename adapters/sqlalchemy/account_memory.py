"""Gateway accounts remembered in each process until Postgres says they changed.

Every write reads its gateway account (its keys, its webhook secret, whether it is active): a round trip of each
create, confirm and webhook, and of a duplicate webhook. An account changes seldom (keys rotated, deactivated) but
must not be used long after it did, so a process serves the rows it read from memory only while it listens on the
channel a trigger on gateway_accounts notifies on every UPDATE, DELETE and TRUNCATE (migration 0003), and forgets a
row the moment its notification arrives:

- Postgres sends a notification when the change commits, so every process hears of it within its delivery (well
  under a millisecond on one machine). A request that reads the account in that moment sees it as it was, as does
  one that read it from the database just before the change.
- A read that raced a change is not remembered. Each notification handled moves a generation on, and a row is kept
  only if the generation has not moved since just before its statement was sent. A change the row does not show
  committed after that statement's snapshot, so its notification is handled after the generation was taken: before
  the row is kept (it is not) or after (it is forgotten). Hence a statement with a snapshot of its own: the
  repository neither serves nor keeps rows inside a reader's one-snapshot transaction, whose snapshot is older, and
  hexpay's transactions are READ COMMITTED (connections.py says so at BEGIN).
- Nothing is served while the listener is not listening (starting, lost, the trigger missing: a database migrated
  by an older hexpay, or a pooler such as PgBouncer between it and Postgres, which in transaction mode would hand
  its LISTEN to other clients): reads go to the database, as without this module. Its connection is pinged every
  PING_EVERY_S seconds: one that died without a word (a cut network, no reset) is noticed within PING_EVERY_S +
  PING_TIMEOUT_S, and a change made in that time may go unheard until then.
- Rows the reading transaction wrote itself are never remembered (the repository's rule): they may be rolled back.

One listener (one more connection) per engine, that is per process; closed when the engine is disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

CHANNEL = "hexpay_gateway_accounts"  # migration 0003's trigger notifies it
LISTENER_NAME = "hexpay gateway account listener"  # its application_name in pg_stat_activity
EVERY_ACCOUNT = "*"  # the payload of a TRUNCATE
PING_EVERY_S = 5.0
PING_TIMEOUT_S = 5.0
RETRY_AFTER_S = (0.5, 30.0)  # the first wait before connecting again, and the longest
REMEMBERED = 1_024  # accounts a process keeps (a shop has a handful)
_TRIGGER = ("SELECT EXISTS (SELECT 1 FROM pg_trigger "
            "WHERE tgrelid = to_regclass('gateway_accounts') AND tgname = 'gateway_account_changed')")

_log = logging.getLogger(__name__)
Connect = Callable[[], Awaitable[asyncpg.Connection]]


class AccountMemory:
    """The rows, the generation and the listener that keeps them true."""

    def __init__(self, connect: Connect, *, ping_every: float = PING_EVERY_S) -> None:
        self._connect = connect
        self._ping_every = ping_every
        self._rows: dict[str, Any] = {}
        self.generation = 0
        self._listening = False
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._closed = False
        self._heard: asyncio.Event | None = None  # set while listening: what start() waits for

    @property
    def listening(self) -> bool:
        return self._listening

    def get(self, account_id: str) -> Any:
        """The row remembered for this account; None (read it) when there is none or nothing may be served."""
        if not self._listening:
            if self._task is None:
                self._begin()
            return None
        return self._rows.get(account_id)

    def remember(self, account_id: str, row: Any, generation: int) -> None:
        """Keep a row read while the generation was `generation` (taken before the read), if it still is."""
        if self._listening and generation == self.generation:
            if len(self._rows) >= REMEMBERED:
                self._rows.clear()
            self._rows[account_id] = row

    def forget(self, account_id: str = EVERY_ACCOUNT) -> None:
        self.generation += 1
        if account_id == EVERY_ACCOUNT:
            self._rows.clear()
        else:
            self._rows.pop(account_id, None)

    async def start(self, wait: float = 2.0) -> bool:
        """Start listening and wait (at most `wait` seconds) until rows may be served; False if not yet."""
        if self._task is None:
            self._begin()
        heard = self._heard
        if heard is None:
            return False
        try:
            await asyncio.wait_for(heard.wait(), wait)
        except TimeoutError:
            return False
        return True

    def _begin(self) -> None:
        if self._closed:
            return
        self._heard = asyncio.Event()
        # A context of its own: the first request to read an account starts it, and its context vars (a log
        # line's request id, the bench's statement recording) are not the listener's.
        self._task = asyncio.get_running_loop().create_task(self._listen_until_closed(),
                                                            context=contextvars.Context())

    def _serve(self) -> None:
        self.forget()
        self._listening = True
        if self._heard is not None:
            self._heard.set()

    def _stop_serving(self) -> None:
        self._listening = False
        self.forget()
        if self._heard is not None:
            self._heard.clear()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self.forget(payload)

    async def _listen_until_closed(self) -> None:
        retry = RETRY_AFTER_S[0]
        while not self._closed:
            try:
                connection = self._connection = await self._connect()
            except Exception as error:
                _log.warning("gateway accounts are read every time: cannot listen for their changes (%s)",
                             type(error).__name__)
            else:
                try:
                    await self._listen_on(connection)
                    retry = RETRY_AFTER_S[0]
                except Exception as error:
                    _log.warning("gateway accounts are read every time until the listener is back (%s)",
                                 type(error).__name__)
                finally:
                    self._stop_serving()
                    self._connection = None
                    connection.terminate()
            if not self._closed:
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_AFTER_S[1])

    async def _listen_on(self, connection: asyncpg.Connection) -> None:
        """Returns (or raises) when the connection is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(CHANNEL, self._notified)
        # A pooler in between (PgBouncer) answers the connection with a process id of its own; in its transaction
        # mode the LISTEN stays on a server connection other clients then use, and notifications never come here.
        direct = await connection.fetchval("SELECT pg_backend_pid()") == connection.get_server_pid()
        if not direct:
            _log.warning("gateway accounts are read every time: their listener's connection goes through a pooler")
        warned = False
        while True:
            if direct and not self._listening:
                if await connection.fetchval(_TRIGGER):
                    self._serve()
                elif not warned:
                    _log.warning("gateway accounts are read every time: the database has no trigger on their "
                                 "changes (run the migrations)")
                    warned = True
            try:
                await asyncio.wait_for(lost.wait(), self._ping_every)
                return
            except TimeoutError:
                pass
            # A connection cut without a word (no reset) would never say so: one that answers can still be told.
            await asyncio.wait_for(connection.fetchval("SELECT 1"), PING_TIMEOUT_S)

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        self._stop_serving()
        connection = self._connection
        if connection is not None:
            connection.terminate()
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):  # its cancellation, or the loop it ran on is gone
                await task

    def terminate(self) -> None:
        """close() without waiting (no event loop to wait in)."""
        self._closed = True
        self._stop_serving()
        if self._connection is not None:
            self._connection.terminate()
        if self._task is not None:
            self._task.cancel()
            self._task = None


_MEMORIES: weakref.WeakKeyDictionary[Engine, AccountMemory] = weakref.WeakKeyDictionary()


def attach_account_memory(engine: AsyncEngine, connect: Connect) -> None:
    memory = _MEMORIES[engine.sync_engine] = AccountMemory(connect)

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def close_memory(_engine: Engine) -> None:
        if in_greenlet():  # AsyncEngine.dispose(): a coroutine can be awaited here
            await_(memory.close())
        else:
            memory.terminate()


def account_memory_of(engine: AsyncEngine) -> AccountMemory | None:
    return _MEMORIES.get(engine.sync_engine)
