"""The fleet: every cluster with its installations counted against the current versions of
their secrets, its SecretSyncs and the drift its agent reported, in a fixed number of
queries (the API's ``GET /orgs/{orgId}/fleet``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from clusters import fleet
from clusters.agent import registration
from clusters.models import Cluster, DriftEvent, Installation, SecretSync
from secrets_app import services as secret_services
from secrets_app.models import SecretIndex
from secrets_app.types import Context
from tests.conftest import Personas, VaultServer
from tests.helpers import assert_problem, check_access

pytestmark = pytest.mark.django_db

STATUS = Installation.Status


def fleet_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/fleet"


@dataclass
class Fleet:
    agent: Cluster
    push: Cluster
    fresh: SecretIndex  # at version 1
    updated: SecretIndex  # at version 3


def write_secret(personas: Personas, name: str, updates: int = 0) -> SecretIndex:
    written = secret_services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type="password",
        values={"username": "u", "password": "p"},
        ctx=Context(verify_remote=False),
    )
    for n in range(updates):
        written = secret_services.secret_update(
            actor=personas.admin,
            organization=personas.org,
            secret_id=written.row.secret_id,
            values={"username": "u", "password": f"p{n}"},
            ctx=Context(verify_remote=False),
        )
    return written.row


def install_rows(cluster: Cluster, spec: list[tuple[SecretIndex, int, str]]) -> None:
    """One installation per (secret, version, status), each in its own namespace."""
    Installation.objects.bulk_create(
        Installation(
            cluster=cluster,
            namespace=f"ns-{cluster.pk}-{i}",
            secret_id=row.secret_id,
            secret_name=row.name,
            kube_name=row.name,
            version=version,
            sourcing="env",
            status=status,
        )
        for i, (row, version, status) in enumerate(spec)
    )


@pytest.fixture
def world(vault: VaultServer, personas: Personas) -> Fleet:
    fresh = write_secret(personas, "fresh")
    updated = write_secret(personas, "updated", updates=2)
    assert (fresh.version, updated.version) == (1, 3)
    agent, _ = registration.agent_cluster_create(
        actor=personas.admin, organization=personas.org, name="edge"
    )
    push = Cluster.objects.create(
        organization=personas.org, name="push", kubeconfig_secret_id="0" * 64, reachable=True
    )
    return Fleet(agent, push, fresh, updated)


def test_counts_applied_against_current_versions(
    world: Fleet, personas: Personas, clients: dict[str, APIClient]
) -> None:
    now = timezone.now()
    install_rows(
        world.agent,
        [
            (world.fresh, 1, STATUS.INSTALLED),  # current
            (world.updated, 3, STATUS.INSTALLED),  # current
            (world.updated, 2, STATUS.INSTALLED),  # behind
            (world.updated, 3, STATUS.PENDING),  # pending, not yet applied
            (world.updated, 1, STATUS.FAILED),  # failed and behind
        ],
    )
    install_rows(world.push, [(world.fresh, 1, STATUS.INSTALLED)])
    SecretSync.objects.bulk_create(
        SecretSync(cluster=world.agent, namespace="team-a", name=f"s{i}", target="t", ready=i < 2)
        for i in range(3)
    )
    DriftEvent.objects.bulk_create(
        [
            *(
                DriftEvent(
                    cluster=world.agent,
                    namespace="team-a",
                    kube_name=f"d{i}",
                    change=DriftEvent.Change.EDITED,
                    repaired=True,
                    detected_at=now - timedelta(minutes=i),
                )
                for i in range(12)
            ),
            DriftEvent(
                cluster=world.agent,
                namespace="team-b",
                kube_name="old",
                change=DriftEvent.Change.DELETED,
                detected_at=now - timedelta(days=2),
            ),
        ]
    )
    Cluster.objects.filter(pk=world.agent.pk).update(agent_seen_at=now, agent_version="0.1.0")

    response = clients["viewer"].get(fleet_url(personas.org.pk))
    assert response.status_code == 200
    by_name = {entry["name"]: entry for entry in response.json()}
    edge, push = by_name["edge"], by_name["push"]
    assert edge["mode"] == "agent" and edge["reachable"] is True
    assert edge["agentVersion"] == "0.1.0" and edge["lastSeen"] is not None
    assert edge["installations"] == {
        "total": 5,
        "current": 2,
        "behind": 2,
        "pending": 1,
        "failed": 1,
    }
    assert edge["syncs"] == {"total": 3, "ready": 2, "notReady": 1}
    assert edge["drift"]["last24h"] == 12
    recent = edge["drift"]["recent"]
    assert [d["name"] for d in recent] == [f"d{i}" for i in range(10)]
    assert recent[0] == {
        "namespace": "team-a",
        "name": "d0",
        "change": "edited",
        "repaired": True,
        "detectedAt": recent[0]["detectedAt"],
    }
    assert push["mode"] == "kubeconfig" and push["reachable"] is True
    assert push["installations"]["total"] == 1 and push["installations"]["current"] == 1
    assert push["syncs"]["total"] == 0 and push["drift"] == {"last24h": 0, "recent": []}


def test_an_agent_silent_for_long_is_not_reachable(world: Fleet, personas: Personas) -> None:
    entry = fleet.fleet_entry(cluster=world.agent)
    assert entry.reachable is False and entry.last_seen is None
    long_ago = timezone.now() - fleet.agent_silent_after() - timedelta(seconds=5)
    Cluster.objects.filter(pk=world.agent.pk).update(agent_seen_at=long_ago)
    assert fleet.fleet_entry(cluster=world.agent).reachable is False
    Cluster.objects.filter(pk=world.agent.pk).update(agent_seen_at=timezone.now())
    assert fleet.fleet_entry(cluster=world.agent).reachable is True


def test_a_deleted_secrets_copies_are_neither_current_nor_behind(
    world: Fleet, personas: Personas
) -> None:
    install_rows(world.agent, [(world.fresh, 1, STATUS.INSTALLED)])
    SecretIndex.objects.filter(pk=world.fresh.pk).delete()
    counts = fleet.fleet_entry(cluster=world.agent).installations
    assert (counts.total, counts.current, counts.behind) == (1, 0, 0)


def many(world: Fleet, count: int) -> None:
    rows = [world.fresh, world.updated]
    statuses = [STATUS.INSTALLED, STATUS.PENDING, STATUS.FAILED]
    for cluster in (world.agent, world.push):
        install_rows(
            cluster,
            [(rows[i % 2], 1 + i % 3, statuses[i % 3]) for i in range(count)],
        )


def api_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_fleet_takes_a_fixed_number_of_queries(
    world: Fleet,
    personas: Personas,
    clients: dict[str, APIClient],
    django_assert_max_num_queries: Any,
) -> None:
    url = fleet_url(personas.org.pk)
    few = api_queries(clients["viewer"], url)
    many(world, 50)
    for i in range(8):
        Cluster.objects.create(
            organization=personas.org, name=f"more-{i}", kubeconfig_secret_id="0" * 64
        )
    with django_assert_max_num_queries(6):
        entries = fleet.fleet(organization=personas.org)
    assert len(entries) == 10
    agent = next(e for e in entries if e.cluster.pk == world.agent.pk)
    assert agent.installations.total == 50
    # Current: installed at the secret's version; only "fresh" (v1) copies at v1 are.
    assert agent.installations.current == len([i for i in range(50) if i % 6 == 0])
    assert agent.installations.pending == len([i for i in range(50) if i % 3 == 1])
    with django_assert_max_num_queries(few):
        response = clients["viewer"].get(url)
    assert len(response.json()) == 10


def test_who_sees_the_fleet(
    world: Fleet, personas: Personas, clients: dict[str, APIClient]
) -> None:
    check_access(
        clients,
        "get",
        fleet_url(personas.org.pk),
        allowed=("admin", "member", "viewer"),
        ok=200,
    )
    theirs = clients["outsider"].get(fleet_url(personas.org.pk))
    assert_problem(theirs, 404)
    own = clients["outsider"].get(fleet_url(personas.other_org.pk)).json()
    assert own == []
