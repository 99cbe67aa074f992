"""Where one API request's time goes, stage by stage.

``python -m tools.bench.profile_api [--runs N] [--cprofile]`` starts an OpenBao (as ``make bench``
does), a fresh SQLite database and Django in this process, and sends requests straight to
the WSGI application gunicorn serves (no socket: the HTTP hop is the bench's floor row):

* ``GET /api/v1/orgs/{orgId}/secrets/{id}`` with a bearer token (a read of values), and
* ``POST /api/v1/orgs/{orgId}/secrets`` (a create).

Each stage's time is measured by a timer wrapped around the function that does it, per
request (median), with the number of SQL statements. "Framework and middleware" is the
rest: Django's handler and middleware, URL resolution, DRF's request set-up and response.
``--cprofile`` also prints the functions with the most own time (names only; a profile
never holds request or response bodies). Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.devstack.openbao import OpenBao

# (stage, module, attribute path, parent stage): the function whose inclusive time is the
# stage's. A stage with children is shown as its own time (less its children's).
Stage = tuple[str, str, str, str | None]
READ_STAGES: list[Stage] = [
    ("authentication", "rest_framework.request", "Request._authenticate", None),
    ("membership + role", "orgs.scoping", "resolve_membership", None),
    ("index lookup", "secrets_app.selectors", "secret_get", None),
    ("index lookup", "secrets_app.selectors", "secret_row", None),
    ("reveal (own work)", "secrets_app.values", "reveal", None),
    ("Vault call", "secrets_app.vault", "read", "reveal (own work)"),
    ("audit write", "audit.services", "record", "reveal (own work)"),
    (
        "serialisation",
        "rest_framework.serializers",
        "Serializer.to_representation",
        None,
    ),
    ("serialisation", "secrets_app.api.views", "secret_item_data", None),
    ("JSON rendering", "rest_framework.renderers", "JSONRenderer.render", None),
]
CREATE_STAGES: list[Stage] = [
    ("authentication", "rest_framework.request", "Request._authenticate", None),
    ("membership + role", "orgs.scoping", "resolve_membership", None),
    ("body parsing + validation", "rest_framework.serializers", "BaseSerializer.is_valid", None),
    ("create: type checks", "secrets_app.services", "secret_create", None),
    ("Vault call", "secrets_app.vault", "write", "create: type checks"),
    ("index rows", "secrets_app.index", "index_upsert", "create: type checks"),
    ("audit row", "secrets_app.writes", "record", "create: type checks"),
    (
        "serialisation",
        "rest_framework.serializers",
        "Serializer.to_representation",
        None,
    ),
    ("serialisation", "secrets_app.api.views", "secret_created_data", None),
    ("JSON rendering", "rest_framework.renderers", "JSONRenderer.render", None),
]


@dataclass(frozen=True)
class Options:
    runs: int
    cprofile: bool
    sql: bool


class Timers:
    """Inclusive time of wrapped functions, per request."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.depth: dict[str, int] = defaultdict(int)
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.queries = 0
        self.query_samples: list[int] = []
        self.statements: list[str] = []

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth[stage]:
                return fn(*args, **kwargs)  # a nested call: the outer one counts it
            self.depth[stage] += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[stage] += time.perf_counter() - started
                self.depth[stage] -= 1

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    def end_request(self, total: float, stages: list[Stage]) -> None:
        took = self.current
        parents = {name: parent for name, _, _, parent in stages}
        for name in parents:
            children = sum(
                took.get(child, 0.0) for child, parent in parents.items() if parent == name
            )
            self.samples[name].append(took.get(name, 0.0) - children)
        self.samples["total"].append(total)
        top = sum(took.get(name, 0.0) for name, parent in parents.items() if parent is None)
        self.samples["framework and middleware"].append(total - top)
        self.query_samples.append(self.queries)
        self.current.clear()
        self.queries = 0

    def count_query(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        self.statements.append(sql)  # the statement only: parameters stay out of reports
        return execute(sql, params, many, context)


@contextmanager
def patched(timers: Timers, stages: list[Stage]) -> Iterator[None]:
    import importlib

    undo = []
    for stage, module_name, attribute, _ in stages:
        module = importlib.import_module(module_name)
        owner: Any = module
        *parents, name = attribute.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        if name not in vars(owner):
            continue  # the code no longer has this step
        original = vars(owner)[name]
        setattr(owner, name, timers.wrap(stage, original))
        undo.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def environ(method: str, path: str, token: str, body: bytes = b"") -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT": "application/json",
        "CONTENT_TYPE": "application/json" if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def send(app: Any, env: dict[str, Any]) -> tuple[int, bytes]:
    """One request through the WSGI application: (status code, body)."""
    status: list[str] = []

    def start_response(s: str, headers: Any, exc_info: Any = None) -> None:
        status.append(s)

    body = app(env, start_response)
    content = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return int(status[0].split()[0]), content


def call(app: Any, env: dict[str, Any]) -> int:
    return send(app, env)[0]


def report(title: str, timers: Timers, stages: list[str]) -> None:
    def ms(stage: str) -> float:
        return statistics.median(timers.samples[stage]) * 1000

    total = ms("total")
    print(f"\n{title} (median of {len(timers.samples['total'])} requests, in-process)")
    print("| stage | ms | share |")
    print("| --- | ---: | ---: |")
    for stage in [*stages, "framework and middleware", "total"]:
        print(f"| {stage} | {ms(stage):.2f} | {ms(stage) / total:.0%} |")
    print(f"SQL statements per request: {statistics.median(timers.query_samples):.0f}")


def top_functions(profile: cProfile.Profile, limit: int = 40) -> None:
    """The functions with the most own time, then the most inclusive time."""
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(limit)
        print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile")
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ps-profile-") as tmp:
        work = Path(tmp)
        bao = OpenBao(work / "vault")
        bao.start_ready()
        try:
            os.environ.update(
                {
                    "DATA_DIR": str(work / "data"),
                    "VAULT_ADDR": bao.addr,
                    "VAULT_TOKEN": bao.configure_app(),
                    "LOG_LEVEL": "WARNING",
                    "DJANGO_SETTINGS_MODULE": "pipeline_secrets.settings",
                }
            )
            os.environ.pop("DATABASE_URL", None)
            run(Options(runs=args.runs, cprofile=args.cprofile, sql=args.sql))
        finally:
            bao.stop()
    return 0


def start_app() -> tuple[Any, str, str]:
    """Django set up in this process on a fresh database, with an org and a token:
    (the WSGI application, the secrets URL of the org, the token)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", "--noinput", verbosity=0)
    out = io.StringIO()
    call_command("bootstrap", "--username", "profile", "--org", "profile", stdout=out)
    boot = json.loads(out.getvalue())
    return get_wsgi_application(), f"/api/v1/orgs/{boot['org_id']}/secrets", boot["token"]


def profile(title: str, fn: Callable[[int], int], stages: list[Stage], options: Options) -> None:
    """Time ``fn`` stage by stage over ``options.runs`` requests (after 20 warm-up ones) and
    print the table; with the options, also one request's SQL and a cProfile."""
    from django.db import connection

    names = list(dict.fromkeys(stage for stage, _, _, _ in stages))
    for i in range(20):
        assert fn(100_000 + i) in (200, 201)
    timers = Timers()
    with patched(timers, stages), connection.execute_wrapper(timers.count_query):
        for i in range(options.runs):
            started = time.perf_counter()
            assert fn(i) in (200, 201)
            timers.end_request(time.perf_counter() - started, stages)
    report(title, timers, names)
    if options.sql:
        timers.statements.clear()
        with connection.execute_wrapper(timers.count_query):
            fn(300_000)
        print("\n".join(f"  {sql[:160]}" for sql in timers.statements))
    if options.cprofile:
        cprofile = cProfile.Profile()
        cprofile.enable()
        for i in range(options.runs):
            fn(200_000 + i)
        cprofile.disable()
        top_functions(cprofile)


def run(options: Options) -> None:
    app, base, token = start_app()

    def create(i: int) -> int:
        body = {"name": f"profile-{i}", "type": "generic", "values": {"k": "v"}}
        body["tags"] = ["profile:create"]
        return call(app, environ("POST", base, token, json.dumps(body).encode()))

    body = json.dumps({"name": "profile-read", "type": "password", "values": {"username": "u"}})
    secret_id = json.loads(send(app, environ("POST", base, token, body.encode()))[1])["id"]
    read_path = f"{base}/{secret_id}"

    def read(_: int) -> int:
        return call(app, environ("GET", read_path, token))

    profile("API read of one secret with values", read, READ_STAGES, options)
    profile("API create", create, CREATE_STAGES, options)


if __name__ == "__main__":
    raise SystemExit(main())
