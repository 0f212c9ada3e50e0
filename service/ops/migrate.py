"""Forward-only SQL migrations, applied in order under an advisory lock.

Each file `migrations/NNNN_name.sql` runs in its own transaction and is recorded with its SHA-256.
An applied file that has since been edited is refused: the fix is a new migration, never a rewrite.
The lock makes concurrent starts (several containers, several test workers) safe: the first
applies, the others wait and then find nothing to do.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row

from service import config

# An arbitrary constant naming this project's migration lock in pg_advisory_lock's key space.
LOCK_KEY = 0x6E61727261746976  # "narrativ"
_NAME = re.compile(r"^([0-9]{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations_dir() -> Path:
    configured = config.read().MIGRATIONS_DIR
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "migrations"


def discover(directory: Path | None = None) -> list[Migration]:
    """The migration files on disk, in version order; a stray or duplicate name is an error."""
    directory = directory or migrations_dir()
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected a name like 0001_description.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def applied(conn: psycopg.Connection) -> dict[int, str]:
    """Applied versions and their checksums; empty when the table does not exist yet."""
    cur = conn.cursor(row_factory=tuple_row)
    (exists,) = cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists:
        return {}
    return dict(cur.execute("SELECT version, checksum FROM schema_migrations").fetchall())


def pending(conn: psycopg.Connection, available: list[Migration] | None = None) -> list[Migration]:
    """Migrations not yet applied; raises if an applied file was edited or removed."""
    available = discover() if available is None else available
    done = applied(conn)
    by_version = {m.version: m for m in available}
    for version, checksum in done.items():
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(f"version {version} is applied but its file is missing")
        if migration.checksum != checksum:
            raise MigrationError(
                f"{migration.path.name} was edited after it was applied; "
                "write a new migration instead"
            )
    return [m for m in available if m.version not in done]


def readiness(conn: psycopg.Connection) -> str:
    """'ok' when every migration this code ships is applied unedited; else what is wrong.
    Versions newer than the code (a newer release migrated first) do not make it unready:
    a rolling deploy must not take the old replicas out of service."""
    try:
        available = discover()
    except MigrationError:
        return "mismatch"
    done = applied(conn)
    if any(m.version in done and done[m.version] != m.checksum for m in available):
        return "mismatch"
    missing = [m for m in available if m.version not in done]
    return f"{len(missing)} pending" if missing else "ok"


def migrate(url: str, directory: Path | None = None) -> list[Migration]:
    """Apply every pending migration; returns those applied by this call."""
    available = discover(directory)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(_CREATE_TABLE)
            todo = pending(conn, available)
            for migration in todo:
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        """
                        INSERT INTO schema_migrations (version, name, checksum)
                        VALUES (%(version)s, %(name)s, %(checksum)s)
                        """,
                        {
                            "version": migration.version,
                            "name": migration.name,
                            "checksum": migration.checksum,
                        },
                    )
            return todo
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
