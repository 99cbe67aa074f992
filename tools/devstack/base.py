"""What the local servers here share: their error, the default start-up timeout, HTTP
sessions and environments for processes on 127.0.0.1.

Imports nothing from Django, so ``make run``, pytest fixtures and benchmarks can use it
before (or without) Django settings.
"""

from __future__ import annotations

import os

import requests

DEFAULT_TIMEOUT = 60.0


class StackError(RuntimeError):
    """A local service could not be found, started, configured or stopped."""


def local_session() -> requests.Session:
    """An HTTP session for servers on 127.0.0.1: it ignores proxy settings (HTTP_PROXY and
    friends) and netrc from the environment, which must not apply to local servers."""
    session = requests.Session()
    session.trust_env = False
    return session


def scrubbed_env(prefixes: tuple[str, ...]) -> dict[str, str]:
    """The current environment without variables starting with any of ``prefixes``."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
