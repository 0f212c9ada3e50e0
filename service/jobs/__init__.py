"""Background jobs: work the API must not do on its request path.

A job is a function of a connection and the settings, registered beside its feature with
`@job(name, every=...)`; the worker (`service/jobs/worker.py`) is a loop over the registry that
runs each job when it is due. Several workers may run: each job round holds an advisory lock of
its own, so one worker runs it while the others skip it. A feature with jobs lists its module
in MODULES, the one place the worker learns of it (tests/test_worker.py fails on a job module
missing from it).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from psycopg import Connection

from service.config import Settings

# Modules whose @job functions the worker runs.
MODULES = (
    "service.jobs.housekeeping",
    "service.jobs.matching",
    "service.jobs.stats",
    "service.jobs.webhooks",
)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Connection, Settings], dict[str, Any] | None]
    every: Callable[[Settings], float]  # seconds between rounds, from the settings
    # An exclusive job's round runs in one transaction under its advisory lock, on one worker
    # at a time. A shared one (webhook delivery) runs on every worker at once, on an autocommit
    # connection, and must make its own claims (FOR UPDATE SKIP LOCKED).
    exclusive: bool = True

    @property
    def lock_key(self) -> int:
        """This job's advisory lock: a signed 64-bit number derived from its name."""
        digest = hashlib.sha256(f"narratives.job:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


# A round's outcome holding this key, true, says work is left: the worker runs the job again
# once the other due jobs have had their turn, instead of waiting its interval.
MORE = "more"

_REGISTRY: dict[str, Job] = {}


def job(name: str, *, every: Callable[[Settings], float], exclusive: bool = True):
    """Register the decorated function as a job that runs every `every(settings)` seconds."""

    def register(run: Callable[[Connection, Settings], dict[str, Any] | None]):
        if name in _REGISTRY and _REGISTRY[name].run is not run:
            raise ValueError(f"two jobs are named {name!r}")
        _REGISTRY[name] = Job(name, run, every, exclusive)
        return run

    return register


def registry() -> list[Job]:
    """Every registered job, its module imported first."""
    for module in MODULES:
        import_module(module)
    return sorted(_REGISTRY.values(), key=lambda registered: registered.name)
