"""Schemathesis over every operation of openapi.yaml, against a real gunicorn with an admin key.

Fails on any 5xx and on any response that breaks the contract: undocumented status, wrong
content type, a body or headers that do not match the documented schema, schema-violating input
accepted, schema-valid input refused for a reason other than the documented business rules, a
missing `Allow` on 405, an operation that ignores its key, a created resource that cannot be
read back. All checks run, with these adjustments, made in the generated config (`_config`):

- positive_data_acceptance also accepts 422: the schema cannot say that a narrative reference
  must name an existing narrative, that timestamps lie between 1900 and 2200, or that a parent
  may not create a cycle, so schema-valid bodies are refused by those documented rules. On the
  paged lists it also accepts 400: the fuzzer cannot make a real `cursor`, and a made-up one is
  a documented 400.
- negative_data_rejection also accepts 413: a batch over 1000 sightings is documented as a 413.
- use_after_free is off for narratives and keys, whose DELETE archives or revokes (documented:
  the record stays readable, as do an archived narrative's sightings and rebuttals); it stays
  on for rebuttals, whose DELETE removes.

The fuzzer must not revoke its own key (DELETE /v1/keys/{key_id} is fuzzed too, and the stateful
phase finds ids in GET /v1/keys): reliability/st_hooks.py redirects such calls to a decoy key.

Data: the demo dataset is loaded first, and its slugs and ids are fed to the fuzzer (path
parameters and body references, half of the time) so that GET-by-ref paths hit real records;
SQL and script injection strings go into 10% of the free-text fields and filters.

Knobs (environment): RELIABILITY_FUZZ_EXAMPLES (max examples per operation and phase, default
60), RELIABILITY_MIN_CASES (default 2000), RELIABILITY_SEED (default 20240326; `random` for a new
one each run), RELIABILITY_FUZZ_TIMEOUT (seconds, default 240).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reliability.figures import FIGURES
from reliability.harness import CHILDREN, ROOT, issue_key
from service import db
from service.ops import demo

SECTION = "contract fuzz (schemathesis)"
SPEC = ROOT / "openapi.yaml"

# The paged lists (they take `cursor`).
LISTS = (
    "/v1/narratives",
    "/v1/narratives/{ref}/sightings",
    "/v1/narratives/{ref}/rebuttals",
    "/v1/sightings",
    "/v1/rebuttals",
    "/v1/audit",
)

HOSTILE_STRINGS = [
    "'; DROP TABLE sightings; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "../../etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "\u202eevil",
    "\\u0000",
]


# Free-text fields and filters, where injection strings are valid input and must be stored and
# matched literally.
HOSTILE_TARGETS = (
    "query.q",
    "query.source",
    "query.actor",
    "query.issuer",
    "body.title",
    "body.summary",
    "body.keywords[*]",
    "body.aliases[*].text",
    "body.quote",
    "body.external_id",
    "body.source.name",
    "body.actor.name",
    "body.actor.role",
    "body.statement",
    "body.issuer.name",
    "body.issuer.role",
    "body.issuer.organization",
    "body.sightings[*].quote",
    "body.sightings[*].external_id",
    "body.name",
)


def _toml(value: Any) -> str:
    """A TOML value: JSON's string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _config(
    *,
    report_dir: Path,
    examples: int,
    seed: int | None,
    refs: list[str],
    sighting_ids: list[str],
    rebuttal_ids: list[str],
    key_ids: list[str],
) -> str:
    lines = [
        "workers = 2",
        "request-timeout = 20",
        "continue-on-failure = true",
        "suppress-health-check = ['too_slow', 'filter_too_much', 'data_too_large']",
        "",
        "[generation]",
        f"max-examples = {examples}",
        "database = 'none'",
        "",
        "[cache]",
        "enabled = false",
        "",
        "[checks]",
        "enabled = true",
        "",
        "[checks.positive_data_acceptance]",
        _kv("expected-statuses", ["2xx", "401", "403", "404", "409", "422"]),
        "",
        "[checks.negative_data_rejection]",
        _kv(
            "expected-statuses",
            ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"],
        ),
        "",
        "[reports]",
        f"directory = {_toml(str(report_dir))}",
        "[reports.json]",
        "enabled = true",
        "",
        "[dictionaries.refs]",
        _kv("values", refs),
        "[dictionaries.sightings]",
        _kv("values", sighting_ids),
        "[dictionaries.rebuttals]",
        _kv("values", rebuttal_ids),
        "[dictionaries.keys]",
        _kv("values", key_ids),
        "[dictionaries.hostile]",
        _kv("values", HOSTILE_STRINGS),
        "",
        "[parameters]",
    ]
    for name in HOSTILE_TARGETS:
        lines.append(_kv(name, {"dictionary": "hostile", "probability": 0.1}))
    half = 0.5
    for name, dictionary in (
        ("path.ref", "refs"),
        ("path.sighting_id", "sightings"),
        ("path.rebuttal_id", "rebuttals"),
        ("path.key_id", "keys"),
        ("query.narrative", "refs"),
        ("body.narrative", "refs"),
        ("body.parent", "refs"),
        ("body.narratives[*]", "refs"),
        ("body.sightings[*].narrative", "refs"),
    ):
        lines.append(_kv(name, {"dictionary": dictionary, "probability": half}))
    # Soft deletes: DELETE archives a narrative and revokes a key, and both stay readable (as does
    # everything under an archived narrative: its sightings, rebuttals, timeline and exports);
    # that is the contract, not a use-after-free. Every such path of the spec, so that a new one
    # is covered without being listed here.
    for path in _soft_deleted_paths():
        lines += [
            "",
            "[[operations]]",
            f"include-path = {_toml(path)}",
            "checks.use_after_free.enabled = false",
        ]
    # Cursors are opaque and bound to their list: a made-up one is a documented 400, and the
    # fuzzer cannot make real ones, so on the paged lists a schema-valid request may get 400.
    lines += [
        "",
        "[[operations]]",
        "include-method = 'GET'",
        _kv("include-path", list(LISTS)),
        "checks.positive_data_acceptance.expected-statuses = "
        + _toml(["2xx", "400", "401", "403", "404", "409", "422"]),
    ]
    if seed is not None:
        lines.insert(0, f"seed = {seed}")
    return "\n".join(lines) + "\n"


def _soft_deleted_paths() -> list[str]:
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    return [
        path
        for path in paths
        if path.startswith("/v1/narratives/{ref}") or path == "/v1/keys/{key_id}"
    ]


def _kv(key: str, value: Any) -> str:
    return f"{json.dumps(key)} = {_toml(value)}"


def _seed(database_url: str) -> dict[str, list[str]]:
    with db.connect(database_url) as conn, conn.transaction():
        loaded = demo.load(conn)
        assert loaded["narratives"] > 0, "the demo data did not load into an empty database"
        narratives = conn.execute("SELECT id, slug FROM narratives ORDER BY slug").fetchall()
        sightings = conn.execute("SELECT id FROM sightings ORDER BY id").fetchall()
        rebuttals = conn.execute("SELECT id FROM rebuttals ORDER BY id").fetchall()
    return {
        "refs": [n["slug"] for n in narratives] + [str(n["id"]) for n in narratives],
        "sighting_ids": [str(s["id"]) for s in sightings],
        "rebuttal_ids": [str(r["id"]) for r in rebuttals],
    }


def _failures_section(output: str) -> str:
    start = output.find("= FAILURES =")
    start = output.rfind("\n", 0, start) if start >= 0 else max(0, len(output) - 6000)
    return output[start : start + 12000]


def test_schemathesis_finds_no_5xx_and_no_contract_violation(
    database_url, start_gunicorn, tmp_path
):
    examples = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60"))
    min_cases = int(os.environ.get("RELIABILITY_MIN_CASES", "2000"))
    timeout = float(os.environ.get("RELIABILITY_FUZZ_TIMEOUT", "240"))
    seed_setting = os.environ.get("RELIABILITY_SEED", "20240326")
    seed = None if seed_setting == "random" else int(seed_setting)

    data = _seed(database_url)
    key, key_id = issue_key(database_url, "fuzz-admin", "admin")
    decoys = [issue_key(database_url, f"fuzz-decoy-{i}", "reader")[1] for i in range(3)]
    server = start_gunicorn(workers=2, key=key)

    config = tmp_path / "schemathesis.toml"
    config.write_text(
        _config(
            report_dir=tmp_path / "report",
            examples=examples,
            seed=seed,
            refs=data["refs"],
            sighting_ids=data["sighting_ids"],
            rebuttal_ids=data["rebuttal_ids"],
            key_ids=decoys,
        )
    )
    counts_file = tmp_path / "counts.json"
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "reliability.st_hooks",
        "RELIABILITY_PROTECTED_KEY_IDS": key_id,
        "RELIABILITY_DECOY_KEY_ID": decoys[0],
        "RELIABILITY_ST_COUNTS": str(counts_file),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "NO_COLOR": "1",
    }
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(SPEC),
        "--url",
        server.base_url,
        "--header",
        f"Authorization: Bearer {key}",
    ]
    output_file = tmp_path / "schemathesis.out"
    with output_file.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            command,
            cwd=tmp_path,  # anything schemathesis writes by default lands in the temp folder
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        CHILDREN.append(process)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            pytest.fail(f"schemathesis ran past {timeout} s:\n{output_file.read_text()[-4000:]}")
        finally:
            CHILDREN.remove(process)
    output = output_file.read_text()

    reports = sorted((tmp_path / "report").glob("*.json"))
    assert reports, f"schemathesis wrote no report (exit {returncode}):\n{output[-4000:]}"
    report = json.loads(reports[-1].read_text())
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    statuses = {int(s): n for s, n in counts.get("statuses", {}).items()}
    server_errors = sum(n for s, n in statuses.items() if s >= 500)

    FIGURES.set(SECTION, "cases run", report["test_cases"]["generated"])
    FIGURES.set(SECTION, "requests sent", sum(statuses.values()))
    FIGURES.set(SECTION, "5xx", server_errors)
    FIGURES.set(SECTION, "contract failures", report["test_cases"]["unique_failures"])
    FIGURES.set(
        SECTION, "operations", f"{report['operations']['tested']}/{report['operations']['total']}"
    )
    FIGURES.set(SECTION, "seed", report.get("seed"))

    # The fuzzer kept its key: otherwise everything after the revocation was a 401.
    assert server.request("GET", "/v1/me").status == 200, "the fuzzer's admin key was revoked"
    assert report["operations"]["tested"] == report["operations"]["total"], report["operations"]
    assert not report["errors"], f"schemathesis errors: {report['errors']}\n{output[-4000:]}"
    assert server_errors == 0, f"5xx responses: {counts.get('server_errors')}"
    assert returncode == 0 and not report["failures"], (
        f"schemathesis found contract failures {report['failures']}:\n{_failures_section(output)}"
    )
    assert report["test_cases"]["generated"] >= min_cases, (
        f"only {report['test_cases']['generated']} cases; raise RELIABILITY_FUZZ_EXAMPLES"
    )
