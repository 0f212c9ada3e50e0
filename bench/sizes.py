"""`make bench-sizes`: how the service's read latency grows with its data (issue 11, item 4).

    python -m bench.sizes [--sizes 10000,1000000,10000000] [--requests 300] [--reseed]

For each size it seeds (once, kept between runs like the main benchmark's seed) a database of
that many sightings with bench/seed.py (the same 10,000-narrative catalogue at every size, so only
the sightings and what grows with them change), serves each with the service under gunicorn (all at once), and
sends each read path `--requests` times from one client, one request at a time (the sizes
taking turns, in `--rounds` rounds, so that a disturbance falls on all alike): the latency a
newsroom tool sees, without the queueing of a loaded server. It prints p50 and p99 per path and
size, and the ratio of the largest size's p50 to the smallest's (the target: at most 1.2).

The read paths: one narrative (its counts and first/last seen included), the narratives list,
a narrative's sightings, its rebuttals, the audit trail, and `POST /v1/match` with a text of
one to three paragraphs (bench/vocabulary.py); and, shown but not held to the target (item 4
does not list it), a narrative's timeline by day over its default range (a year). The seed writes one audit entry per ten sightings
(its triggers are off while it loads), so the audit trail grows with the data too.

The figures are for notes: nothing here asserts a time.
"""

import argparse
import json
import random
import statistics
import sys
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path as FilePath

if not __package__:  # run as a file: make `bench` importable
    sys.path.insert(0, str(FilePath(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql

from bench import database, seed, servers, vocabulary
from bench.settings import RESULTS_DIR
from service import db
from service.ops import embedded, migrate
from service.web import auth

SIZES = (10_000, 1_000_000, 10_000_000)
TARGET = 1.2  # largest size's p50 / smallest's
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Read:
    key: str
    title: str
    method: str
    target: str  # "{slug}" takes each core narrative in turn
    role: str
    judged: bool = True  # one of item 4's paths, held to TARGET; others are shown, not judged


READS = (
    Read("narrative", "GET /v1/narratives/{slug}", "GET", "/v1/narratives/{slug}", "reader"),
    Read("narratives", "GET /v1/narratives?limit=50", "GET", "/v1/narratives?limit=50", "reader"),
    Read(
        "sightings",
        "GET /v1/narratives/{slug}/sightings?limit=50",
        "GET",
        "/v1/narratives/{slug}/sightings?limit=50",
        "reader",
    ),
    Read(
        "rebuttals",
        "GET /v1/narratives/{slug}/rebuttals",
        "GET",
        "/v1/narratives/{slug}/rebuttals",
        "reader",
    ),
    Read("audit", "GET /v1/audit?limit=50", "GET", "/v1/audit?limit=50", "editor"),
    Read("match", "POST /v1/match (1-3 paragraphs)", "POST", "/v1/match", "reader"),
    Read(
        "timeline",
        "GET /v1/narratives/{slug}/timeline?interval=day",
        "GET",
        "/v1/narratives/{slug}/timeline?interval=day",
        "reader",
        judged=False,
    ),
)


def _name(rows: int) -> str:
    return f"narratives_size_{rows}"


def _marker(rows: int) -> str:
    return f"narratives size bench v1 (catalogue {seed.CATALOGUE}): {rows} sightings, complete"


def prepare(admin_url: str, rows: int, *, reseed: bool) -> str:
    """The database for `rows` sightings, seeded once and kept; returns its URL."""
    name = _name(rows)
    url = embedded.with_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '')"
            "  FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if found and found[0] == _marker(rows) and not reseed:
        migrate.migrate(url)
        return url
    if found:
        embedded.drop_database(admin_url, name)
    print(f"seeding {name} ({rows:,} sightings; kept for later runs)...", flush=True)
    started = time.monotonic()
    embedded.ensure_database(admin_url, name)
    migrate.migrate(url)
    seed.seed(url, rows)
    with db.connect(url) as conn, conn.transaction():
        seed.fill_audit(conn)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) audit_log")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(_marker(rows))
            )
        )
    print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
    return url


def _keys(url: str) -> dict[str, str]:
    with db.connect(url) as conn, conn.transaction():
        return {
            role: auth.issue(conn, name=f"size-{role}-{time.time_ns()}", role=role, by="bench")[
                "key"
            ]
            for role in ("reader", "editor")
        }


def _bodies(count: int) -> list[bytes]:
    rng = random.Random(20240322)
    bodies = []
    for _ in range(count):
        narrative = rng.randrange(len(seed.NARRATIVES), seed.CATALOGUE)
        script = rng.choice(tuple(vocabulary.SCRIPTS))
        text = vocabulary.match_text(narrative, script, rng, rng.choice((1, 2, 3)))
        bodies.append(json.dumps({"text": text, "limit": 5}, ensure_ascii=False).encode())
    return bodies


def _send(base_url: str, read: Read, key: str, n: int, bodies: list[bytes]) -> float:
    """One request; its latency in ms. A wrong status stops the run: a figure for an error
    page would be no figure."""
    target = read.target.replace("{slug}", seed.NARRATIVES[n % len(seed.NARRATIVES)])
    body = bodies[n % len(bodies)] if read.method == "POST" else None
    request = urllib.request.Request(
        base_url + target,
        data=body,
        method=read.method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with _DIRECT.open(request, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{read.title}: {response.status}")
    return (time.perf_counter() - started) * 1000


def measure(
    base_urls: dict[int, str], keys: dict[int, dict[str, str]], requests: int, rounds: int
) -> dict[int, dict[str, dict[str, float]]]:
    """Each read against every size, the sizes taking turns in `rounds` rounds, so that a
    disturbance on this shared machine falls on all sizes alike rather than on one."""
    bodies = _bodies(200)
    figures: dict[int, dict[str, dict[str, float]]] = {size: {} for size in base_urls}
    for read in READS:
        latencies: dict[int, list[float]] = {size: [] for size in base_urls}
        for size, base_url in base_urls.items():  # warm-up: caches, prepared statements
            for n in range(min(requests, 50)):
                _send(base_url, read, keys[size][read.role], n, bodies)
        for round_ in range(rounds):
            for size, base_url in base_urls.items():
                key = keys[size][read.role]
                start = round_ * requests
                latencies[size] += [
                    _send(base_url, read, key, n, bodies) for n in range(start, start + requests)
                ]
        for size, measured in latencies.items():
            measured.sort()
            figures[size][read.key] = {
                "p50_ms": statistics.median(measured),
                "p99_ms": measured[min(len(measured) - 1, int(len(measured) * 0.99))],
            }
    return figures


def table(sizes: list[int], figures: dict[int, dict[str, dict[str, float]]]) -> list[str]:
    width = max(len(read.title) for read in READS) + 2
    head = "".join(f"{f'{size:,}':>20}" for size in sizes)
    lines = [
        f"{'p50 / p99 ms, one client':{width}}{head}   largest/smallest p50",
    ]
    for read in READS:
        cells = "".join(
            f"{figures[size][read.key]['p50_ms']:>11.1f} /{figures[size][read.key]['p99_ms']:>6.1f}"
            for size in sizes
        )
        first, last = figures[sizes[0]][read.key], figures[sizes[-1]][read.key]
        ratio = last["p50_ms"] / first["p50_ms"] if first["p50_ms"] else 0.0
        verdict = f"<= {TARGET} " + ("met" if ratio <= TARGET else "MISSED")
        if not read.judged:
            verdict = "(shown, not a target)"
        lines.append(f"{read.title:{width}}{cells}   {ratio:5.2f} {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sizes", description=__doc__)
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES))
    parser.add_argument("--requests", type=int, default=300, help="per path and size")
    parser.add_argument("--rounds", type=int, default=3, help="turns the sizes take per path")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    admin_url, where = database.server_url()
    print(f"PostgreSQL: {where}; {database.server_facts(admin_url)}", flush=True)
    run = time.strftime("%Y%m%d-%H%M%S")
    urls = {size: prepare(admin_url, size, reseed=args.reseed) for size in sizes}
    keys = {size: _keys(url) for size, url in urls.items()}
    with ExitStack() as stack:
        base_urls = {
            size: stack.enter_context(
                servers.serve(
                    "service",
                    url,
                    workers=args.workers,
                    log=RESULTS_DIR / f"sizes-{run}" / f"service-{size}.log",
                    env={"RATE_LIMIT_PER_MINUTE": "1000000000", "ACCESS_LOG": "0"},
                )
            ).base_url
            for size, url in urls.items()
        }
        figures = measure(base_urls, keys, args.requests // args.rounds, args.rounds)
    lines = table(sizes, figures)
    print("\n".join(lines))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"sizes-{run}.json"
    out.write_text(json.dumps({"sizes": sizes, "figures": figures}, indent=2))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
