"""Load and failure injection against a running ScaleStack (tools.devstack.scale): concurrent
clients through the load balancer, a timeline of every request, and the check that every
acknowledged create can be read back. Used by ``make bench-scale`` and the zero-loss test.

Nothing here asserts speed; ``lost`` (acknowledged creates that cannot be read back with
the values sent) is the correctness figure.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tools.devstack.base import local_session
from tools.devstack.proc import REPO_ROOT, manage_command


@dataclass(frozen=True)
class Call:
    started: float
    ended: float
    ok: bool
    status: int  # 0: no HTTP answer


@dataclass
class Tenant:
    """An org and an API token on the stack, made with ``manage.py bootstrap``."""

    base_url: str
    org_id: int
    token: str

    @property
    def secrets_url(self) -> str:
        return f"{self.base_url}/api/v1/orgs/{self.org_id}/secrets"

    def session(self) -> requests.Session:
        session = local_session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def bootstrap(base_url: str, env: dict[str, str], org: str = "load") -> Tenant:
    result = subprocess.run(
        manage_command("bootstrap", "--username", f"{org}-admin", "--org", org),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Tenant(base_url=base_url, org_id=int(data["org_id"]), token=str(data["token"]))


@dataclass
class Load:
    """``clients`` threads repeating one kind of request until stop(); every request is
    recorded on the timeline, every acknowledged create in ``acknowledged``."""

    tenant: Tenant
    clients: int
    kind: str  # "create" or "read"
    read_ids: list[str] = field(default_factory=list)
    timeout: float = 30.0
    calls: list[Call] = field(default_factory=list)
    acknowledged: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> values
    # The first answer body seen per failing status (problem documents carry no values).
    samples: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.clients)
        for index in range(self.clients):
            self._pool.submit(self._client, index)

    def stop(self) -> None:
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def run_for(self, seconds: float) -> None:
        self.start()
        time.sleep(seconds)
        self.stop()

    def _client(self, index: int) -> None:
        session = self.tenant.session()
        counter = itertools.count()
        while not self._stop.is_set():
            number = next(counter)
            if self.kind == "create":
                self._create(session, index, number)
            else:
                self._read(session, self.read_ids[(index * 7919 + number) % len(self.read_ids)])

    def _record(self, started: float, ok: bool, status: int) -> None:
        with self._lock:
            self.calls.append(Call(started, time.monotonic(), ok, status))

    def _create(self, session: requests.Session, index: int, number: int) -> None:
        values = {"value": uuid.uuid4().hex}
        body = {"name": f"c{index}-{number}-{uuid.uuid4().hex[:8]}", "type": "generic"}
        body["values"] = values  # type: ignore[assignment]
        started = time.monotonic()
        try:
            response = session.post(self.tenant.secrets_url, json=body, timeout=self.timeout)
        except requests.RequestException:
            self._record(started, False, 0)
            return
        ok = response.status_code == 201
        if not ok and response.status_code not in self.samples:
            self.samples[response.status_code] = response.text[:300]
        if ok:
            with self._lock:
                self.acknowledged[str(response.json()["id"])] = values
        self._record(started, ok, response.status_code)

    def _read(self, session: requests.Session, secret_id: str) -> None:
        started = time.monotonic()
        try:
            response = session.get(f"{self.tenant.secrets_url}/{secret_id}", timeout=self.timeout)
        except requests.RequestException:
            self._record(started, False, 0)
            return
        self._record(started, response.status_code == 200, response.status_code)

    # ----------------------------------------------------------------- figures

    @property
    def failed(self) -> int:
        return sum(1 for call in self.calls if not call.ok)

    def per_second(self) -> float:
        if not self.calls:
            return 0.0
        span = max(c.ended for c in self.calls) - min(c.started for c in self.calls)
        return sum(1 for c in self.calls if c.ok) / span if span > 0 else 0.0

    def failure_window(self) -> float:
        """The longest time during which requests failed: from the start of the first
        failed request of a run of failures (in completion order) to the end of the last
        one; 0.0 when none failed."""
        longest = 0.0
        run_start: float | None = None
        run_end = 0.0
        for call in sorted(self.calls, key=lambda c: c.ended):
            if not call.ok:
                run_start = call.started if run_start is None else min(run_start, call.started)
                run_end = call.ended
            elif run_start is not None:
                longest = max(longest, run_end - run_start)
                run_start = None
        if run_start is not None:
            longest = max(longest, run_end - run_start)
        return longest

    def slowest(self) -> float:
        return max((c.ended - c.started for c in self.calls), default=0.0)

    def statuses(self) -> dict[int, int]:
        found: dict[int, int] = {}
        for call in self.calls:
            if not call.ok:
                found[call.status] = found.get(call.status, 0) + 1
        return found


def lost_writes(tenant: Tenant, acknowledged: dict[str, dict[str, str]]) -> list[str]:
    """Ids of acknowledged creates that cannot be read back with the values sent (each read
    is retried for a while, so a slow recovery is not counted as a loss)."""
    session = tenant.session()

    def missing(item: tuple[str, dict[str, str]]) -> str | None:
        secret_id, values = item
        deadline = time.monotonic() + 60
        while True:
            try:
                response = session.get(f"{tenant.secrets_url}/{secret_id}", timeout=30)
                if response.status_code == 200:
                    return None if response.json().get("values") == values else secret_id
                if response.status_code == 404:
                    return secret_id
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                return secret_id
            time.sleep(0.5)

    with ThreadPoolExecutor(8) as pool:
        return [found for found in pool.map(missing, acknowledged.items()) if found]


def under_load(load: Load, before: float, event: Callable[[], None], after: float) -> None:
    """Run ``load``; after ``before`` seconds call ``event`` (a kill, a restart); keep the
    load on for ``after`` more seconds."""
    load.start()
    try:
        time.sleep(before)
        event()
        time.sleep(after)
    finally:
        load.stop()
