"""Operator commands, available as `python -m service <command>` and `flask --app service <command>`."""

import os
import sys

import click
import psycopg

from service import db, migrate, spec


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
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
    from service import demo

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
    rendered = app.extensions["narratives.openapi_yaml"]
    current = spec.COMMITTED.read_text("utf-8") if spec.COMMITTED.exists() else ""
    if check:
        if rendered != current:
            raise click.ClickException("openapi.yaml is out of date: run `make openapi`.")
        click.echo("openapi.yaml is current")
        return
    spec.COMMITTED.write_text(rendered, "utf-8")
    click.echo(f"wrote {spec.COMMITTED}")


COMMANDS = (migrate_command, seed_command, openapi_command)


@click.group()
def main() -> None:
    """Narrative Tracker operator commands."""


for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    sys.exit(main())
