"""The connection pool, and the two ways a view borrows a connection.

One pool per process, opened by the app factory, so that gunicorn workers never share sockets
inherited across fork. Tests hand the app a single connection inside an open transaction instead;
every borrow then becomes a savepoint, and the test rolls everything back.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import Flask, current_app, g, has_request_context
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

EXTENSION = "narratives.db"
_ACTIVE = "_narratives_transaction"


class Database:
    def __init__(
        self, url: str, *, min_size: int, max_size: int, timeout: float, statement_timeout_ms: int
    ) -> None:
        self.url = url
        self.override: psycopg.Connection | None = None
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "options": f"-c timezone=UTC -c statement_timeout={statement_timeout_ms}",
                "connect_timeout": 5,
                # A server that vanishes without a reset (failover, partition) is noticed in
                # seconds rather than when gunicorn's timeout kills the worker.
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 2,
                "tcp_user_timeout": 10000,
            },
            check=ConnectionPool.check_connection,
            name="narratives",
        )

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
        with self.pool.connection() as conn:
            yield conn

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
        with self.pool.connection() as conn:
            yield conn


def _set_actor(conn: psycopg.Connection, actor: str | None) -> None:
    if actor is not None:
        conn.execute("SELECT set_config('narratives.actor', %s, true)", (actor,))


def init_app(app: Flask) -> Database:
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
    return psycopg.connect(url, row_factory=dict_row, options="-c timezone=UTC", connect_timeout=10)
