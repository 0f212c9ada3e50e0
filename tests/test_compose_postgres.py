"""docker-compose.yml's PostgreSQL settings (its `command: postgres -c name=value ...`), checked
against a real server, since no Docker engine runs here: each names a setting the server has,
with a value it accepts, that may be set at all; and the ones ingest needs are there."""

from pathlib import Path

import psycopg
import pytest
import yaml

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _settings() -> dict[str, str]:
    command = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]["postgres"][
        "command"
    ]
    assert command[0] == "postgres", "the image's entry point passes these to postgres"
    flags, values = command[1::2], command[2::2]
    assert set(flags) == {"-c"} and len(flags) == len(values)
    return dict(value.split("=", 1) for value in values)


@pytest.fixture(scope="module")
def server(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("name", sorted(_settings()))
def test_each_setting_is_one_the_server_accepts(server, name):
    """Red on a misspelt name, a value of the wrong kind or outside its range, or an enum value
    the server does not know (CI runs PostgreSQL 15 and 18; the image is 16)."""
    value = _settings()[name]
    row = server.execute(
        "SELECT vartype, unit, min_val, max_val, enumvals, context FROM pg_settings"
        " WHERE name = %s",
        (name,),
    ).fetchone()
    assert row is not None, f"{name} is no PostgreSQL setting"
    vartype, unit, low, high, enumvals, context = row
    assert context != "internal", f"{name} cannot be set: it is compiled in"
    if vartype == "enum":
        assert value in enumvals, f"{name}={value}: the server knows {enumvals}"
    elif vartype == "integer":
        amount = _in_units(server, value, unit)
        assert float(low) <= amount <= float(high), f"{name}={value} is out of range"
    else:
        pytest.fail(f"{name}: check a {vartype} setting here before using one")


def _in_units(server, value: str, unit: str | None) -> float:
    """A size or a time, as pg_settings counts it (kB, 8kB, MB; ms, s, min)."""
    if unit in {"kB", "8kB", "MB"}:
        size = server.execute("SELECT pg_size_bytes(%s)", (value,)).fetchone()[0]
        return size / {"kB": 1024, "8kB": 8192, "MB": 1024 * 1024}[unit]
    if unit in {"ms", "s", "min"}:
        seconds = server.execute("SELECT extract(epoch FROM %s::interval)", (value,)).fetchone()[0]
        return float(seconds) * {"ms": 1000, "s": 1, "min": 1 / 60}[unit]
    return float(value)


def test_the_ingest_settings_are_there():
    """Red when someone drops the WAL sizing that ingest measured against (bench/README.md)."""
    settings = _settings()
    assert settings["max_wal_size"].endswith("GB") and int(settings["max_wal_size"][:-2]) >= 4
    assert settings["checkpoint_timeout"] == "15min"
