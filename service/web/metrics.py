"""Prometheus metrics at /metrics: requests and latency by route and status, database pool
usage, sightings ingested.

Under gunicorn every worker is its own process, so the counters live in prometheus_client's
multiprocess files (PROMETHEUS_MULTIPROC_DIR, set up by service/gunicorn_conf.py) and a scrape of
any worker sums all of them. Without that variable (tests, one process) the default registry is
used.
"""

import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from service import db

REQUESTS = Counter(
    "narratives_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "narratives_http_request_duration_seconds",
    "Time to answer a request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POOL = Gauge(
    "narratives_db_pool_connections",
    "Database pool connections across workers, by state.",
    ["state"],
    multiprocess_mode="livesum",
)
INGESTED = Counter(
    "narratives_sightings_ingested_total", "Sightings posted, by outcome.", ["result"]
)

_POOL_EVERY_SECONDS = 1.0
_last_pool_sample = 0.0


def record_ingest(created: int = 0, duplicate: int = 0, invalid: int = 0) -> None:
    for result, n in (("created", created), ("duplicate", duplicate), ("invalid", invalid)):
        if n:
            INGESTED.labels(result).inc(n)


# Every label value comes from a fixed set, whatever clients send: an invented method or a
# random path must not mint a new time series (each one costs memory in every worker and in
# Prometheus, and time at every scrape).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "<unmatched>"


def _labels(status: int) -> tuple[str, str, str]:
    method = request.method if request.method in _METHODS else OTHER_METHOD
    rule = request.url_rule.rule if request.url_rule else UNMATCHED_ROUTE
    # Statuses are the app's own, but keep the label to the three digits HTTP allows.
    return method, rule, str(status) if 100 <= status <= 599 else "other"


def _observe(response: Response) -> Response:
    started = g.get("started")
    method, rule, status = _labels(response.status_code)
    REQUESTS.labels(method, rule, status).inc()
    if started is not None:
        LATENCY.labels(method, rule).observe(time.perf_counter() - started)
    _sample_pool()
    return response


def _sample_pool() -> None:
    global _last_pool_sample
    now = time.monotonic()
    if now - _last_pool_sample < _POOL_EVERY_SECONDS:
        return
    _last_pool_sample = now
    stats = current_app.extensions[db.EXTENSION].pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    POOL.labels("open").set(size)
    POOL.labels("in_use").set(size - available)
    POOL.labels("idle").set(available)
    POOL.labels("waiting").set(stats.get("requests_waiting", 0))


def exposition() -> Response:
    if current_app.config["PROMETHEUS_MULTIPROC_DIR"]:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    _sample_pool()
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.after_request(_observe)
