"""Schemathesis hooks, loaded into the schemathesis process by the contract fuzz test through
SCHEMATHESIS_HOOKS=reliability.st_hooks.

- The fuzzer must never revoke the key it runs with: `DELETE /v1/keys/{key_id}` is a real
  operation, and the stateful phase finds ids in `GET /v1/keys`. A call aimed at a protected key
  is redirected to a decoy key issued for the purpose.
- `POST /v1/sightings/import` takes NDJSON, which schemathesis cannot write by itself: the
  generated value (one sighting, or anything else) is sent as one JSON document per line.
- Every response is counted by status (and every 5xx kept with its request) in the JSON file
  named by RELIABILITY_ST_COUNTS, so the suite can report what was sent, not just what failed.
"""

import atexit
import json
import os
import threading
from collections import Counter

import schemathesis

_PROTECTED = {
    key_id for key_id in os.environ.get("RELIABILITY_PROTECTED_KEY_IDS", "").split(",") if key_id
}
_DECOY = os.environ.get("RELIABILITY_DECOY_KEY_ID", "")
_OUT = os.environ.get("RELIABILITY_ST_COUNTS", "")

_lock = threading.Lock()
_statuses: Counter = Counter()
_server_errors: list[dict] = []
_network_errors = 0
_redirected = 0


@schemathesis.serializer("application/x-ndjson")
def ndjson(_context, value):
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()


@schemathesis.hook
def before_call(context, case, kwargs):
    global _redirected
    parameters = case.path_parameters
    if parameters and str(parameters.get("key_id")) in _PROTECTED:
        parameters["key_id"] = _DECOY
        with _lock:
            _redirected += 1


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _statuses[response.status_code] += 1
        if response.status_code >= 500 and len(_server_errors) < 50:
            _server_errors.append(
                {
                    "method": case.method,
                    "path": case.formatted_path,
                    "query": case.query,
                    "status": response.status_code,
                    "body": response.content[:500].decode("utf-8", "replace"),
                }
            )


@schemathesis.hook
def after_network_error(context, case, request):
    global _network_errors
    with _lock:
        _network_errors += 1


@atexit.register
def _write() -> None:
    if not _OUT:
        return
    with _lock:
        report = {
            "statuses": {str(status): count for status, count in sorted(_statuses.items())},
            "server_errors": _server_errors,
            "network_errors": _network_errors,
            "redirected_key_calls": _redirected,
        }
    with open(_OUT, "w", encoding="utf-8") as out:
        json.dump(report, out, indent=1, default=str)
