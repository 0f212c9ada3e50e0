"""One JSON access line per request (the app writes it, not gunicorn: it knows the request id
and the key), with method, path, status, duration and size."""

import logging
import time

from flask import Flask, Response, g, request

ACCESS = logging.getLogger("narratives.access")


def _access(response: Response) -> Response:
    started = g.get("started")
    key = g.get("api_key")
    ACCESS.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "key": key["name"] if key else None,
            "remote_addr": request.remote_addr,
            "bytes": response.calculate_content_length(),
        },
    )
    return response


def init_app(app: Flask) -> None:
    if app.config["ACCESS_LOG"]:
        app.after_request(_access)
