"""Settings: one typed object; .env.example and the README's table name exactly its fields; a
bad value stops a process with one line naming the variable."""

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service import config
from service.ops.devserver import GUNICORN
from tests.live import gunicorn_conf_env

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {field.name for field in dataclasses.fields(config.Settings)}
# Variables of the compose file itself (the PostgreSQL container, the published port).
COMPOSE_ONLY = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "API_PORT"}


def test_env_example_lists_every_setting_and_nothing_else():
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    assert SETTINGS - listed == set(), "add these to .env.example"
    assert listed - SETTINGS - COMPOSE_ONLY == set(), "not settings: remove, or add to Settings"


def test_readme_table_lists_every_setting_and_nothing_else():
    text = (ROOT / "README.md").read_text()
    table = text.split("### Settings", 1)[1].split("\n\n", 3)[2]
    first_column = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", " ".join(first_column)))
    assert SETTINGS - listed == set(), "add these to the README's settings table"
    assert listed - SETTINGS == set(), "the README documents settings that do not exist"


def test_values_are_read_by_their_type():
    settings = config.read(
        {
            "WEB_CONCURRENCY": "4",
            "DB_POOL_TIMEOUT": "2.5",
            "ACCESS_LOG": "off",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.WEB_CONCURRENCY == 4 and settings.DB_POOL_TIMEOUT == 2.5
    assert settings.ACCESS_LOG is False and settings.LOG_LEVEL == "DEBUG"
    assert config.read({}).bind == "0.0.0.0:8000"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WEB_CONCURRENCY", "two", "expected a whole number"),
        ("DB_POOL_TIMEOUT", "soon", "expected a number"),
        ("ACCESS_LOG", "maybe", "expected true or false"),
        ("DB_POOL_MAX_SIZE", "0", "must be at least 1"),
        ("LOG_LEVEL", "loud", "expected one of"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name, value, says):
    with pytest.raises(config.SettingsError, match=f"^{name}: {says}"):
        config.read({name: value})


@pytest.mark.parametrize(
    "argv",
    [[sys.executable, "-m", "service", "migrate"], GUNICORN],
    ids=["command", "gunicorn"],
)
def test_a_process_with_a_bad_setting_stops_with_one_line(argv):
    # (Not WEB_CONCURRENCY for gunicorn: gunicorn parses that one itself, on import.)
    result = subprocess.run(
        argv,
        cwd=ROOT,
        env=config.environment(GUNICORN_TIMEOUT="two", DATABASE_URL="postgresql:///unused"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "narratives: bad setting: GUNICORN_TIMEOUT: expected a whole number, got 'two'"
    ]


def test_gunicorn_builds_no_access_line_of_its_own(tmp_path):
    """The app writes the access line; gunicorn's logger must not build one to drop it (its
    atoms copy every environ variable, per request). Mutation: gunicorn's own Logger as
    logger_class: the atoms are built."""
    from datetime import timedelta

    from gunicorn.config import Config

    from service.logs import GunicornLogger

    cfg = Config()
    cfg.set("accesslog", "-")  # an access log gunicorn would otherwise write
    logger = GunicornLogger(cfg)

    def built(*_args):
        raise AssertionError("gunicorn built an access line")

    logger.atoms = built
    logger.access(None, None, {}, timedelta(0))
    assert not logger.access_log_enabled
    # ... and it is the one gunicorn is configured with (in a child: the config module sets up
    # the metrics directory of the process that imports it).
    named = subprocess.run(
        [sys.executable, "-c", "import service.gunicorn_conf as c; print(c.logger_class.__name__)"],
        capture_output=True,
        text=True,
        check=True,
        env=gunicorn_conf_env(tmp_path),
    ).stdout.strip()
    assert named == GunicornLogger.__name__
