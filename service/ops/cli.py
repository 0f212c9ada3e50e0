"""Operator commands, available as `python -m service <command>` and `flask --app service <command>`."""

import sys
from typing import Any

import click
import psycopg

from service import config, db
from service.api import spec
from service.domain.roles import ROLES
from service.ops import migrate
from service.repo import keys as keys_repo
from service.web import auth


def _database_url() -> str:
    url = config.read().DATABASE_URL
    if not url:
        raise click.UsageError("DATABASE_URL is not set.")
    return url


@click.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    try:
        done = migrate.migrate(_database_url())
    except (migrate.MigrationError, psycopg.Error) as exc:
        raise click.ClickException(f"migration failed: {exc}") from exc
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in done) or "nothing to do"
    click.echo(f"migrations: {names}")


@click.command("seed")
def seed_command() -> None:
    """Load the demo data (Crocus City Hall) into an empty database."""
    from service.ops import demo

    with db.connect(_database_url()) as conn, conn.transaction():
        counts = demo.load(conn)
    if any(counts.values()):
        click.echo("demo data loaded: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    else:
        click.echo("demo data: database not empty, nothing loaded")


@click.command("openapi")
@click.option("--check", is_flag=True, help="Exit 1 if openapi.yaml differs from the code.")
def openapi_command(check: bool) -> None:
    """Write openapi.yaml from the code (or check it is current)."""
    from service import create_app

    # The spec needs no database: an empty pool never connects.
    app = create_app({"DATABASE_URL": "postgresql:///unused", "DB_POOL_MIN_SIZE": 0})
    rendered = app.extensions[spec.EXTENSION][0]
    current = spec.COMMITTED.read_text("utf-8") if spec.COMMITTED.exists() else ""
    if check:
        if rendered != current:
            raise click.ClickException("openapi.yaml is out of date: run `make openapi`.")
        click.echo("openapi.yaml is current")
        return
    spec.COMMITTED.write_text(rendered, "utf-8")
    click.echo(f"wrote {spec.COMMITTED}")


@click.group("keys")
def keys_group() -> None:
    """Issue, list and revoke API keys."""


@keys_group.command("create")
@click.option("--name", required=True, help="Unique name; recorded as provenance, never reused.")
@click.option("--role", required=True, type=click.Choice(ROLES))
def keys_create(name: str, role: str) -> None:
    """Issue a key and print its secret (shown once)."""
    try:
        with db.connect(_database_url()) as conn, conn.transaction():
            created = auth.issue(conn, name=name, role=role, by="cli")
    except psycopg.errors.UniqueViolation as exc:
        raise click.ClickException(f"a key named '{name}' exists or existed") from exc
    except psycopg.errors.CheckViolation as exc:
        raise click.ClickException("names are 1-64 of A-Z a-z 0-9 . _ -") from exc
    click.echo(f"created {role} key '{name}'. Store it now; it is not shown again:")
    click.echo(created["key"])


@keys_group.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with db.connect(_database_url()) as conn:
        rows = keys_repo.list_all(conn)
    for row in rows:
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
        used = f"{row['last_used_at']:%Y-%m-%d %H:%M}" if row["last_used_at"] else "never"
        click.echo(f"{row['name']:<32} {row['role']:<8} {row['prefix']}…  {state:<18} used {used}")


@keys_group.command("revoke")
@click.argument("name")
def keys_revoke(name: str) -> None:
    """Revoke the key called NAME."""
    with db.connect(_database_url()) as conn, conn.transaction():
        key = keys_repo.get(conn, name)
        if key is None:
            raise click.ClickException(f"no key named '{name}'")
        conn.execute("SELECT set_config('narratives.actor', 'cli', true)")
        keys_repo.revoke(conn, key["id"])
    click.echo(f"revoked '{name}'")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
def worker_command(once: bool) -> None:
    """Run the background worker (every registered job, when due) until SIGTERM."""
    from service import logs
    from service.jobs import worker

    settings = config.read()
    logs.configure(settings.LOG_LEVEL)
    worker.run(_database_url(), settings, rounds=1 if once else None)


COMMANDS = (migrate_command, seed_command, openapi_command, keys_group, worker_command)


@click.group()
def commands() -> None:
    """Narrative Tracker operator commands."""


def main(**options: Any) -> None:
    """`python -m service`: the commands, after the settings are read and found sound (a bad
    one stops everything with a line naming it, before any command runs)."""
    try:
        config.read()
    except config.SettingsError as error:
        sys.exit(f"narratives: bad setting: {error}")
    commands(**options)


for _command in COMMANDS:
    commands.add_command(_command)


if __name__ == "__main__":
    sys.exit(main())
