"""Agent-mode clusters in the dashboard: registering one (its token and the helm command
shown once), its page (agent status, token rotation and revocation, the scope editor, no
kubeconfig controls) and the Clusters page as the fleet view."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from clusters.agent import registration, tokens
from clusters.models import ChangeEvent, Cluster, DriftEvent, Installation
from tests.conftest import Personas
from tests.test_dashboard import signed_in
from tests.test_dashboard_list import query_count

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"psa_[A-Za-z0-9_-]{43}")
NEVER_CACHED = "no-store"


def base(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/clusters/"


def page(personas: Personas, cluster: Cluster, suffix: str = "") -> str:
    return f"{base(personas)}{cluster.pk}/{suffix}"


def agent_cluster(personas: Personas, name: str = "edge", **scope: Any) -> tuple[Cluster, str]:
    return registration.agent_cluster_create(
        actor=personas.admin, organization=personas.org, name=name, scope=scope or None
    )


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def assert_no_inline_code(body: str) -> None:
    for tag in body.split("<script")[1:]:
        assert "src=" in tag.split(">", 1)[0], tag[:80]
    assert " style=" not in body and " onclick=" not in body and "<style" not in body


def test_registering_shows_the_token_and_the_helm_command_once(personas: Personas) -> None:
    admin = signed_in(personas, "admin")
    form = admin.get(base(personas) + "new/").content.decode()
    assert 'name="mode"' in form and 'value="agent"' in form and 'name="namespaces"' in form
    response = admin.post(
        base(personas) + "new/",
        {"name": "edge", "mode": "agent", "namespaces": "team-a\nteam-*, build", "tags": "env:dev"},
    )
    assert response.status_code == 200
    assert NEVER_CACHED in response["Cache-Control"]
    body = text(response)
    raw = TOKEN.search(body)
    assert raw is not None
    token = raw.group(0)
    cluster = Cluster.objects.get(name="edge")
    assert cluster.mode == Cluster.Mode.AGENT and cluster.kubeconfig_secret_id == ""
    assert cluster.scope == {
        "namespaces": ["team-a", "team-*", "build"],
        "tags": ["env:dev"],
        "secrets": [],
    }
    assert tokens.cluster_for_token(token) == cluster
    assert "data-copy" in body and "Copy the agent token now" in body
    assert "helm install pipeline-secrets-agent deploy/helm/pipeline-secrets-agent" in body
    assert f"--set agent.token={token}" in body
    assert "--set server.url=http://testserver" in body
    assert "--set 'namespaces={team-a,build}'" in body and "<code>team-*</code>" in body
    assert_no_inline_code(body)
    # Shown once: the cluster's page has its start only.
    detail = text(admin.get(page(personas, cluster)))
    assert token not in detail and token[:8] in detail
    assert all(token not in str(e.detail) for e in AuditEvent.objects.all())


def test_the_htmx_registration_swaps_in_the_token_page(personas: Personas) -> None:
    response = signed_in(personas, "admin").post(
        base(personas) + "new/", {"name": "edge", "mode": "agent"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert TOKEN.search(text(response)) and NEVER_CACHED in response["Cache-Control"]
    cluster = Cluster.objects.get(name="edge")
    assert response["HX-Push-Url"] == page(personas, cluster)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kubeconfig": "apiVersion: v1"}, "kubeconfig", "An agent cluster has no kubeconfig"),
        ({"namespaces": "team-a\nTeam B"}, "namespaces", "Must be a namespace name or a pattern"),
        ({"name": "Not A Label"}, "name", "DNS-1123"),
    ],
)
def test_bad_registrations_show_field_errors(
    personas: Personas, data: dict[str, str], field: str, message: str
) -> None:
    response = signed_in(personas, "admin").post(
        base(personas) + "new/", {"name": "edge", "mode": "agent", **data}
    )
    assert response.status_code == 400
    errors = text(response).split(f'id="id_{field}_error">', 1)[1].split("</div>", 1)[0]
    assert message in errors
    assert not Cluster.objects.exists()


def test_a_duplicate_name_is_an_error_on_the_name(personas: Personas) -> None:
    agent_cluster(personas)
    response = signed_in(personas, "admin").post(
        base(personas) + "new/", {"name": "edge", "mode": "agent"}
    )
    assert response.status_code == 400 and "already exists" in text(response)
    assert Cluster.objects.count() == 1


def test_an_agent_clusters_page(personas: Personas) -> None:
    cluster, raw = agent_cluster(personas, namespaces=["team-*"], tags=["env:dev"])
    Cluster.objects.filter(pk=cluster.pk).update(agent_version="0.1.0")
    DriftEvent.objects.create(
        cluster=cluster, namespace="team-a", kube_name="db", change="deleted", repaired=True
    )
    admin = text(signed_in(personas, "admin").get(page(personas, cluster)))
    for shown in ("agent", "0.1.0", raw[:8], "Rotate the token", "Revoke the token"):
        assert shown in admin, shown
    assert "Save what it may receive" in admin and "team-*" in admin and "env:dev" in admin
    assert "team-a/db" in admin and "restored" in admin and "agent never connected" in admin
    for control in ("Check now", "/namespaces/", "Kubeconfig</dt>"):
        assert control not in admin, control
    ids = re.findall(r' id="([^"]+)"', admin)  # the scope editor beside the install form
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert_no_inline_code(admin)
    viewer = text(signed_in(personas, "viewer").get(page(personas, cluster)))
    assert raw[:8] in viewer and "team-*" in viewer
    for control in ("Rotate the token", "Revoke the token", "Save what it may receive"):
        assert control not in viewer, control


def test_rotating_shows_the_new_token_once_and_the_old_stops(personas: Personas) -> None:
    cluster, old = agent_cluster(personas)
    response = signed_in(personas, "admin").post(page(personas, cluster, "agent-token/rotate/"))
    assert response.status_code == 200 and NEVER_CACHED in response["Cache-Control"]
    found = TOKEN.search(text(response))
    assert found is not None and found.group(0) != old
    assert "The previous token no longer works" in text(response)
    assert tokens.cluster_for_token(old) is None
    assert tokens.cluster_for_token(found.group(0)) == cluster


def test_revoking_redirects_to_the_page_saying_so(personas: Personas) -> None:
    cluster, raw = agent_cluster(personas)
    admin = signed_in(personas, "admin")
    response = admin.post(page(personas, cluster, "agent-token/revoke/"))
    assert response.status_code == 302 and response["Location"] == page(personas, cluster)
    assert tokens.cluster_for_token(raw) is None
    shown = text(admin.get(page(personas, cluster)))
    assert "Revoked the agent token of edge" in shown and "revoked" in shown
    assert "Issue a new token" in shown and "Revoke the token" not in shown


def test_saving_the_scope_tells_the_agent_and_errors_land_on_fields(personas: Personas) -> None:
    cluster, _ = agent_cluster(personas)
    admin = signed_in(personas, "admin")
    url = page(personas, cluster, "scope/")
    bad = admin.post(url, {"scope-namespaces": "team-a\nBAD NAME", "scope-tags": ""})
    assert bad.status_code == 400
    body = text(bad)
    errors = body.split('id="id_scope-namespaces_error">', 1)[1].split("</div>", 1)[0]
    assert "Must be a namespace name or a pattern" in errors and "BAD NAME" in body
    assert not ChangeEvent.objects.exists()
    good = admin.post(
        url, {"scope-namespaces": "team-a, team-b", "scope-tags": "env:dev", "scope-secrets": "db"}
    )
    assert good.status_code == 302
    cluster.refresh_from_db()
    assert cluster.scope == {
        "namespaces": ["team-a", "team-b"],
        "tags": ["env:dev"],
        "secrets": ["db"],
    }
    assert [e.payload for e in ChangeEvent.objects.all()] == [{"kind": "reconcile"}]


def test_members_and_viewers_are_refused_the_agent_controls(personas: Personas) -> None:
    cluster, raw = agent_cluster(personas)
    for persona in ("member", "viewer"):
        client = signed_in(personas, persona)
        for suffix in ("agent-token/rotate/", "agent-token/revoke/", "scope/"):
            response = client.post(page(personas, cluster, suffix), {"namespaces": "x"})
            assert response.status_code == 403, (persona, suffix)
            assert "admin role" in response.content.decode()
    assert tokens.cluster_for_token(raw) == cluster and not ChangeEvent.objects.exists()
    outsider = signed_in(personas, "outsider")
    assert outsider.post(page(personas, cluster, "agent-token/rotate/")).status_code == 404
    assert Client().post(page(personas, cluster, "scope/")).status_code == 302


def test_checking_an_agent_cluster_asks_its_heartbeat(personas: Personas) -> None:
    cluster, _ = agent_cluster(personas)
    response = signed_in(personas, "member").post(page(personas, cluster, "check/"))
    assert response.status_code == 302 and response["Location"] == page(personas, cluster)
    cluster.refresh_from_db()
    assert cluster.reachable is False and cluster.checked_at is not None


def test_the_clusters_page_is_the_fleet_view(personas: Personas) -> None:
    cluster, _ = agent_cluster(personas)
    Cluster.objects.create(organization=personas.org, name="push", kubeconfig_secret_id="0" * 64)
    Installation.objects.bulk_create(
        Installation(
            cluster=cluster,
            namespace=f"ns-{i}",
            secret_id="f" * 64,
            secret_name="gone",
            kube_name="gone",
            version=1,
            sourcing="env",
            status=status,
        )
        for i, status in enumerate(["installed", "pending", "failed", "failed"])
    )
    DriftEvent.objects.create(cluster=cluster, namespace="a", kube_name="b", change="edited")
    body = text(signed_in(personas, "viewer").get(base(personas)))
    assert body.count('class="cluster-row"') == 2
    row = body[body.index(f'id="cluster-{cluster.pk}"') :].split("</tr>", 1)[0]
    assert "agent" in row and "agent never connected" in row and "never" in row
    assert "0 / 4" in row
    assert re.search(r'installations-pending">\s*<span class="badge muted-badge">1<', row)
    assert re.search(r'installations-failed">\s*<span class="badge danger">2<', row)
    assert re.search(r'class="count drift">\s*<span class="badge warn">1<', row)
    assert_no_inline_code(body)


def test_the_fleet_page_takes_a_constant_number_of_queries(
    personas: Personas, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(personas, "viewer")
    agent_cluster(personas, "a0")
    few = query_count(client, base(personas))
    for i in range(1, 12):
        agent_cluster(personas, f"a{i}")
    with django_assert_max_num_queries(few):
        response = client.get(base(personas))
    assert response.content.decode().count('class="cluster-row"') == 12


def test_deleting_an_agent_cluster_ends_its_token(personas: Personas) -> None:
    cluster, raw = agent_cluster(personas)
    admin = signed_in(personas, "admin")
    confirm = text(admin.get(page(personas, cluster, "delete/")))
    assert "its agent's token stops working" in confirm and "kubeconfig" not in confirm
    response = admin.post(page(personas, cluster, "delete/"))
    assert response.status_code == 302 and not Cluster.objects.exists()
    assert tokens.cluster_for_token(raw) is None
    listing = text(admin.get(base(personas)))
    assert "Deleted cluster edge." in listing and "kubeconfig secret" not in listing
