"""Putting rounds together, the printed table, and the JSON file of a run's figures."""

import json
from collections.abc import Iterable
from pathlib import Path as FilePath
from typing import Any

from bench.load import Result
from bench.paths import Path
from bench.settings import RESULTS_DIR

RATIO_TARGET = 0.9  # service / bare
PEER_TARGET = 1.0  # service / peer: at or above the stack a team would pick instead (issue 11)
BATCH_TARGET = 12_000  # sightings/s, batch path (issue 11; the NDJSON import: 25,000)
BUSY_WARNING = 0.1  # share of the machine used by others during a measurement


def combine(rounds: list[Result]) -> Result:
    """One figure from several rounds: requests over total time; the rounds' mean percentiles
    (wrk keeps no histogram to merge), the worst max, the errors added up."""
    errors: dict[str, int] = {}
    for result in rounds:
        for name, n in result.errors.items():
            errors[name] = errors.get(name, 0) + n
    count = len(rounds)
    others = [r.others_cpu for r in rounds if r.others_cpu is not None]
    return Result(
        requests=sum(r.requests for r in rounds),
        duration_s=sum(r.duration_s for r in rounds),
        p50_ms=sum(r.p50_ms for r in rounds) / count,
        p90_ms=sum(r.p90_ms for r in rounds) / count,
        p99_ms=sum(r.p99_ms for r in rounds) / count,
        max_ms=max(r.max_ms for r in rounds),
        mean_ms=sum(r.mean_ms for r in rounds) / count,
        errors=errors,
        others_cpu=max(others) if others else None,
        app_cpu_s=_total(r.app_cpu_s for r in rounds),
        db_cpu_s=_total(r.db_cpu_s for r in rounds),
        wal=_wal_total([r.wal for r in rounds]),
    )


def _wal_total(rounds: list[dict[str, int] | None]) -> dict[str, int] | None:
    if not rounds or any(wal is None for wal in rounds):
        return None
    return {name: sum(wal[name] for wal in rounds) for name in rounds[0]}  # type: ignore[index]


def wal_cell(result: Result) -> str:
    """KiB of WAL per request, to one place, or "-"."""
    kib = result.wal_kib()
    return "-" if kib is None else f"{kib:.1f}"


def _total(values: Iterable[float | None]) -> float | None:
    """The sum, or None when any round could not tell."""
    values = list(values)
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def cpu_cell(result: Result, part: str) -> str:
    """CPU ms per request of `part` ("app" or "db"), to two places, or "-"."""
    ms = result.cpu_ms(part)
    return "-" if ms is None else f"{ms:.2f}"


def best(rounds: list[Result]) -> Result:
    """The round with the most requests/s: on a machine others also use, the least disturbed
    one (as timeit takes the fastest run). Both apps get the same number of rounds."""
    return max(rounds, key=lambda result: result.rps)


def _cells(result: Result) -> str:
    return f"{result.rps:9.1f} {result.p50_ms:8.1f} {result.p99_ms:8.1f}"


def _ratio(service: Result, other: Result) -> float:
    return service.rps / other.rps if other.rps else 0.0


def _verdict(ratio: float, target: float) -> str:
    return f"{ratio:5.2f}  >= {target:.1f}x {'met' if ratio >= target else 'MISSED':6}"


def table(paths: list[Path], figures: dict[str, dict[str, Result]]) -> list[str]:
    """The table's lines: per path, each app's req/s, p50 and p99 (ms), and the service's
    ratio to the bare app and to the peer."""
    width = max(len(path.title) for path in paths) + 2
    app_head = f"{'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    ratio_head = f"{'ratio':>5}  {'target':15}"
    lines = [
        f"{'':{width}}| {'service':^27} | {'bare':^27} | {'peer':^27} |"
        f" {'service / bare':^22} | {'service / peer':^22} |",
        f"{'path':{width}}| {app_head} | {app_head} | {app_head} | {ratio_head} | {ratio_head} |"
        " others",
    ]
    lines.append("-" * len(lines[-1]))
    for path in paths:
        apps = figures[path.key]
        service, bare, peer = apps["service"], apps["bare"], apps["peer"]
        lines.append(
            f"{path.title:{width}}| {_cells(service)} | {_cells(bare)} | {_cells(peer)} | "
            f"{_verdict(_ratio(service, bare), RATIO_TARGET)} | "
            f"{_verdict(_ratio(service, peer), PEER_TARGET)} | "
            + "/".join(_others(apps[app]) for app in ("service", "bare", "peer"))
        )
        if path.sightings > 1:
            rates = [apps[app].rps * path.sightings for app in ("service", "bare", "peer")]
            verdict = "met" if rates[0] >= BATCH_TARGET else "MISSED"
            lines.append(
                f"{'  = sightings/s':{width}}|"
                + "".join(f" {rate:9,.0f}{'':18} |" for rate in rates)
                + f" >= {BATCH_TARGET:,} {verdict}"
            )
        for app, result in apps.items():
            if result.failed:
                lines.append(f"{'':{width}}  ! {app}: failed requests {result.errors}")
    lines += ["", *cpu_table(paths, figures, width)]
    lines += [
        "service: the real app, auth and validation on; bare: bench/bare_app.py, the same SQL with "
        "no features",
        "peer: bench/peer_app.py, FastAPI + pydantic + psycopg's async pool under uvicorn (uvloop, "
        "httptools): the same SQL, validation, key check and answers",
        "ratio: service req/s / that app's req/s; others: the most of the machine that other "
        "processes used during a measurement (service/bare/peer)",
    ]
    busy = max((r.others_cpu or 0) for apps in figures.values() for r in apps.values())
    if busy > BUSY_WARNING:
        lines.append(
            f"! other processes used up to {busy:.0%} of the machine during the rounds shown: "
            "those figures are low and noisy; rerun on a quiet machine (or with --wait-quiet)"
        )
    return lines


def cpu_table(paths: list[Path], figures: dict[str, dict[str, Result]], width: int) -> list[str]:
    """Where each request's CPU went, in the rounds shown: milliseconds in the app's processes
    (its server and workers) and in PostgreSQL's (every backend and helper of the server, so a
    server shared with other work counts that too: see `others`). On a machine the load
    saturates, req/s is about cores / (app + db + the load generator's share): this is what
    says which side a gap between two apps is on."""
    head = f"{'app ms':>9} {'db ms':>8} {'WAL KiB':>8} {'':8}"
    lines = [
        f"{'CPU per request':{width}}| {'service':^36} | {'bare':^36} | {'peer':^36} |",
        f"{'path':{width}}| {head} | {head} | {head} |",
    ]
    lines.append("-" * len(lines[-1]))
    for path in paths:
        cells = []
        for app in ("service", "bare", "peer"):
            result = figures[path.key][app]
            per_item = ""
            if path.sightings > 1 and result.cpu_ms("app") is not None:
                total = (result.cpu_ms("app") or 0) + (result.cpu_ms("db") or 0)
                per_item = f"{1000 * total / path.sightings:5.0f} us"
            cells.append(
                f"{cpu_cell(result, 'app'):>9} {cpu_cell(result, 'db'):>8} "
                f"{wal_cell(result):>8} {per_item:>8}"
            )
        lines.append(f"{path.title:{width}}| " + " | ".join(cells) + " |")
    lines.append(
        "app ms / db ms: CPU per request in the app's processes / in PostgreSQL's; WAL KiB: "
        "what the server wrote to its log per request; for batches, app + db per sighting (us)"
    )
    forced = sum(
        (result.wal or {}).get("forced", 0) for apps in figures.values() for result in apps.values()
    )
    if forced:
        lines.append(
            f"! PostgreSQL started {forced} checkpoint(s) during the rounds shown because WAL "
            "outgrew max_wal_size: the pages written after each one are logged whole, so the "
            "write paths' db ms and WAL include that cost (a server sized for ingest sets "
            "max_wal_size higher)"
        )
    return lines


def _others(result: Result) -> str:
    return "-" if result.others_cpu is None else f"{result.others_cpu:.0%}"


def write_json(document: dict[str, Any], stamp: str) -> FilePath:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"results-{stamp}.json"
    target.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return target


def path_document(path: Path, rounds: dict[str, list[Result]]) -> dict[str, Any]:
    """One path's figures for the JSON file: per app the best round (as printed), all rounds
    combined, and every round; the service's ratio to the bare app and to the peer, of the
    best rounds and of the combined ones."""
    entry: dict[str, Any] = {"title": path.title}
    for app, results in rounds.items():
        entry[app] = {
            "best": best(results).as_dict(),
            "combined": combine(results).as_dict(),
            "rounds": [r.as_dict() for r in results],
        }
    for view in ("best", "combined"):
        # ratio_best / ratio_combined: service / bare, as before the peer came.
        for other, name in (("bare", f"ratio_{view}"), ("peer", f"ratio_peer_{view}")):
            if other in entry:
                other_rps = entry[other][view]["rps"]
                ratio = entry["service"][view]["rps"] / other_rps if other_rps else None
                entry[name] = round(ratio, 3) if ratio is not None else None
    if path.sightings > 1:
        entry["sightings_per_s"] = {
            app: round(entry[app]["best"]["rps"] * path.sightings) for app in rounds
        }
    return entry
