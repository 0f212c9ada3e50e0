"""Structured logs for every process (API, worker, commands, gunicorn itself): one JSON object
per line, with the request id when there is a request."""

import json
import logging
import sys
from datetime import UTC, datetime

from flask import g, has_request_context
from gunicorn.glogging import Logger

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


# json.dumps escapes only C0 controls; these others end a line for some readers (Python's
# str.splitlines, JavaScript, many log shippers), so a hostile path could split one entry into
# two. As JSON escapes they read back as the same text.
_LINE_BREAKERS = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029)}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and g.get("request_id"):
            entry["request_id"] = g.request_id
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False).translate(_LINE_BREAKERS)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of writing (test runners swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class GunicornLogger(Logger):
    """gunicorn's logger without its access line: the app writes its own (service.web.access),
    and gunicorn, once logging is configured by a dict, builds its line's atoms for every request
    (every environ variable among them) before a silenced logger drops it: about 2 % of a
    worker's time on a page of sightings (py-spy). gunicorn's `access` and its workers ask this
    property before building anything."""

    @property
    def access_log_enabled(self) -> bool:
        return False


def configure(level: str) -> None:
    """JSON lines on stderr for the app's loggers (and gunicorn's, via gunicorn_conf)."""
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    # Replace our own handler (an app created twice) but keep others (a test runner's capture).
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, StderrHandler)] + [handler]
    root.setLevel(level.upper())
