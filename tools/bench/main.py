"""``make bench``: the product's speed against baselines measured in the same run.

Everything runs on this machine against one real OpenBao: the API through gunicorn (one
worker, as ``make run`` serves it) with token auth, the baselines with raw hvac, the
original product's method, or the command-line programs. Each row prints medians and the
ratio ours/baseline (for "faster than" rows, baseline/ours). Nothing here is a test: rows
report what they measured, including misses.

``tools/bench.py [ROW ...]`` measures only the named rows (``make bench ROWS="read create"``):
read, create, throughput, tags, install, dashboard, lifecycle, memory, types. The read,
create and throughput rows compare within their own run, so a subset is as fair as the whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import hvac
import psutil
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.bench.report import Row, interleaved_medians, median_ms, print_table  # noqa: E402
from tools.devstack.openbao import OpenBao  # noqa: E402
from tools.devstack.proc import free_port, gunicorn_command, terminate, wait_for  # noqa: E402

SEED_SECRETS = int(os.environ.get("BENCH_SEED", "10000"))
TAG_HITS = 100
INSTALL_COUNT = 100
# The throughput row: this many clients at once, each reading in a loop, for this long.
THROUGHPUT_CLIENTS = 16
THROUGHPUT_SECONDS = 20.0
# gunicorn options of the measured servers: one worker (the default), warnings only.
QUIET = ("--log-level", "warning")


def _setup_django() -> None:
    """Django in this process, on the same database and Vault as the served app."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_secrets.settings")
    django.setup()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


class Bench:
    """Starts OpenBao and the app, seeds data, and measures each row."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.bao = OpenBao(work / "vault")
        self.port = free_port()
        self.rows: list[Row] = []
        self.app: subprocess.Popen[bytes] | None = None
        self.read_target: tuple[str, str] | None = None
        # The read rows' medians (ours, floor, raw), for the create row's HTTP hop.
        self.read_ms: dict[str, float] | None = None

    # ------------------------------------------------------------------ set-up
    def start(self) -> None:
        self.bao.start_ready()
        token = self.bao.configure_app()
        self.env = {
            **os.environ,
            "DATA_DIR": str(self.work / "data"),
            "VAULT_ADDR": self.bao.addr,
            "VAULT_TOKEN": token,
            "LOG_LEVEL": "WARNING",
        }
        self.env.pop("DATABASE_URL", None)
        os.environ.update(
            {
                k: v
                for k, v in self.env.items()
                if k in {"DATA_DIR", "VAULT_ADDR", "VAULT_TOKEN", "LOG_LEVEL"}
            }
        )
        self.manage("migrate", "--noinput", quiet=True)
        self.manage("collectstatic", "--noinput", quiet=True)
        boot = json.loads(self.manage("bootstrap", "--username", "bench", "--org", "bench"))
        self.org_id, self.token = boot["org_id"], boot["token"]
        self.app = subprocess.Popen(
            gunicorn_command(self.port, options=QUIET), cwd=ROOT, env=self.env
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        wait_for(self._up, 60, "gunicorn")
        # The raw client skips proxy and netrc look-ups, as the floor and the product do.
        raw_session = requests.Session()
        raw_session.trust_env = False
        self.raw = hvac.Client(url=self.bao.addr, token=token, session=raw_session)

    def _up(self) -> bool:
        try:
            return requests.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def manage(self, *args: str, quiet: bool = False) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return "" if quiet else out.stdout.strip()

    def stop(self) -> None:
        terminate(self.app)
        self.bao.stop()

    def url(self, path: str) -> str:
        return f"{self.base}/api/v1/orgs/{self.org_id}/{path}"

    # ------------------------------------------------------------------ rows
    def row_read(self) -> None:
        """The API read against the floor (the same Vault read behind a bare WSGI app on the
        same server), and the floor against a raw hvac read; the three interleaved."""
        secret_id, path = self._read_secret()
        kv = self.raw.secrets.kv.v2

        def ours(_: int) -> None:
            self.http.get(self.url(f"secrets/{secret_id}")).raise_for_status()

        def base(_: int) -> None:
            kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)

        with (
            self._floor_server() as floor_url,
            self._floor_server("product_transport") as transport_floor_url,
        ):
            session = requests.Session()
            session.trust_env = False

            def floor(_: int) -> None:
                session.get(floor_url, params=path).raise_for_status()

            def transport_floor(_: int) -> None:
                session.get(transport_floor_url, params=path).raise_for_status()

            got = interleaved_medians(
                {"ours": ours, "floor": floor, "raw": base, "transport": transport_floor}, 300
            )
        self.read_ms = got
        self.rows.append(
            Row(
                "Floor: bare WSGI app on gunicorn doing only that Vault read, vs raw hvac",
                got["floor"],
                got["raw"],
                "reference (not a target)",
                True,
            )
        )
        self.rows.append(
            Row(
                "API read of one secret (values) vs the floor",
                got["ours"],
                got["floor"],
                "ratio <= 1.35",
                got["ours"] / got["floor"] <= 1.35,
            )
        )
        self.rows.append(
            Row(
                "API read vs the floor app reading through the product's Vault transport",
                got["ours"],
                got["transport"],
                "reported (the product's share without the client's)",
                True,
            )
        )

    @contextmanager
    def _floor_server(self, app: str = "application") -> Iterator[str]:
        """A floor app (tools/bench_floor.py) served as the product is; yields its URL."""
        port = free_port()
        env = {**self.env, "PYTHONPATH": str(ROOT)}
        floor = subprocess.Popen(
            gunicorn_command(port, app=f"tools.bench.floor:{app}", options=QUIET),
            cwd=ROOT,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for(lambda: _answers(url), 60, "the floor app")
            yield url
        finally:
            terminate(floor)

    def _read_secret(self) -> tuple[str, str]:
        """The secret the read rows read: (secretId, its Vault path)."""
        if self.read_target is None:
            created = self.http.post(
                self.url("secrets"),
                json={"name": "bench-read", "type": "password", "values": {"username": "u"}},
            )
            created.raise_for_status()
            secret_id = created.json()["id"]
            self.read_target = (secret_id, f"orgs/{self.org_id}/{secret_id}")
        return self.read_target

    def row_throughput(self) -> None:
        """Reads per second with THROUGHPUT_CLIENTS clients at once: the API against raw
        OpenBao reads, each client a thread with its own keep-alive connection."""
        secret_id, path = self._read_secret()
        url = self.url(f"secrets/{secret_id}")
        token = self.token

        def api_client() -> Callable[[], object]:
            session = requests.Session()
            session.trust_env = False
            session.headers["Authorization"] = f"Bearer {token}"
            return lambda: session.get(url).raise_for_status()

        def raw_client() -> Callable[[], object]:
            session = requests.Session()
            session.trust_env = False
            kv = hvac.Client(url=self.bao.addr, token=self.raw.token, session=session).secrets.kv.v2
            return lambda: kv.read_secret_version(
                path=path, mount_point="secret", raise_on_deleted_version=True
            )

        ours = _per_second(api_client, THROUGHPUT_CLIENTS, THROUGHPUT_SECONDS)
        base = _per_second(raw_client, THROUGHPUT_CLIENTS, THROUGHPUT_SECONDS)
        self.rows.append(
            Row(
                f"Throughput, {THROUGHPUT_CLIENTS} concurrent clients for "
                f"{THROUGHPUT_SECONDS:.0f} s: API reads/s vs raw OpenBao reads/s",
                None,
                None,
                "reported (share of raw)",
                True,
                note=f"{ours:.0f}/s vs {base:.0f}/s ({ours / base:.2f} of raw)",
            )
        )

    def row_create(self) -> None:
        kv = self.raw.secrets.kv.v2

        def ours(i: int) -> None:
            self.http.post(
                self.url("secrets"),
                json={
                    "name": f"bench-create-{i + 10}",
                    "type": "generic",
                    "values": {"k": "v"},
                    "tags": ["bench:create"],
                },
            ).raise_for_status()

        def base(i: int) -> None:
            kv.create_or_update_secret(
                path=f"orgs/{self.org_id}/raw-{i + 10}",
                secret={
                    "name": f"raw-{i}",
                    "type": "generic",
                    "values": {"k": "v"},
                    "tags": ["bench:create"],
                    "updatedBy": "bench",
                },
                cas=0,
                mount_point="secret",
            )

        got = interleaved_medians({"ours": ours, "raw": base}, 200)
        if self.read_ms is None:
            self.row_read()  # the HTTP hop comes from the read rows of this run
        assert self.read_ms is not None
        hop = self.read_ms["floor"] - self.read_ms["raw"]
        baseline = got["raw"] + hop
        self.rows.append(
            Row(
                "API create vs raw hvac KV v2 write (cas=0) + the floor's HTTP hop "
                f"({got['raw']:.2f} + {hop:.2f} ms)",
                got["ours"],
                baseline,
                "ratio <= 1.5",
                got["ours"] / baseline <= 1.5,
            )
        )

    def seed(self) -> None:
        _setup_django()
        from orgs.models import Organization, User
        from secrets_app.services import secret_create
        from secrets_app.types import Context

        org = Organization.objects.get(pk=self.org_id)
        user = User.objects.get(username="bench")
        ctx = Context(verify_remote=False)
        start = time.perf_counter()
        for i in range(SEED_SECRETS):
            tags = ["team:hit"] if i % (SEED_SECRETS // TAG_HITS) == 0 else [f"team:{i % 37}"]
            secret_create(
                actor=user,
                organization=org,
                name=f"seed-{i:05d}",
                type="generic",
                values={"k": f"v{i}"},
                tags=[*tags, "bench:seed"],
                ctx=ctx,
            )
        print(f"seeded {SEED_SECRETS} secrets in {time.perf_counter() - start:.0f} s", flush=True)

    def row_tag_query(self) -> None:
        self.seed()

        def ours(_: int) -> None:
            got = self.http.get(self.url("secrets"), params={"tag": "team:hit"})
            got.raise_for_status()
            assert len(got.json()) == TAG_HITS

        kv = self.raw.secrets.kv.v2

        def original(_: int) -> None:
            keys = kv.list_secrets(path=f"orgs/{self.org_id}", mount_point="secret")["data"]["keys"]
            hits = 0
            for key in keys:
                doc = kv.read_secret_version(
                    path=f"orgs/{self.org_id}/{key}",
                    mount_point="secret",
                    raise_on_deleted_version=True,
                )["data"]["data"]
                hits += "team:hit" in (doc.get("tags") or [])
            assert hits == TAG_HITS

        o = median_ms(ours, 50)
        b = median_ms(original, 3, warmup=0)
        self.rows.append(
            Row(
                f"Tag query, {TAG_HITS} of {SEED_SECRETS} secrets, vs LIST + read all (original)",
                o,
                b,
                ">= 100x faster and < 50 ms",
                b / o >= 100 and o < 50,
                note=f"{b / o:.0f}x faster",
            )
        )

    def row_install(self) -> None:
        from kubernetes import client as kube_client
        from kubernetes import config as kube_config

        from tools.devstack.kube.controlplane import ControlPlane

        cp = ControlPlane(self.work / "kube")
        cp.start()
        try:
            kubeconfig = cp.admin_kubeconfig()
            created = self.http.post(
                self.url("clusters"), json={"name": "bench", "kubeconfig": kubeconfig}
            )
            created.raise_for_status()
            cluster_id = created.json()["id"]
            for i in range(INSTALL_COUNT):
                self.http.post(
                    self.url("secrets"),
                    json={
                        "name": f"inst-{i:03d}",
                        "type": "generic",
                        "values": {"USER": f"u{i}", "PASSWORD": f"p{i}"},
                        "tags": ["bench:install"],
                    },
                ).raise_for_status()
            counter = iter(range(1000))

            def ours(_: int) -> None:
                got = self.http.post(
                    self.url(f"clusters/{cluster_id}/secrets"),
                    json={"namespace": f"ours-{next(counter)}", "query": {"tag": "bench:install"}},
                )
                got.raise_for_status()
                assert all(item["status"] == "installed" for item in got.json())

            api = kube_config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
            core = kube_client.CoreV1Api(api)

            def base(_: int) -> None:
                namespace = f"base-{next(counter)}"
                core.create_namespace(
                    kube_client.V1Namespace(metadata=kube_client.V1ObjectMeta(name=namespace))
                )
                for i in range(INSTALL_COUNT):
                    core.create_namespaced_secret(
                        namespace,
                        kube_client.V1Secret(
                            metadata=kube_client.V1ObjectMeta(name=f"inst-{i:03d}"),
                            string_data={"USER": f"u{i}", "PASSWORD": f"p{i}"},
                        ),
                    )

            o = median_ms(ours, 5, warmup=1)
            b = median_ms(base, 5, warmup=1)
        finally:
            cp.stop()
        self.rows.append(
            Row(
                f"Install {INSTALL_COUNT} secrets into one namespace vs kubernetes client creates",
                o,
                b,
                "ratio <= 1.3 and < 2 s",
                o / b <= 1.3 and o < 2000,
            )
        )

    def row_dashboard(self) -> None:
        """Server time of the secrets list page of an org with 1,000 secrets (in-process)."""
        _setup_django()
        from django.test import Client

        from orgs.models import User
        from orgs.services import organization_create
        from secrets_app.services import secret_create
        from secrets_app.types import Context

        user = User.objects.get(username="bench")
        org = organization_create(actor=user, name="bench-dashboard", operator=True)
        for i in range(1000):
            secret_create(
                actor=user,
                organization=org,
                name=f"page-{i:04d}",
                type="generic",
                values={"k": "v"},
                tags=[f"team:{i % 7}"],
                ctx=Context(verify_remote=False),
            )
        client = Client()
        client.force_login(user)
        url = f"/orgs/{org.pk}/secrets/"

        def page(_: int) -> None:
            response = client.get(url)
            assert response.status_code == 200

        ours = median_ms(page, 50)
        self.rows.append(
            Row(
                "Dashboard secrets list, org with 1,000 secrets (server time)",
                ours,
                None,
                "< 150 ms",
                ours < 150,
            )
        )

    def row_lifecycle(self) -> None:
        """The periodic command with nothing due, and renewing certificates (in-process)."""
        _setup_django()
        from tools.bench import rows_lifecycle as bench_lifecycle

        self.rows.extend(bench_lifecycle.rows())

    def row_types(self) -> None:
        from tools.bench import rows_types as bench_types

        self.rows.extend(bench_types.rows())

    def row_memory(self) -> None:
        assert self.app is not None
        workers = psutil.Process(self.app.pid).children()
        rss = max(w.memory_info().rss for w in workers) / 2**20
        self.rows.append(
            Row(
                "Resident memory of one app worker after the run",
                None,
                None,
                "< 150 MB",
                rss < 150,
                note=f"{rss:.0f} MB",
            )
        )


def _per_second(
    make_client: Callable[[], Callable[[], object]], clients: int, seconds: float
) -> float:
    """Calls per second of ``clients`` threads, each calling its own client in a loop for
    ``seconds`` (after one warm-up call each). A failed call stops the row."""
    calls = [make_client() for _ in range(clients)]
    for call in calls:
        call()
    counts = [0] * clients
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def loop(index: int) -> None:
        start.wait()
        try:
            while not stop.is_set():
                calls[index]()
                counts[index] += 1
        except BaseException as exc:  # reported in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


ROWS = (
    "read",
    "create",
    "throughput",
    "tags",
    "install",
    "dashboard",
    "lifecycle",
    "memory",
    "types",
)


def main() -> int:
    chosen = sys.argv[1:] or list(ROWS)
    unknown = sorted(set(chosen) - set(ROWS))
    if unknown:
        print(f"unknown rows {unknown}; choose from {', '.join(ROWS)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ps-bench-") as tmp:
        bench = Bench(Path(tmp))
        steps: dict[str, Callable[[], None]] = {
            "read": bench.row_read,
            "create": bench.row_create,
            "throughput": bench.row_throughput,
            "tags": bench.row_tag_query,
            "install": bench.row_install,
            "dashboard": bench.row_dashboard,
            "lifecycle": bench.row_lifecycle,
            "memory": bench.row_memory,
            "types": bench.row_types,
        }
        try:
            bench.start()
            for name in ROWS:
                if name in chosen:
                    steps[name]()
        finally:
            bench.stop()
        print_table(bench.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
