"""The connection pool, and the two ways a view borrows a connection.

One pool per process, opened by the app factory, so that gunicorn workers never share sockets
inherited across fork. Tests hand the app a single connection inside an open transaction instead;
every borrow then becomes a savepoint, and the test rolls everything back.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from flask import Flask, current_app, g, has_request_context
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from service.web import jsonio

EXTENSION = "narratives.db"
SESSION_OPTIONS = "-c timezone=UTC -c jit=off"
FAIL_FAST_SECONDS = 2.0
_ACTIVE = "_narratives_transaction"
_RETIRE = "_narratives_retire"
# Bytes of parameters past which a statement's connection is retired (see `retire`).
LARGE_MESSAGE = 1024 * 1024


class Database:
    def __init__(
        self, url: str, *, min_size: int, max_size: int, timeout: float, statement_timeout_ms: int
    ) -> None:
        self.url = url
        self.override: psycopg.Connection | None = None
        self.pool = _Pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                # JIT compiles a plan when its cost estimate is high, which for this OLTP
                # workload only adds hundreds of milliseconds to queries that run in one.
                "options": f"{SESSION_OPTIONS} -c statement_timeout={statement_timeout_ms}",
                "connect_timeout": 5,
                # A server that vanishes without a reset (failover, partition) is noticed in
                # seconds rather than when gunicorn's timeout kills the worker.
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 2,
                "tcp_user_timeout": 10000,
            },
            check=self._check,
            # psycopg_pool backs off up to 5 minutes between reconnection attempts by default;
            # a database back from a restart should be used again within seconds.
            reconnect_timeout=10,
            name="narratives",
        )
        self.unavailable_until = 0.0
        self.suspect_until = 0.0

    def open(self) -> None:
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection for reads: autocommit, one statement at a time."""
        if self.override is not None:
            with self.override.transaction():
                yield self.override
            return
        with self._pooled() as conn:
            yield conn

    @contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; while the database is known to be down, fail at once.

        Waiting DB_POOL_TIMEOUT for every request during an outage would hold every worker,
        starving even /healthz; after one failure the next FAIL_FAST_SECONDS answer 503 at once.
        """
        if time.monotonic() < self.unavailable_until:
            raise DatabaseUnavailable("the database was unreachable moments ago")
        lent = None
        try:
            with self.pool.connection() as conn:
                lent = conn
                yield conn
                if getattr(conn, _RETIRE, False):
                    conn.close()  # the pool drops it, and opens a fresh one when it needs one
        except PoolTimeout:
            self.unavailable_until = time.monotonic() + FAIL_FAST_SECONDS
            raise
        except psycopg.OperationalError as exc:
            if _lost_connection(exc):
                if lent is not None and getattr(lent, _UNCHECKED, False):
                    # A connection lent on trust broke: the server may have restarted under
                    # it. That is no proof of an outage: check every lend for a while instead,
                    # so the other stale connections are replaced rather than failed.
                    self.suspect_until = time.monotonic() + SUSPECT_SECONDS
                else:
                    self.unavailable_until = time.monotonic() + FAIL_FAST_SECONDS
            raise

    def _check(self, conn: psycopg.Connection) -> None:
        _check_if_idle(conn, trust_recent=time.monotonic() >= self.suspect_until)

    @contextmanager
    def transaction(self, actor: str | None = None) -> Iterator[psycopg.Connection]:
        """A connection inside a transaction, committed when the outermost block ends without
        error. Within one request, nested blocks share the connection as savepoints, so a
        wrapper (idempotency) and the view it wraps commit or roll back together.

        The audit triggers take the writer from the rows (`updated_by`, `reported_by`); a
        deletion leaves no row to ask, so it passes `actor`, set for this transaction only.
        """
        current = g.get(_ACTIVE) if has_request_context() else None
        if current is not None:
            with current.transaction():
                _set_actor(current, actor)
                yield current
            return
        with self._borrow() as conn, conn.transaction():
            _set_actor(conn, actor)
            if has_request_context():
                setattr(g, _ACTIVE, conn)
            try:
                yield conn
            finally:
                if has_request_context():
                    setattr(g, _ACTIVE, None)

    @contextmanager
    def _borrow(self) -> Iterator[psycopg.Connection]:
        if self.override is not None:
            yield self.override
            return
        with self._pooled() as conn:
            yield conn


# A connection handed back moments ago is as good as checked: checking it again cost a round
# trip on every request (a tenth of a read's time). One idle for longer may have been cut (a
# restart, a failover, an idle timeout) and is checked before it is lent. A connection lent
# on trust that breaks fails that one request (a 503); then every lend is checked for a while,
# so the pool replaces the other stale ones instead of failing a request on each.
CHECK_AFTER_IDLE_SECONDS = 2.0
# After a connection lent unchecked broke, every lend is checked for this long.
SUSPECT_SECONDS = 30.0
_RETURNED_AT = "_narratives_returned_at"
_UNCHECKED = "_narratives_lent_unchecked"


def _stamp_returned(conn: psycopg.Connection) -> None:
    setattr(conn, _RETURNED_AT, time.monotonic())


def _check_if_idle(conn: psycopg.Connection, *, trust_recent: bool = True) -> None:
    returned = getattr(conn, _RETURNED_AT, None)
    recent = returned is not None and time.monotonic() - returned <= CHECK_AFTER_IDLE_SECONDS
    setattr(conn, _UNCHECKED, trust_recent and recent)
    if not (trust_recent and recent):
        ConnectionPool.check_connection(conn)


class _Pool(ConnectionPool):
    """Stamps each connection as it is handed back, in the request's own thread. (psycopg_pool's
    `reset` callback would do the same, but any reset sends every return through the pool's
    worker thread: a thread hand-off per request that cost more than the query it saved.)"""

    def putconn(self, conn: psycopg.Connection) -> None:
        _stamp_returned(conn)
        super().putconn(conn)


class DatabaseUnavailable(psycopg.OperationalError):
    """Raised without trying while a recent failure says the database is down (a 503)."""


def retire(conn: psycopg.Connection) -> None:
    """Have the pool drop this connection once it is handed back, rather than lend it again.

    libpq keeps a connection's buffers as large as the largest message it has sent or received,
    for the connection's life: after a batch of a thousand long URLs, about 7 MiB; with a pooled
    connection per thread, a worker kept that much for each. Whoever sends such a message says
    so (LARGE_MESSAGE); a connection lent outside the pool (tests) is left alone.

    The price: the next request starts on a fresh backend, with cold caches and its trigger
    functions compiled again, about 40 ms on a 450 ms batch of a thousand 1.2 KB URLs (an
    ordinary batch of a thousand, some 300 KB, never pays it)."""
    setattr(conn, _RETIRE, True)


class _JsonText(Loader):
    """json/jsonb in text format straight to orjson, which reads the buffer psycopg hands over:
    a page of 50 sightings carries about 120 such values, and psycopg's own loader copies each
    one to bytes and goes through two more Python calls (set_json_loads still serves the binary
    format)."""

    def load(self, data: Buffer) -> Any:
        return orjson.loads(data)


def _lost_connection(exc: psycopg.OperationalError) -> bool:
    """A failure of the connection itself (no SQLSTATE, class 08, or an administrator's
    shutdown), as opposed to a query that failed on a working connection."""
    state = exc.sqlstate or ""
    return not state or state.startswith(("08", "57P"))


def _set_actor(conn: psycopg.Connection, actor: str | None) -> None:
    if actor is not None:
        conn.execute("SELECT set_config('narratives.actor', %s, true)", (actor,))


def init_app(app: Flask) -> Database:
    # json/jsonb columns (nested objects the list queries build) decode with orjson.
    set_json_loads(jsonio.loads)
    for name in ("json", "jsonb"):
        psycopg.adapters.register_loader(name, _JsonText)
    url = app.config["DATABASE_URL"]
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    database = Database(
        url,
        min_size=app.config["DB_POOL_MIN_SIZE"],
        max_size=app.config["DB_POOL_MAX_SIZE"],
        timeout=app.config["DB_POOL_TIMEOUT"],
        statement_timeout_ms=app.config["DB_STATEMENT_TIMEOUT_MS"],
    )
    app.extensions[EXTENSION] = database
    return database


def get() -> Database:
    return current_app.extensions[EXTENSION]


def connection():
    return get().connection()


def transaction(*, attributed: bool = False):
    """The request's write transaction; `attributed` names the calling key as the actor for
    writes whose rows cannot say who made them (deletions)."""
    key = g.get("api_key") if attributed else None
    return get().transaction(actor=key["name"] if key else None)


def connect(url: str) -> psycopg.Connection:
    """A standalone connection for commands (migrate, seed), with the pool's settings."""
    return psycopg.connect(url, row_factory=dict_row, options=SESSION_OPTIONS, connect_timeout=10)
