"""The periodic work of every app, run by one command (``manage.py periodic``).

Each app registers its jobs in its ``AppConfig.ready()``; the command runs them in
registration order. A job takes the time of the round (injected, so tests never sleep)
and returns counts for the command's one-line report. Jobs must be safe when several
runners start at once (replicas, a CronJob): each item is claimed before it is worked on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

Job = Callable[[datetime], dict[str, int]]


@dataclass(frozen=True)
class Registered:
    name: str
    run: Job


_JOBS: list[Registered] = []


def register(name: str, job: Job) -> None:
    """Add ``job`` under ``name``; registering a name again replaces it (reloads, tests)."""
    for index, existing in enumerate(_JOBS):
        if existing.name == name:
            _JOBS[index] = Registered(name, job)
            return
    _JOBS.append(Registered(name, job))


def jobs() -> list[Registered]:
    return list(_JOBS)
