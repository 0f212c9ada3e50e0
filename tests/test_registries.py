"""The lists a new field or resource must extend, checked against what they describe: each test
fails naming the list to extend, so nobody has to remember them."""

import importlib
import pkgutil

import marshmallow as ma
import pytest

import service.api
from service.schemas.audit import RESOURCES
from service.schemas.narratives import NarrativeIn
from service.schemas.rebuttals import RebuttalIn
from service.schemas.sightings import SightingIn
from service.web.problems import CONSTRAINT_FIELDS

# Tables no request body writes directly: their constraints cannot be tripped by input.
INTERNAL_TABLES = {
    "schema_migrations",
    "audit_log",
    "idempotency_keys",
    "rate_limit_windows",
    "webhook_messages",  # the outbox, written by a trigger
    "webhook_attempts",  # the worker's delivery log
    "narrative_phrases",  # kept by triggers from the narratives and sightings written
}
# Constraints on client-written tables that input still cannot reach (ids the service chose).
NOT_FROM_INPUT = {
    "narrative_aliases_narrative_fkey",  # the narrative being written
    "rebuttal_narratives_rebuttal_fkey",  # the rebuttal being written
    "api_keys_key_hash_key",  # a hash of 256 random bits the service drew
}


def test_every_constraint_input_can_trip_names_the_field_to_fix(conn):
    found = conn.execute(
        """
        SELECT c.conname AS name, c.conrelid::regclass::text AS tbl
          FROM pg_constraint c
         WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('u', 'f')
        UNION
        SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text
          FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
         WHERE t.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary
        """
    ).fetchall()
    reachable = {
        row["name"]
        for row in found
        if row["tbl"] not in INTERNAL_TABLES and row["name"] not in NOT_FROM_INPUT
    }
    missing = reachable - set(CONSTRAINT_FIELDS)
    assert not missing, (
        f"{sorted(missing)}: add to CONSTRAINT_FIELDS in service/web/problems.py (the field a "
        "client should fix), or to NOT_FROM_INPUT here if no input can reach it"
    )


def test_the_audit_trails_resources_are_the_ones_its_triggers_write(conn):
    rows = conn.execute(
        """
        SELECT DISTINCT encode(t.tgargs, 'escape') AS args
          FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE p.proname IN ('audit_created', 'audit_updated', 'audit_deleted', 'audit_children')
        """
    ).fetchall()
    written = {row["args"].split("\\000")[0] for row in rows}
    assert written == set(RESOURCES), "extend RESOURCES in service/schemas/audit.py"


def test_every_blueprint_is_registered(app):
    for module_info in pkgutil.iter_modules(service.api.__path__):
        module = importlib.import_module(f"service.api.{module_info.name}")
        blueprint = getattr(module, "blp", None)
        if blueprint is not None:
            assert blueprint.name in app.blueprints, (
                f"register service/api/{module_info.name}.py in service/api/__init__.py"
            )


def _leaf_paths(schema: ma.Schema, prefix: str = "") -> set[str]:
    paths = set()
    for name, field in schema.fields.items():
        path = f"{prefix}{name}"
        inner = field.inner if isinstance(field, ma.fields.List) else field
        if isinstance(field, ma.fields.List):
            path += ".0"
        if isinstance(inner, ma.fields.Nested):
            paths |= _leaf_paths(inner.schema, path + ".")
        else:
            paths.add(path)
    return paths


@pytest.mark.parametrize(
    ("schema", "text", "other"),
    [
        (NarrativeIn, "NARRATIVE_TEXT", "NARRATIVE_OTHER"),
        (SightingIn, "SIGHTING_TEXT", "SIGHTING_OTHER"),
        (RebuttalIn, "REBUTTAL_TEXT", "REBUTTAL_OTHER"),
    ],
)
def test_the_hostile_input_suite_aims_at_every_field(schema, text, other):
    hostile = importlib.import_module("reliability.hostile")
    aimed = set(getattr(hostile, text)) | set(getattr(hostile, other))
    fields = _leaf_paths(schema()) - {"status", "confidence"}  # not text: enum and number
    assert fields - aimed == set(), f"add to {text} or {other} in reliability/hostile.py"
