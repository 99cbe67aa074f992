"""Rows of the API's per-request cost: a read and a create against their baselines, and
read throughput with many clients. They compare within their own run, so a subset of the
rows is as fair as the whole table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import hvac

from tools.bench.harness import Bench
from tools.bench.registry import bench_row
from tools.bench.report import Row, interleaved_medians
from tools.devstack.base import local_session

# The throughput row: this many clients at once, each reading in a loop, for this long.
THROUGHPUT_CLIENTS = 16
THROUGHPUT_SECONDS = 20.0
READ_RUNS = 300
CREATE_RUNS = 200


def read_medians(bench: Bench) -> dict[str, float]:
    """Median ms of the API read, the floor app's read (hvac and the product's transport)
    and a raw hvac read of the same secret, interleaved; kept on ``bench`` for the create
    row's HTTP hop."""
    secret_id, path = bench.read_secret()
    kv = bench.raw.secrets.kv.v2
    session = local_session()

    def ours(_: int) -> None:
        bench.http.get(bench.url(f"secrets/{secret_id}")).raise_for_status()

    def raw(_: int) -> None:
        kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)

    with (
        bench.floor_server() as floor_url,
        bench.floor_server("product_transport") as transport_url,
    ):

        def floor(_: int) -> None:
            session.get(floor_url, params=path).raise_for_status()

        def transport(_: int) -> None:
            session.get(transport_url, params=path).raise_for_status()

        series = {"ours": ours, "floor": floor, "raw": raw, "transport": transport}
        bench.read_ms = interleaved_medians(series, READ_RUNS)
    return bench.read_ms


@bench_row("read")
def read(bench: Bench) -> list[Row]:
    """The API read against the floor (the same Vault read behind a bare WSGI app on the
    same server), and the floor against a raw hvac read."""
    got = read_medians(bench)
    floor_note = "Floor: bare WSGI app on gunicorn doing only that Vault read, vs raw hvac"
    return [
        Row(floor_note, got["floor"], got["raw"], "reference (not a target)", True),
        Row(
            "API read of one secret (values) vs the floor",
            got["ours"],
            got["floor"],
            "ratio <= 1.6",
            got["ours"] / got["floor"] <= 1.6,
        ),
        Row(
            "API read vs the floor app reading through the product's Vault transport",
            got["ours"],
            got["transport"],
            "reported (the product's share without the client's)",
            True,
        ),
    ]


@bench_row("create")
def create(bench: Bench) -> list[Row]:
    """The API create against a raw KV v2 write (cas=0) plus the floor's HTTP hop."""
    kv = bench.raw.secrets.kv.v2
    values = {"k": "v"}

    def ours(i: int) -> None:
        body = {"name": f"bench-create-{i + 10}", "type": "generic", "values": values}
        body["tags"] = ["bench:create"]
        bench.http.post(bench.url("secrets"), json=body).raise_for_status()

    def raw(i: int) -> None:
        document = {"name": f"raw-{i}", "type": "generic", "values": values}
        document |= {"tags": ["bench:create"], "updatedBy": "bench"}
        kv.create_or_update_secret(
            path=f"orgs/{bench.org_id}/raw-{i + 10}", secret=document, cas=0, mount_point="secret"
        )

    got = interleaved_medians({"ours": ours, "raw": raw}, CREATE_RUNS)
    # The HTTP hop comes from the read rows of this run.
    read_ms = bench.read_ms if bench.read_ms is not None else read_medians(bench)
    hop = read_ms["floor"] - read_ms["raw"]
    baseline = got["raw"] + hop
    return [
        Row(
            "API create vs raw hvac KV v2 write (cas=0) + the floor's HTTP hop "
            f"({got['raw']:.2f} + {hop:.2f} ms)",
            got["ours"],
            baseline,
            "ratio <= 1.6",
            got["ours"] / baseline <= 1.6,
        )
    ]


@bench_row("throughput")
def throughput(bench: Bench) -> list[Row]:
    """Reads per second with THROUGHPUT_CLIENTS clients at once: the API against raw
    OpenBao reads, each client a thread with its own keep-alive connection."""
    secret_id, path = bench.read_secret()
    url = bench.url(f"secrets/{secret_id}")

    def api_client() -> Callable[[], object]:
        session = local_session()
        session.headers["Authorization"] = f"Bearer {bench.token}"
        return lambda: session.get(url).raise_for_status()

    def raw_client() -> Callable[[], object]:
        client = hvac.Client(url=bench.bao.addr, token=bench.raw.token, session=local_session())
        kv = client.secrets.kv.v2
        return lambda: kv.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )

    ours = per_second(api_client, THROUGHPUT_CLIENTS, THROUGHPUT_SECONDS)
    base = per_second(raw_client, THROUGHPUT_CLIENTS, THROUGHPUT_SECONDS)
    return [
        Row(
            f"Throughput, {THROUGHPUT_CLIENTS} concurrent clients for "
            f"{THROUGHPUT_SECONDS:.0f} s: API reads/s vs raw OpenBao reads/s",
            None,
            None,
            "reported (share of raw)",
            True,
            note=f"{ours:.0f}/s vs {base:.0f}/s ({ours / base:.2f} of raw)",
        )
    ]


def per_second(
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
