"""`make bench`: seed (or reuse) 1,000,000 sightings, serve the service and the bare app under
gunicorn and the FastAPI peer under uvicorn, check that they answer alike, load each path on
each app in turn, and print req/s, p50/p99 and the ratios.

    python -m bench.run [--duration 10] [--warmup 3] [--rounds 3] [--connections 8]
                        [--threads 2] [--workers N] [--rows 1000000] [--reseed]
                        [--paths post_one,post_batch,post_hostile,get_rebuttals,get_sightings,
                                 get_timeline,get_coverage,match]
                        [--loadgen auto|wrk|python] [--no-install] [--wait-quiet S]
                        [--env NAME=VALUE]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path as FilePath
from typing import Any, NoReturn

if not __package__:  # run as a file (python bench/run.py): make `bench` importable
    sys.path.insert(0, str(FilePath(__file__).resolve().parent.parent))

from bench import (
    database,
    load,
    machine,
    match_texts,
    python_load,
    report,
    same,
    seed,
    servers,
    sql_drift,
)
from bench.load import Load, Result
from bench.paths import BY_KEY, Path
from bench.settings import MATCH_BODIES, RESULTS_DIR
from service import config

# The per-key rate limit still counts every request (its cost is measured) but must not refuse
# the benchmark's one key per role.
APP_ENV = {"RATE_LIMIT_PER_MINUTE": "1000000000"}


def say(message: str) -> None:
    print(message, flush=True)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the service against a bare Flask app and a FastAPI peer on the "
        "same data.",
    )
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds before each")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements per app and path; the best is shown"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="load generator threads (wrk)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2),
        help="workers per app (default: WEB_CONCURRENCY, else the core count)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="sightings to seed")
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the seed data")
    parser.add_argument("--paths", default=",".join(BY_KEY), help="comma-separated path keys")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument(
        "--wait-quiet",
        type=int,
        default=0,
        metavar="SECONDS",
        help="before each measurement, wait up to this long for other processes to calm down",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for both apps, e.g. ACCESS_LOG=0 (repeatable; after the defaults)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.paths.split(",")) - set(BY_KEY)
    if unknown:
        parser.error(f"unknown paths {sorted(unknown)}; choose from {list(BY_KEY)}")
    if any("=" not in pair for pair in args.env):
        parser.error("--env takes NAME=VALUE")
    if min(args.duration, args.rounds, args.connections, args.threads, args.workers) < 1:
        parser.error("duration, rounds, connections, threads and workers must be at least 1")
    return args


def _load_generator(args: argparse.Namespace) -> tuple[Load, str]:
    wrk = None
    if args.loadgen != "python":
        wrk = load.find_wrk(install=not args.no_install, say=say)
        if wrk is None and args.loadgen == "wrk":
            raise SystemExit("wrk is not installed (apt-get install wrk)")
    if wrk is None:
        return Load(args.connections, args.threads, "python"), "python (http.client threads)"
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return Load(args.connections, args.threads, "wrk"), (version.stdout or version.stderr).split(
        "Copyright"
    )[0].strip()


def _measure(
    server: servers.Server,
    path: Path,
    args: argparse.Namespace,
    generator: Load,
    *,
    run_url: str,
    keys: dict[str, str],
    tag: str,
    roots: list[int],
) -> Result:
    slugs = list(seed.NARRATIVES)
    key = keys[path.role]
    problem = python_load.check(server.base_url, path, key=key, slugs=slugs, tag=f"{tag}c")
    if problem:
        raise RuntimeError(f"{server.name} answered {path.title} wrongly: {problem}")
    if args.warmup:
        load.run(
            generator,
            server.base_url,
            path,
            key=key,
            slugs=slugs,
            tag=f"{tag}w",
            seconds=args.warmup,
        )
    database.checkpoint(run_url)
    if args.wait_quiet:
        machine.wait_until_quiet(roots, within=args.wait_quiet)
    others = machine.ForeignLoad(roots)
    used = machine.CpuUse({"app": [server.pid], "db": roots[1:]})
    wal_before = database.wal_counters(run_url)
    others.start()
    used.start()
    result = load.run(
        generator, server.base_url, path, key=key, slugs=slugs, tag=f"{tag}m", seconds=args.duration
    )
    seconds = used.seconds()
    wal_after = database.wal_counters(run_url)
    if wal_before and wal_after:
        result.wal = {name: wal_after[name] - wal_before[name] for name in wal_before}
    result.others_cpu = others.share()
    if seconds is not None:
        result.app_cpu_s = seconds["app"]
        result.db_cpu_s = seconds["db"] if roots[1:] else None
    fpi_known = result.wal is not None and result.requests > 0
    say(
        f"  {server.name:7} {path.title:40} {result.rps:9.1f} req/s  p50 {result.p50_ms:7.1f} ms"
        f"  p99 {result.p99_ms:7.1f} ms"
        + f"  CPU/req app {report.cpu_cell(result, 'app')} db {report.cpu_cell(result, 'db')} ms"
        + f"  WAL/req {report.wal_cell(result)} KiB"
        + (f" ({result.wal['fpi'] / result.requests:.1f} whole pages)" if fpi_known else "")
        + (f"  others {result.others_cpu:.0%} CPU" if result.others_cpu is not None else "")
        + (f"  errors {result.errors}" if result.failed else "")
    )
    return result


def _same_answers(
    running: dict[str, servers.Server], paths: list[Path], *, keys: dict[str, str], stamp: str
) -> list[str]:
    """Send each path once to every app before anything is measured (bench/same.py). The
    peer must answer with the service's bytes, or the run stops; the bare app makes its JSON
    with the standard library (other spacing, escapes and member order), so its differences
    are only reported."""
    found = same.compare(
        {name: same.over_http(server.base_url) for name, server in running.items()},
        paths,
        keys=keys,
        slugs=list(seed.NARRATIVES),
        tag=stamp,
    )
    peer = {key: apps["peer"] for key, apps in found.items() if apps["peer"]}
    if peer:
        raise SystemExit(
            "the peer does not answer as the service does: "
            + "; ".join(f"{key}: {what}" for key, what in peer.items())
        )
    bare = sorted(key for key, apps in found.items() if apps["bare"])
    line = (
        "answers: the peer's equal the service's on every path (status, headers, body bytes; "
        "new ids and times set aside); the bare app's "
        + (f"differ on {', '.join(bare)}" if bare else "too")
    )
    if any(path.shape == "match" for path in paths):
        return [line, _every_text(running, keys["reader"])]
    return [line]


def _every_text(running: dict[str, servers.Server], key: str) -> str:
    """Every fixed text of the match path once to every app: the peer must answer each with
    the service's bytes; the bare app's answers and the texts whose narrative is not the
    service's first match are reported."""
    found = same.every_text(
        {name: same.over_http(server.base_url) for name, server in running.items()}, key
    )
    if found.peer:
        raise SystemExit(
            "the peer does not answer the match texts as the service does: "
            + "; ".join(f"text {index}: {what}" for index, what in list(found.peer.items())[:3])
        )
    total = len(match_texts.cases())
    misses = "; ".join(f"text {i}: {what}" for i, what in list(found.misses.items())[:5])
    return (
        f"match texts: the peer's answers equal the service's on all {total}; the bare app's "
        + (f"differ on {len(found.bare)} once parsed" if found.bare else "parse equal")
        + f"; the text's narrative first in {total - len(found.misses)} of {total}"
        + (f" (misses: {misses})" if misses else "")
    )


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    started = time.monotonic()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    drifted = sql_drift.drift()
    if drifted:
        raise SystemExit(
            f"bench/bare_sql.py no longer matches the service's SQL ({', '.join(drifted)}): "
            "copy the new statements from service/repo/ before comparing."
        )
    generator, generator_name = _load_generator(args)
    paths = [BY_KEY[key] for key in args.paths.split(",")]
    if any(path.shape == "match" for path in paths):
        match_texts.write(MATCH_BODIES)  # for wrk's script
    admin_url, source = database.server_url()
    facts = database.server_facts(admin_url)
    seeding = database.prepare_seed(admin_url, args.rows, reseed=args.reseed, say=say)
    seeded_at = time.monotonic()
    if seeding:
        say(
            f"seeded in {seeding['total_s']:.0f} s (sightings {seeding['sightings_s']:.0f} s, "
            f"VACUUM (FREEZE, ANALYZE) {seeding['total_s'] - seeding['load_s']:.0f} s)"
        )
    with ExitStack() as stack:
        run_url = database.create_run_database(admin_url)
        stack.callback(database.drop_run_database, admin_url)
        keys = database.issue_keys(run_url)
        counts = seed.counts(run_url)
        app_env = {**APP_ENV, **dict(pair.split("=", 1) for pair in args.env)}
        threads = app_env.get(
            "GUNICORN_THREADS",
            os.environ.get("GUNICORN_THREADS", str(config.Settings.GUNICORN_THREADS)),
        )
        host = machine.facts()
        busy = machine.busy_fraction()
        header = [
            f"Narrative Tracker benchmark, {stamp}",
            f"machine: {host['cores']} cores (nproc), {host['memory']}, {host['cpu']}, "
            f"Python {host['python']}",
            f"PostgreSQL {facts['server_version']} ({source}); shared_buffers "
            f"{facts['shared_buffers']}, synchronous_commit {facts['synchronous_commit']}, "
            f"max_wal_size {facts['max_wal_size']}, wal_compression {facts['wal_compression']}",
            f"apps: service and bare under gunicorn, service.gunicorn_conf "
            f"({threads} thread(s)); peer under uvicorn "
            f"(uvloop, httptools); {args.workers} workers each, same pool settings; "
            + " ".join(f"{k}={v}" for k, v in app_env.items()),
            f"load: {generator_name}, {args.connections} connections, {args.threads} threads; "
            f"{args.warmup} s warm-up + {args.duration} s measured, {args.rounds} round(s) per "
            "app and path, in rotation; the best round shown",
            f"data: {counts['sightings']:,} sightings, {counts['narratives']:,} narratives, "
            f"{counts['rebuttals']:,} rebuttals ({counts['rebuttal_narratives']:,} links); "
            "a fresh copy per run",
            "before the run, other processes used "
            + (f"{busy:.0%} of the machine" if busy is not None else "an unknown share of it"),
        ]
        for line in header:
            say(line)
        log_dir = RESULTS_DIR / f"logs-{stamp}"
        running = {
            name: stack.enter_context(
                servers.serve(
                    name, run_url, workers=args.workers, log=log_dir / f"{name}.log", env=app_env
                )
            )
            for name in servers.APPS
        }
        for line in _same_answers(running, paths, keys=keys, stamp=stamp):
            header.append(line)
            say(line)
        postmaster = database.postmaster_pid(admin_url)
        roots = [os.getpid()] + ([postmaster] if postmaster else [])
        rounds: dict[str, dict[str, list[Result]]] = {}
        for path in paths:
            rounds[path.key] = {name: [] for name in servers.APPS}
            for number in range(args.rounds):
                first = number % len(servers.APPS)  # each app in turn measured first
                names = list(servers.APPS)
                for name in names[first:] + names[:first]:
                    tag = f"{stamp}-{path.key}-{name}-{number}"
                    rounds[path.key][name].append(
                        _measure(
                            running[name],
                            path,
                            args,
                            generator,
                            run_url=run_url,
                            keys=keys,
                            tag=tag,
                            roots=roots,
                        )
                    )
        memory = _memory(running)
        header.append(
            "memory: RSS per worker after the run, the largest of each app's: "
            + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in memory.items() if mib)
            + " (target: the service's at most 80 MiB)"
        )
    shutil.rmtree(log_dir, ignore_errors=True)  # kept only when the run fails
    figures = {
        key: {app: report.best(results) for app, results in apps.items()}
        for key, apps in rounds.items()
    }
    say("")
    for line in [*header, "", *report.table(paths, figures)]:
        say(line)
    elapsed = time.monotonic() - started
    seeded = f"{seeding['total_s']:.0f} s" if seeding else "reused the kept seed database"
    say(
        f"\nseeding: {seeded}; whole run {elapsed:.0f} s, of which after seeding "
        f"{elapsed - (seeded_at - started):.0f} s"
    )
    target = report.write_json(
        {
            "started_at": stamp,
            "header": header,
            "machine": {**host, "busy_before": busy},
            "postgres": {**facts, "source": source},
            "settings": {**vars(args), "generator": generator_name},
            "data": counts,
            "memory_mib": memory,
            "seeding_s": seeding,
            "elapsed_s": round(elapsed, 1),
            "paths": {path.key: report.path_document(path, rounds[path.key]) for path in paths},
        },
        stamp,
    )
    say(f"figures: {target.relative_to(RESULTS_DIR.parent.parent)}")
    return 0


def _memory(running: dict[str, servers.Server]) -> dict[str, float | None]:
    """Each app's largest worker RSS (MiB), read once every path has been measured."""
    return {
        name: max(
            (mib for pid in servers.worker_pids(server) if (mib := machine.rss_mib(pid))),
            default=None,
        )
        for name, server in running.items()
    }


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
